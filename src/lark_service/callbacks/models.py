"""Typed callbacks: ``card.action.trigger``, the legacy card callback, ``im.message.receive_v1``
and a generic event for everything else.

Every model keeps unknown fields (Feishu adds them) and the decrypted payload in ``raw``. All
share ``event_id``, ``event_type``, ``app_id`` and ``dedup_keys``, which the server uses to drop
duplicates and the router to choose handlers. :func:`parse_callback` picks the model.

The app's verification token is checked by the verifier and then removed from the payload
(:func:`without_verification_token`): it is never stored, published or handed to a handler.
A card's ``token`` (``c-…``, for the delayed update) is kept, and kept out of ``repr``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = [
    "CARD_ACTION_TRIGGER",
    "LEGACY_CARD_ACTION",
    "MESSAGE_RECEIVE",
    "CallbackEvent",
    "CardAction",
    "CardActionEvent",
    "CardContext",
    "EventHeader",
    "GenericEvent",
    "LegacyCardActionEvent",
    "Message",
    "MessageReceiveEvent",
    "Operator",
    "Sender",
    "UserIds",
    "content_digest",
    "parse_callback",
    "without_verification_token",
]

CARD_ACTION_TRIGGER = "card.action.trigger"
LEGACY_CARD_ACTION = "card.action.legacy"
MESSAGE_RECEIVE = "im.message.receive_v1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class EventHeader(_Model):
    """The ``header`` of a v2 ("schema 2.0") callback."""

    event_id: str = ""
    token: str | None = Field(None, repr=False)
    """The verification token: None once verified (the server drops it)."""
    create_time: str | None = None
    event_type: str = ""
    tenant_key: str | None = None
    app_id: str | None = None


class UserIds(_Model):
    """A person's ids as the app sees them."""

    open_id: str | None = None
    user_id: str | None = None
    union_id: str | None = None


class Operator(UserIds):
    """Who clicked."""

    tenant_key: str | None = None


class CardAction(_Model):
    """What was clicked: ``value`` is the component's value dict."""

    value: dict[str, Any] = Field(default_factory=dict)
    tag: str | None = None
    option: str | None = None
    timezone: str | None = None
    name: str | None = None
    form_value: dict[str, Any] | None = None
    input_value: str | None = None
    options: list[Any] | None = None
    checked: bool | None = None


class CardContext(_Model):
    """Where the card is: the message and chat holding it."""

    url: str | None = None
    preview_token: str | None = None
    open_message_id: str | None = None
    open_chat_id: str | None = None


class CallbackEvent(_Model):
    """What every callback model has."""

    kind: Literal["event", "card"] = "event"
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)
    _received_for: str | None = PrivateAttr(default=None)

    @property
    def event_id(self) -> str:
        """Feishu's id of this callback (stable across re-pushes)."""
        return ""

    @property
    def event_type(self) -> str:
        """``card.action.trigger``, ``im.message.receive_v1``, …"""
        return ""

    @property
    def app_id(self) -> str | None:
        """The app the callback is for: named by the payload, else the app whose URL it came
        to (see :func:`parse_callback`)."""
        return self._received_for

    @property
    def dedup_keys(self) -> list[str]:
        """Keys under which a re-push of this callback is recognised, per app:
        ``<app_id>:evt:<event_id>`` (and ``<app_id>:msg:<message_id>`` for messages).

        A callback without an id (Feishu gives none) is keyed on its signed content instead:
        ``<app_id>:body:<sha256 of the decrypted payload>``, so a replay of the same body
        within the dedup window is still dropped."""
        if self.event_id:
            return [f"{self.app_id or ''}:evt:{self.event_id}"]
        return [f"{self.app_id or ''}:body:{content_digest(self.raw)}"]


class _V2(CallbackEvent):
    schema_: str = Field("2.0", alias="schema")
    header: EventHeader = Field(default_factory=EventHeader)

    @property
    def event_id(self) -> str:
        return self.header.event_id

    @property
    def event_type(self) -> str:
        return self.header.event_type

    @property
    def app_id(self) -> str | None:
        return self.header.app_id or self._received_for


class CardActionEvent(_V2):
    """``card.action.trigger``: a user clicked a button (or chose, typed, submitted) in a card.

    ``token`` (``c-…``) lets a handler update the card later with
    ``interactive/v1/card/update`` (valid 30 min, twice).
    """

    kind: Literal["event", "card"] = "card"
    operator: Operator = Field(default_factory=Operator)
    token: str = Field("", repr=False)
    """The ``c-…`` delayed-update token: a bearer credential (30 min), never logged."""
    action: CardAction = Field(default_factory=CardAction)
    host: str | None = None
    delivery_type: str | None = None
    context: CardContext = Field(default_factory=CardContext)

    @classmethod
    def from_payload(
        cls, payload: dict[str, Any], kind: Literal["event", "card"]
    ) -> CardActionEvent:
        """Build from a decrypted v2 payload."""
        event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
        data = {**(event or {}), "schema": payload.get("schema", "2.0")}
        data["header"] = payload.get("header") or {}
        return cls.model_validate({**data, "kind": kind, "raw": payload})


class LegacyCardActionEvent(CallbackEvent):
    """The legacy message-card callback (the old "request URL"): a flat body.

    It offers the same ``operator``, ``context``, ``action`` and ``token`` as
    :class:`CardActionEvent`, so a ``card_action`` handler can serve both.
    """

    kind: Literal["event", "card"] = "card"
    open_id: str | None = None
    user_id: str | None = None
    union_id: str | None = None
    tenant_key: str | None = None
    open_message_id: str | None = None
    open_chat_id: str | None = None
    token: str = Field("", repr=False)
    """The ``c-…`` delayed-update token: a bearer credential (30 min), never logged."""
    action: CardAction = Field(default_factory=CardAction)

    @property
    def operator(self) -> Operator:
        """Who clicked (built from the flat fields)."""
        return Operator(
            open_id=self.open_id,
            user_id=self.user_id,
            union_id=self.union_id,
            tenant_key=self.tenant_key,
        )

    @property
    def context(self) -> CardContext:
        """Where the card is (built from the flat fields)."""
        return CardContext(open_message_id=self.open_message_id, open_chat_id=self.open_chat_id)

    @property
    def event_id(self) -> str:
        # The legacy callback has no id: a digest of what identifies the click stands in.
        basis = json.dumps(
            [self.open_message_id, self.open_id, self.token, self.action.model_dump()],
            sort_keys=True,
            default=str,
        )
        return "legacy-" + hashlib.sha256(basis.encode()).hexdigest()[:32]

    @property
    def event_type(self) -> str:
        return LEGACY_CARD_ACTION


class Sender(_Model):
    """Who sent a message."""

    sender_id: UserIds = Field(default_factory=UserIds)
    sender_type: str | None = None
    tenant_key: str | None = None


class Message(_Model):
    """A received message. ``content`` is Feishu's JSON string; see :attr:`text`."""

    message_id: str = ""
    root_id: str | None = None
    parent_id: str | None = None
    thread_id: str | None = None
    create_time: str | None = None
    update_time: str | None = None
    chat_id: str | None = None
    chat_type: str | None = None
    message_type: str | None = None
    content: str = ""
    mentions: list[dict[str, Any]] | None = None

    @property
    def text(self) -> str | None:
        """The text of a ``text`` message (None for other types or bad content)."""
        try:
            value = json.loads(self.content)
        except (TypeError, ValueError):
            return None
        text = value.get("text") if isinstance(value, dict) else None
        return text if isinstance(text, str) else None


class MessageReceiveEvent(_V2):
    """``im.message.receive_v1``: someone sent the bot a message (or @-mentioned it)."""

    sender: Sender = Field(default_factory=Sender)
    message: Message = Field(default_factory=Message)

    @property
    def dedup_keys(self) -> list[str]:
        keys = super().dedup_keys
        if self.message.message_id:
            keys.append(f"{self.app_id or ''}:msg:{self.message.message_id}")
        return keys

    @classmethod
    def from_payload(
        cls, payload: dict[str, Any], kind: Literal["event", "card"]
    ) -> MessageReceiveEvent:
        """Build from a decrypted v2 payload."""
        event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
        data = {**(event or {}), "schema": payload.get("schema", "2.0")}
        data["header"] = payload.get("header") or {}
        return cls.model_validate({**data, "kind": kind, "raw": payload})


class GenericEvent(CallbackEvent):
    """Any other callback: v2 (``header`` + ``event``) or v1 (``uuid`` + ``event.type``)."""

    schema_: str | None = Field(None, alias="schema")
    header: EventHeader | None = None
    event: dict[str, Any] = Field(default_factory=dict)
    uuid: str | None = None
    token: str | None = Field(None, repr=False)
    ts: str | None = None
    type: str | None = None

    @property
    def event_id(self) -> str:
        if self.header is not None and self.header.event_id:
            return self.header.event_id
        return self.uuid or ""

    @property
    def event_type(self) -> str:
        if self.header is not None and self.header.event_type:
            return self.header.event_type
        value = self.event.get("type")
        return value if isinstance(value, str) else (self.type or "")

    @property
    def app_id(self) -> str | None:
        if self.header is not None and self.header.app_id:
            return self.header.app_id
        value = self.event.get("app_id")
        return value if isinstance(value, str) else self._received_for


def content_digest(payload: dict[str, Any]) -> str:
    """SHA-256 (hex) of ``payload`` as canonical JSON: the same decrypted body, the same
    digest, whatever its key order or whitespace on the wire (lone surrogates included)."""
    text = json.dumps(
        payload, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def parse_callback(
    payload: dict[str, Any], kind: Literal["event", "card"], app_id: str | None = None
) -> CallbackEvent:
    """The typed model for a decrypted callback ``payload`` that arrived at ``kind``'s URL.

    ``app_id``: the app whose URL it arrived at; the model's ``app_id`` (and so its
    ``dedup_keys``) when the payload names none (the legacy card callback, v1 events).
    Raises ``pydantic.ValidationError`` when a known callback has the wrong field types.
    """
    event = _parse(payload, kind)
    event._received_for = app_id
    return event


def _parse(payload: dict[str, Any], kind: Literal["event", "card"]) -> CallbackEvent:
    header = payload.get("header")
    if payload.get("schema") and isinstance(header, dict):
        event_type = header.get("event_type")
        if event_type == CARD_ACTION_TRIGGER:
            return CardActionEvent.from_payload(payload, kind)
        if event_type == MESSAGE_RECEIVE:
            return MessageReceiveEvent.from_payload(payload, kind)
    elif kind == "card" and "action" in payload and "uuid" not in payload:
        data = {k: v for k, v in payload.items() if k not in ("kind", "raw")}
        return LegacyCardActionEvent.model_validate({**data, "kind": "card", "raw": payload})
    data = {k: v for k, v in payload.items() if k not in ("kind", "raw")}
    return GenericEvent.model_validate({**data, "kind": kind, "raw": payload})


def _is_legacy_card(payload: dict[str, Any], kind: str) -> bool:
    return kind == "card" and not payload.get("schema") and "uuid" not in payload


def without_verification_token(payload: dict[str, Any], kind: str) -> dict[str, Any]:
    """``payload`` without the app's verification token (a copy when there was one).

    The token is ``header.token`` in a v2 payload and ``token`` in a v1 one; the legacy card
    callback's flat ``token`` is the ``c-…`` delayed-update token and is kept.
    """
    header = payload.get("header")
    if payload.get("schema") and isinstance(header, dict):
        if "token" not in header:
            return payload
        return {**payload, "header": {k: v for k, v in header.items() if k != "token"}}
    if "token" not in payload or _is_legacy_card(payload, kind):
        return payload
    return {k: v for k, v in payload.items() if k != "token"}

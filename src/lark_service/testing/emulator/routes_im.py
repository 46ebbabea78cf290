"""IM v1: messages (send, reply, edit, card update, recall, get), images, files, resources.

Endpoints (``openapi-reference.md`` §2):

| method | path | what |
| --- | --- | --- |
| POST | ``/open-apis/im/v1/messages?receive_id_type=`` | send (``uuid`` dedup for 1 h) |
| POST | ``/open-apis/im/v1/messages/:message_id/reply`` | reply (``reply_in_thread``) |
| PUT | ``/open-apis/im/v1/messages/:message_id`` | edit text/post (20 edits at most) |
| PATCH | ``/open-apis/im/v1/messages/:message_id`` | update a shared card |
| DELETE | ``/open-apis/im/v1/messages/:message_id`` | recall |
| GET | ``/open-apis/im/v1/messages/:message_id`` | read (``items: [Message]``) |
| POST | ``/open-apis/im/v1/images`` | upload an image (multipart) |
| GET | ``/open-apis/im/v1/images/:image_key`` | download an image this app uploaded |
| POST | ``/open-apis/im/v1/files`` | upload a file (multipart) |
| GET | ``/open-apis/im/v1/files/:file_key`` | download a file this app uploaded |
| GET | ``/open-apis/im/v1/messages/:message_id/resources/:file_key?type=`` | a message's resource |

Error codes: 230001 bad parameter (including an unknown receiver ``chat_id``/``email``, an
unknown message id, an image_key/file_key the app never uploaded), 230002 bot not in the
chat, 230011 message recalled, 230020 per-receiver rate limit (without the gateway's
``x-ogw-ratelimit-*`` headers: it is not the gateway's limit), 230025 content over the size
limit, 230027 not the sender of a card being updated, 230031 card older than 14 days; the
edit page's 230071 not the sender, 230072 the 20th edit was the last, 230075 the edit window
(:attr:`ImState.edit_window`) has passed; the recall page's 230026 not the sender, 230009 the
recall window (:attr:`ImState.recall_window`, Feishu's default one day) has passed, 230110
the message was already recalled (deleted); 230054
operation unsupported for the message type, 230055 an upload of the wrong type for
``audio``/``media``, 230099 a malformed card, 232009 a dissolved chat, 99991400 per-app rate
limit, 99992351/2/3 unknown open_id/user_id/union_id, 99992361 another app's open_id; for
uploads 234001 bad parameter, 234002 another app's resource, 234006 too large, 234010 empty,
234043 resources of a card message.

Rate limits are off until set (``im_state(emu).set_rate_limits(per_app=50, per_receiver=5,
per_app_per_minute=1000)`` or ``POST /_emulator/im/rate_limits``), so tests trigger them
deterministically.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import anyio
from python_multipart.multipart import parse_options_header
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .api import Caller, FeishuError, authenticate, error_body, log_id, ok, read_json
from .state import EmulatorState, Message

__all__ = [
    "CARD_BODY_LIMIT",
    "DEFAULT_MESSAGE_WINDOW",
    "FILE_LIMIT",
    "FILE_TYPES",
    "IMAGE_LIMIT",
    "MAX_EDITS",
    "MSG_TYPES",
    "RECEIVE_ID_TYPES",
    "ROUTE_TABLE",
    "TEXT_BODY_LIMIT",
    "ImState",
    "RateLimits",
    "Upload",
    "im_state",
    "invalid_param",
    "message_data",
    "routes",
    "validate_content",
]

MESSAGES_PATH = "/open-apis/im/v1/messages"
IMAGES_PATH = "/open-apis/im/v1/images"
FILES_PATH = "/open-apis/im/v1/files"
RECEIVE_ID_TYPES = ("open_id", "union_id", "user_id", "email", "chat_id")
MSG_TYPES = (
    "text",
    "post",
    "image",
    "file",
    "audio",
    "media",
    "sticker",
    "interactive",
    "share_chat",
    "share_user",
)
TEXT_BODY_LIMIT = 150 * 1024
"""Bytes of JSON-encoded ``content`` allowed for a text message."""
CARD_BODY_LIMIT = 30 * 1024
"""Bytes of JSON-encoded ``content`` allowed for post and interactive messages."""
IMAGE_LIMIT = 10 * 1024 * 1024
FILE_LIMIT = 30 * 1024 * 1024
FILE_TYPES = ("opus", "mp4", "pdf", "doc", "xls", "ppt", "stream")
IMAGE_TYPES = ("message", "avatar")
MAX_EDITS = 20
DEFAULT_MESSAGE_WINDOW = 86_400.0
"""Seconds after sending that a message may be recalled or edited (the tenant admin's
setting; Feishu's default is one day)."""
_MINUTE = 60.0
CARD_UPDATE_DAYS = 14
UUID_MAX_LENGTH = 50

Handler = Callable[[Request], Awaitable[Response]]

_REQUIRED_KEY = {
    "text": "text",
    "image": "image_key",
    "file": "file_key",
    "audio": "file_key",
    "media": "file_key",
    "sticker": "file_key",
    "share_chat": "chat_id",
    "share_user": "user_id",
}
_UNKNOWN_USER = {
    "open_id": (99992351, "open_id not exist"),
    "user_id": (99992352, "user_id not exist"),
    "union_id": (99992353, "union_id not exist"),
}
_AT = re.compile(r'<at\s+(?:user_id|id|open_id)\s*=\s*"?([^">\s]*)"?\s*>([^<]*)</at>')
_IMAGE_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"BM", 0, "image/bmp"),
    (b"\x00\x00\x01\x00", 0, "image/x-icon"),
)


# -- state ----------------------------------------------------------------------------------


@dataclass
class RateLimits:
    """Sends (and replies) allowed per ``window`` seconds (and per app per minute);
    ``None`` = unlimited."""

    per_app: int | None = None
    """Per app: over it answers 99991400 (HTTP 429)."""
    per_receiver: int | None = None
    """Per receiving chat (a user's p2p chat or a group): over it answers 230020."""
    window: float = 1.0
    per_app_per_minute: int | None = None
    """Per app per 60 seconds (Feishu: 1000): over it answers 99991400 (HTTP 429)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_app": self.per_app,
            "per_receiver": self.per_receiver,
            "window": self.window,
            "per_app_per_minute": self.per_app_per_minute,
        }


@dataclass
class Upload:
    """An uploaded image or file."""

    key: str
    app_id: str
    kind: str
    """``image`` or ``file``."""
    data: bytes = field(repr=False)
    file_type: str
    """Images: ``message``/``avatar``; files: ``opus``, ``mp4``, ``pdf``, …"""
    file_name: str
    content_type: str
    created: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "app_id": self.app_id,
            "kind": self.kind,
            "file_type": self.file_type,
            "file_name": self.file_name,
            "content_type": self.content_type,
            "size": len(self.data),
            "created": self.created,
        }


class ImState:
    """IM state beside the messages: uploads, rate limits and their counters, late answers.

    Get it with :func:`im_state`; it lives in ``EmulatorState.domain("im")`` and is dropped by
    ``reset()``.
    """

    def __init__(self) -> None:
        self.uploads: dict[str, Upload] = {}
        self.limits = RateLimits()
        self._sends: deque[tuple[float, str, str]] = deque()
        self._late: list[float] = []
        self.edit_window: float | None = DEFAULT_MESSAGE_WINDOW
        """Seconds after sending that a message may be edited (``None``: no limit)."""
        self.recall_window: float | None = DEFAULT_MESSAGE_WINDOW
        """Seconds after sending that a message may be recalled (``None``: no limit)."""

    def set_message_windows(
        self,
        *,
        edit: float | None = DEFAULT_MESSAGE_WINDOW,
        recall: float | None = DEFAULT_MESSAGE_WINDOW,
    ) -> None:
        """The tenant admin's limits on editing (230075 after) and recalling (230009 after)
        a message, in seconds of the emulator clock; ``None`` lifts one."""
        for name, value in (("edit", edit), ("recall", recall)):
            if value is not None and (isinstance(value, bool) or not value > 0):
                raise ValueError(f"{name} must be a positive number of seconds or None")
        self.edit_window = None if edit is None else float(edit)
        self.recall_window = None if recall is None else float(recall)

    def set_rate_limits(
        self,
        per_app: int | None = None,
        per_receiver: int | None = None,
        window: float = 1.0,
        *,
        per_app_per_minute: int | None = None,
    ) -> RateLimits:
        """Enforce Feishu's send limits: ``per_app`` (99991400) and ``per_receiver`` (230020)
        sends per ``window`` seconds, and ``per_app_per_minute`` (99991400) sends per 60
        seconds, of the emulator clock (sliding windows). ``None`` switches one off."""
        for name, value in (
            ("per_app", per_app),
            ("per_receiver", per_receiver),
            ("per_app_per_minute", per_app_per_minute),
        ):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                raise ValueError(f"{name} must be a positive int or None, got {value!r}")
        if window <= 0:
            raise ValueError(f"window must be positive, got {window}")
        self.limits = RateLimits(per_app, per_receiver, float(window), per_app_per_minute)
        self._sends.clear()
        return self.limits

    def answer_late(self, seconds: float, count: int = 1) -> None:
        """The next ``count`` IM writes (sends, replies, edits, card updates, recalls, image
        and file uploads) are applied, then answered ``seconds`` late — so a client with a
        shorter timeout sees a timeout for a write that did happen (a send's retry is
        deduplicated by its ``uuid``; an edit or recall must not be retried)."""
        if seconds <= 0 or count < 1:
            raise ValueError("answer_late needs seconds > 0 and count >= 1")
        self._late.extend([float(seconds)] * count)

    def take_late(self) -> float:
        return self._late.pop(0) if self._late else 0.0

    def check_rate(self, app_id: str, receiver: str, now: float) -> None:
        """Raise the rate-limit error this send would get, else count it."""
        limits = self.limits
        if limits.per_app is None and limits.per_receiver is None and not limits.per_app_per_minute:
            return
        keep = max(limits.window, _MINUTE) if limits.per_app_per_minute else limits.window
        while self._sends and self._sends[0][0] <= now - keep:
            self._sends.popleft()
        app_msg = "request trigger frequency limit"
        checks: tuple[tuple[int | None, float, int, str, int, int, str], ...] = (
            (limits.per_app, limits.window, 1, app_id, 99991400, 429, app_msg),
            (limits.per_app_per_minute, _MINUTE, 1, app_id, 99991400, 429, app_msg),
            (
                limits.per_receiver,
                limits.window,
                2,
                receiver,
                230020,
                400,
                "This operation triggers the frequency limit.",
            ),
        )
        for limit, window, position, value, code, status, msg in checks:
            if limit is None:
                continue
            hits = [s[0] for s in self._sends if s[position] == value and s[0] > now - window]
            if len(hits) >= limit:
                if code == 230020:
                    # The per-receiver limit is IM's own business code, not the gateway's:
                    # Feishu answers it without x-ogw-ratelimit-* headers.
                    raise FeishuError(code, msg, http_status=status)
                reset = max(1, math.ceil(hits[-limit] + window - now))
                raise FeishuError(
                    code,
                    msg,
                    http_status=status,
                    headers={
                        "x-ogw-ratelimit-limit": str(limit),
                        "x-ogw-ratelimit-reset": str(reset),
                    },
                )
        self._sends.append((now, app_id, receiver))

    def add_upload(self, upload: Upload) -> Upload:
        self.uploads[upload.key] = upload
        return upload

    def upload(self, key: str, kind: str, app_id: str | None = None) -> Upload | None:
        """The upload with ``key`` of ``kind`` (and of ``app_id`` when given)."""
        found = self.uploads.get(key)
        if found is None or found.kind != kind:
            return None
        if app_id is not None and found.app_id != app_id:
            return None
        return found


def im_state(target: Any) -> ImState:
    """The IM state of an :class:`EmulatorState` or an ``Emulator`` (``.state``)."""
    state: EmulatorState = getattr(target, "state", target)
    return state.domain("im", ImState)


# -- content ----------------------------------------------------------------------------------


def invalid_param(detail: str) -> FeishuError:
    """230001 with Feishu's wording and ``ext=<detail>``."""
    return FeishuError(230001, f"Your request contains an invalid request parameter, ext={detail}")


def _card_error(detail: str) -> FeishuError:
    return FeishuError(230099, f"Failed to create card content, ext={detail}")


def _check_card(card: dict[str, Any]) -> None:
    """The card forms Feishu knows: JSON 2.0, v1, template, CardKit entity (230099 if broken)."""
    if "schema" in card:
        if card["schema"] != "2.0":
            raise _card_error(f"unsupported schema {card['schema']!r}")
        body = card.get("body")
        if not isinstance(body, dict) or not isinstance(body.get("elements", []), list):
            raise _card_error("a 2.0 card needs body.elements")
        config = card.get("config")
        if isinstance(config, dict) and config.get("update_multi") is False:
            raise _card_error("JSON 2.0 cards only support update_multi: true")
    elif card.get("type") == "template":
        data = card.get("data")
        if not isinstance(data, dict) or not data.get("template_id"):
            raise _card_error("a template card needs data.template_id")
    elif card.get("type") == "card":
        data = card.get("data")
        if not isinstance(data, dict) or not data.get("card_id"):
            raise _card_error("a card entity needs data.card_id")
    elif "elements" in card and not isinstance(card["elements"], list):
        raise _card_error("elements must be a list")


def _shared_card(card: dict[str, Any]) -> bool:
    """Whether a card may be updated for everyone (``config.update_multi``)."""
    if card.get("type") in ("template", "card"):
        return True
    config = card.get("config")
    setting = config.get("update_multi") if isinstance(config, dict) else None
    if card.get("schema") == "2.0":
        return setting is not False
    return setting is True


def validate_content(msg_type: str, content: Any) -> dict[str, Any]:
    """Parse ``content`` (a JSON string holding an object) and check its shape for
    ``msg_type``; :class:`FeishuError` 230001 (230099 for cards) otherwise."""
    if not isinstance(content, str):
        raise invalid_param("content must be a string holding JSON")
    try:
        parsed = json.loads(content)
    except json.JSONDecodeError:
        raise invalid_param("content is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise invalid_param("content must be a JSON object")
    key = _REQUIRED_KEY.get(msg_type)
    if key is not None and not isinstance(parsed.get(key), str):
        raise invalid_param(f"content of a {msg_type} message needs a string {key!r}")
    if msg_type == "post":
        if "post" in parsed:
            raise invalid_param('post content must not be wrapped in {"post": ...}')
        locales = [v for v in parsed.values() if isinstance(v, dict)]
        if not locales or not all(isinstance(v.get("content"), list) for v in locales):
            raise invalid_param('post content needs {"<locale>": {"content": [[...]]}}')
    if msg_type == "interactive":
        if not parsed:
            raise invalid_param("card content is empty")
        _check_card(parsed)
    return parsed


def _check_size(msg_type: str, content: str) -> None:
    limit = TEXT_BODY_LIMIT if msg_type == "text" else CARD_BODY_LIMIT
    if msg_type in ("text", "post", "interactive") and len(content.encode("utf-8")) > limit:
        raise FeishuError(230025, "The message content is too long.")


def _post_keys(content: dict[str, Any]) -> list[tuple[str, str]]:
    """``(kind, key)`` of the images and videos a post references."""
    keys: list[tuple[str, str]] = []
    for body in content.values():
        if not isinstance(body, dict):
            continue
        for row in body.get("content") or []:
            for element in row if isinstance(row, list) else []:
                if not isinstance(element, dict):
                    continue
                if element.get("tag") == "img" and isinstance(element.get("image_key"), str):
                    keys.append(("image", element["image_key"]))
                if element.get("tag") == "media" and isinstance(element.get("file_key"), str):
                    keys.append(("file", element["file_key"]))
    return keys


def _resource_keys(message: Message) -> list[tuple[str, str]]:
    """``(kind, key)`` of every resource a message carries."""
    content = message.content
    if message.msg_type == "image":
        return [("image", str(content.get("image_key")))]
    if message.msg_type in ("file", "audio", "media"):
        keys = [("file", str(content.get("file_key")))]
        if message.msg_type == "media" and isinstance(content.get("image_key"), str):
            keys.append(("image", content["image_key"]))
        return keys
    if message.msg_type == "post":
        return _post_keys(content)
    return []


def _check_resources(im: ImState, app_id: str, msg_type: str, content: dict[str, Any]) -> None:
    """Keys in the content must be uploads of this app, of the right type."""
    if msg_type == "image":
        if im.upload(content["image_key"], "image", app_id) is None:
            raise invalid_param(f"image_key {content['image_key']} was not uploaded by this app")
    elif msg_type in ("file", "audio", "media"):
        upload = im.upload(content["file_key"], "file", app_id)
        if upload is None:
            raise invalid_param(f"file_key {content['file_key']} was not uploaded by this app")
        want = {"audio": "opus", "media": "mp4"}.get(msg_type)
        if want is not None and upload.file_type != want:
            raise FeishuError(
                230055,
                f"The type of file upload does not match the type of message, ext={msg_type} "
                f"messages need a {want} upload, not {upload.file_type}",
            )
    elif msg_type == "post":
        for kind, key in _post_keys(content):
            if im.upload(key, kind, app_id) is None:
                raise invalid_param(f"{kind} key {key} in the post was not uploaded by this app")


def _render_mentions(
    state: EmulatorState, app_id: str, tenant_key: str, content: dict[str, Any]
) -> tuple[str | None, list[dict[str, Any]]]:
    """Feishu's view of a text with ``<at>`` tags: ``@_user_N`` keys and ``mentions``."""
    text = content.get("text")
    if not isinstance(text, str) or "<at" not in text:
        return None, []
    mentions: list[dict[str, Any]] = []

    def replace(match: re.Match[str]) -> str:
        target, name = match.group(1), match.group(2)
        if target == "all":
            return "@_all"
        user = None
        for id_type in ("open_id", "user_id", "union_id"):
            user = state.find_user(id_type, target, app_id)
            if user is not None:
                break
        key = f"@_user_{len(mentions) + 1}"
        mentions.append(
            {
                "key": key,
                "id": user.open_id_for(app_id) if user else target,
                "id_type": "open_id",
                "name": name or (user.name if user else ""),
                "tenant_key": tenant_key,
            }
        )
        return key

    rendered = _AT.sub(replace, text)
    return json.dumps({**content, "text": rendered}, ensure_ascii=False), mentions


def message_data(message: Message) -> dict[str, Any]:
    """A stored message as Feishu's ``Message`` object."""
    rendered = message.attrs.get("rendered_content")
    data: dict[str, Any] = {
        "message_id": message.message_id,
        "msg_type": message.msg_type,
        "create_time": str(message.create_time),
        "update_time": str(message.update_time),
        "deleted": message.deleted,
        "updated": message.updated,
        "chat_id": message.chat_id,
        "sender": {
            "id": message.app_id,
            "id_type": "app_id",
            "sender_type": "app",
            "tenant_key": message.tenant_key,
        },
        "body": {"content": rendered if isinstance(rendered, str) else message.content_raw},
        "mentions": list(message.attrs.get("mentions") or []),
    }
    for key in ("root_id", "parent_id", "thread_id"):
        value = getattr(message, key)
        if value:
            data[key] = value
    return data


# -- receivers and messages ---------------------------------------------------------------------


def _resolve_chat(state: EmulatorState, caller: Caller, id_type: str, receive_id: str) -> str:
    """The chat a message to ``receive_id`` lands in, or the Feishu error for a bad receiver."""
    if id_type == "chat_id":
        chat = state.get_chat(receive_id)
        if chat is None:
            raise invalid_param("invalid receive_id")
        if getattr(chat, "dissolved", False):
            raise FeishuError(
                232009, "Your request specifies a chat which has already been dissolved."
            )
        if not chat.has_bot(caller.app_id):
            raise FeishuError(230002, "Bot/User can NOT be out of the chat.")
        return chat.chat_id
    user = state.find_user(id_type, receive_id, caller.app_id)
    if user is None:
        if id_type == "email":
            raise invalid_param("invalid receive_id")
        if id_type == "open_id" and state.is_foreign_open_id(receive_id, caller.app_id):
            raise FeishuError(99992361, "open_id cross app")
        code, msg = _UNKNOWN_USER[id_type]
        raise FeishuError(code, msg)
    return state.p2p_chat(caller.app_id, user.user_id).chat_id


def _stored(state: EmulatorState, message_id: str) -> Message:
    message = state.get_message(message_id)
    if message is None:
        raise invalid_param(f"message_id {message_id} not found")
    return message


def _live(state: EmulatorState, message_id: str) -> Message:
    message = _stored(state, message_id)
    if message.deleted:
        raise FeishuError(230011, "The message is recalled.")
    return message


def _own(message: Message, caller: Caller) -> None:
    """A card update of another sender's message (the update page's 230027)."""
    if message.app_id != caller.app_id:
        raise FeishuError(
            230027, "Lack of necessary permissions, ext=the message was sent by another sender"
        )


def _age_s(state: EmulatorState, message: Message) -> float:
    return (state.clock.now_ms() - message.create_time) / 1000


def _check_editable(state: EmulatorState, im: ImState, message: Message, caller: Caller) -> None:
    """The edit page's refusals: 230071 another sender's, 230054 not text/post, 230075 past
    the edit window, 230072 edited 20 times already."""
    if message.app_id != caller.app_id:
        raise FeishuError(230071, "The operator is not the sender of the message.")
    if message.msg_type not in ("text", "post"):
        raise FeishuError(
            230054, f"This operation is not supported for {message.msg_type} messages."
        )
    if im.edit_window is not None and _age_s(state, message) > im.edit_window:
        raise FeishuError(230075, "The message can no longer be edited: the edit time has passed.")
    if int(message.attrs.get("edit_count", 0)) >= MAX_EDITS:
        raise FeishuError(
            230072, f"The message has been edited {MAX_EDITS} times, the maximum allowed."
        )


def _check_recallable(state: EmulatorState, im: ImState, message: Message, caller: Caller) -> None:
    """The recall page's refusals: 230110 already recalled (deleted), 230026 another
    sender's, 230009 past the recall window."""
    if message.deleted:
        raise FeishuError(230110, "Action unavailable as the message has been deleted.")
    if message.app_id != caller.app_id:
        raise FeishuError(230026, "No permission to recall this message.")
    if im.recall_window is not None and _age_s(state, message) > im.recall_window:
        days = im.recall_window / 86_400
        span = "one day" if days == 1 else f"{im.recall_window:g} seconds"
        raise FeishuError(230009, f"Message can only be recalled within {span}.")


def _new_message(
    state: EmulatorState,
    caller: Caller,
    request: Request,
    *,
    msg_type: str,
    content: dict[str, Any],
    raw: str,
    chat_id: str,
    uuid: str | None,
    **extra: Any,
) -> Message:
    now_ms = state.clock.now_ms()
    rendered, mentions = _render_mentions(state, caller.app_id, caller.tenant_key, content)
    attrs: dict[str, Any] = {"edit_count": 0, "card_updates": 0}
    if rendered is not None:
        attrs["rendered_content"] = rendered
        attrs["mentions"] = mentions
    return state.add_message(
        Message(
            message_id=state.new_message_id(),
            app_id=caller.app_id,
            msg_type=msg_type,
            content=content,
            content_raw=raw,
            chat_id=chat_id,
            create_time=now_ms,
            update_time=now_ms,
            uuid=uuid or None,
            request_id=request.headers.get("x-request-id"),
            tenant_key=caller.tenant_key,
            attrs=attrs,
            **extra,
        )
    )


def _read_message_body(body: dict[str, Any]) -> tuple[str, dict[str, Any], str, str | None]:
    msg_type = body.get("msg_type")
    uuid = body.get("uuid")
    if msg_type not in MSG_TYPES:
        raise invalid_param("msg_type must be one of " + ", ".join(MSG_TYPES))
    content = validate_content(msg_type, body.get("content"))
    if uuid is not None and (not isinstance(uuid, str) or len(uuid) > UUID_MAX_LENGTH):
        raise invalid_param(f"uuid must be a string of at most {UUID_MAX_LENGTH} characters")
    _check_size(msg_type, body["content"])
    return msg_type, content, body["content"], uuid


async def _late(im: ImState) -> None:
    delay = im.take_late()
    if delay > 0:
        await anyio.sleep(delay)


# -- multipart ----------------------------------------------------------------------------------


@dataclass
class _Part:
    """One part of a multipart body, as bytes."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


class _BinaryPartsParser(MultiPartParser):
    """Starlette's multipart parser, keeping parts without a filename as bytes.

    The official SDK sends files without a filename; Starlette would decode such a part as
    text (and lose bytes that are not UTF-8), so this parser stores every part as a
    :class:`_Part`. Files with a filename go through Starlette's ``UploadFile`` as usual.
    """

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is not None:
            super().on_part_end()
            return
        headers = dict(part.item_headers)
        content_type = headers.get(b"content-type")
        self.items.append(
            (
                part.field_name,
                _Part(  # type: ignore[arg-type]  # FormData holds what the parser stores
                    part.field_name,
                    None,
                    content_type.decode("latin-1") if content_type is not None else None,
                    bytes(part.data),
                ),
            )
        )


async def _read_form(request: Request, limit: int) -> dict[str, _Part]:
    """Every part of the request's ``multipart/form-data`` body (234001 if it is not one).

    Parts may be up to ``limit`` bytes and one more, so that an upload over Feishu's limit
    gets Feishu's own error (234006) rather than the parser's."""
    kind, _ = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data":
        raise FeishuError(234001, "Invalid request param, ext=expected multipart/form-data")
    parser = _BinaryPartsParser(request.headers, request.stream(), max_part_size=limit + 1)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        if "exceeded maximum size" in exc.message:
            raise _upload_error(
                234006, f"The file size exceed the max value, ext=limit {limit // 1048576}M"
            ) from None
        raise _upload_error(234001, f"Invalid request param, ext={exc.message}") from None
    parts: dict[str, _Part] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                parts[name] = _Part(name, value.filename, value.content_type, await value.read())
            elif isinstance(value, _Part):
                parts[name] = value
    finally:
        await form.close()
    return parts


def _field(form: dict[str, _Part], name: str) -> str | None:
    """A text field of the form (``None`` when absent)."""
    part = form.get(name)
    return None if part is None else part.data.decode("utf-8", "replace")


def _upload_error(code: int, msg: str) -> FeishuError:
    return FeishuError(code, msg)


def _check_upload_size(data: bytes, limit: int, what: str) -> None:
    if not data:
        raise _upload_error(234010, "File's size can't be 0.")
    if len(data) > limit:
        raise _upload_error(
            234006, f"The file size exceed the max value, ext={what} limit {limit // 1048576}M"
        )


def _image_mime(data: bytes) -> str | None:
    for magic, offset, mime in _IMAGE_MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if mime == "image/webp" and data[:4] != b"RIFF":
                continue
            return mime
    return None


def _canonical_headers(response: Response) -> Response:
    """``Content-Type`` / ``Content-Disposition`` spelled as Feishu does: the official SDK
    looks binary answers' headers up case-sensitively."""
    response.raw_headers = [
        (b"-".join(part.capitalize() for part in name.split(b"-")), value)
        for name, value in response.raw_headers
    ]
    return response


def _download(upload: Upload) -> Response:
    name = upload.file_name
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return _canonical_headers(
        Response(
            upload.data,
            media_type=upload.content_type,
            headers={"Content-Disposition": disposition},
        )
    )


def _binary_endpoint(handler: Handler) -> Handler:
    """A download route: its Feishu errors, too, carry a canonical ``Content-Type``."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except FeishuError as exc:
            response = JSONResponse(
                error_body(exc.code, exc.msg, log_id(request), **exc.error),
                status_code=exc.http_status,
                headers=exc.headers,
            )
            return _canonical_headers(response)

    return wrapped


# -- endpoints --------------------------------------------------------------------------------
#
# Each handler is a plain module-level function: the emulator's state is the app's
# (``request.app.state.emulator``, set by ``EmulatorApp``), so nothing needs a closure.


def _emulator(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _message_id(request: Request) -> str:
    return str(request.path_params["message_id"])


async def _read_body(request: Request) -> dict[str, Any]:
    return await read_json(
        request, code=230001, msg="Your request contains an invalid request parameter"
    )


# -- messages: send, reply, edit, recall, get -------------------------------------------------


async def send_message(request: Request) -> Response:
    """``POST /open-apis/im/v1/messages?receive_id_type=``."""
    state = _emulator(request)
    im = im_state(state)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    id_type = request.query_params.get("receive_id_type")
    if id_type not in RECEIVE_ID_TYPES:
        raise invalid_param("receive_id_type is required: one of " + ", ".join(RECEIVE_ID_TYPES))
    body = await _read_body(request)
    receive_id = body.get("receive_id")
    if not isinstance(receive_id, str) or not receive_id:
        raise invalid_param("receive_id is required")
    msg_type, content, raw, uuid = _read_message_body(body)
    with state.lock:
        chat_id = _resolve_chat(state, caller, id_type, receive_id)
        _check_resources(im, caller.app_id, msg_type, content)
        # A retry with a known uuid is answered with the stored message before the rate
        # limits are counted: it sends nothing, so it must not be throttled.
        if uuid:
            duplicate = state.find_duplicate(caller.app_id, uuid)
            if duplicate is not None:
                return ok(message_data(duplicate))
        im.check_rate(caller.app_id, chat_id, state.clock.now())
        message = _new_message(
            state,
            caller,
            request,
            msg_type=msg_type,
            content=content,
            raw=raw,
            chat_id=chat_id,
            uuid=uuid,
            receive_id=receive_id,
            receive_id_type=id_type,
        )
    await _late(im)
    return ok(message_data(message))


async def reply_message(request: Request) -> Response:
    """``POST /open-apis/im/v1/messages/:message_id/reply``."""
    state = _emulator(request)
    im = im_state(state)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    body = await _read_body(request)
    msg_type, content, raw, uuid = _read_message_body(body)
    in_thread = body.get("reply_in_thread", False)
    if not isinstance(in_thread, bool):
        raise invalid_param("reply_in_thread must be a boolean")
    with state.lock:
        parent = _live(state, _message_id(request))
        chat = state.get_chat(parent.chat_id)
        if chat is not None and not chat.has_bot(caller.app_id):
            raise FeishuError(230002, "Bot/User can NOT be out of the chat.")
        _check_resources(im, caller.app_id, msg_type, content)
        if uuid:
            duplicate = state.find_duplicate(caller.app_id, uuid)
            if duplicate is not None:
                return ok(message_data(duplicate))
        im.check_rate(caller.app_id, parent.chat_id, state.clock.now())
        thread_id = parent.thread_id
        if in_thread and not thread_id:
            thread_id = "omt_" + secrets.token_hex(8)
            state.update_message(parent.message_id, thread_id=thread_id)
        message = _new_message(
            state,
            caller,
            request,
            msg_type=msg_type,
            content=content,
            raw=raw,
            chat_id=parent.chat_id,
            uuid=uuid,
            root_id=parent.root_id or parent.message_id,
            parent_id=parent.message_id,
            thread_id=thread_id if in_thread or parent.thread_id else None,
        )
    await _late(im)
    return ok(message_data(message))


async def edit_message(request: Request) -> Response:
    """``PUT /open-apis/im/v1/messages/:message_id``: text and post, 20 edits at most."""
    state = _emulator(request)
    caller = authenticate(request, state, kinds=("tenant",))
    body = await _read_body(request)
    msg_type = body.get("msg_type")
    if msg_type not in ("text", "post"):
        raise invalid_param("msg_type must be text or post")
    content = validate_content(msg_type, body.get("content"))
    _check_size(msg_type, body["content"])
    with state.lock:
        message = _live(state, _message_id(request))
        _check_editable(state, im_state(state), message, caller)
        edits = int(message.attrs.get("edit_count", 0))
        rendered, mentions = _render_mentions(state, caller.app_id, caller.tenant_key, content)
        attrs = {**message.attrs, "edit_count": edits + 1}
        attrs.pop("rendered_content", None)
        attrs["mentions"] = mentions
        if rendered is not None:
            attrs["rendered_content"] = rendered
        updated = state.update_message(
            message.message_id,
            msg_type=msg_type,
            content=content,
            content_raw=body["content"],
            updated=True,
            update_time=state.clock.now_ms(),
            attrs=attrs,
        )
    await _late(im_state(state))
    return ok(message_data(updated))


async def recall_message(request: Request) -> Response:
    """``DELETE /open-apis/im/v1/messages/:message_id``."""
    state = _emulator(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    with state.lock:
        message = _stored(state, _message_id(request))
        _check_recallable(state, im_state(state), message, caller)
        state.update_message(message.message_id, deleted=True, update_time=state.clock.now_ms())
    await _late(im_state(state))
    return ok({})


async def get_message(request: Request) -> Response:
    """``GET /open-apis/im/v1/messages/:message_id`` (``items: [Message]``)."""
    state = _emulator(request)
    authenticate(request, state, kinds=("tenant", "user"))
    message = _stored(state, _message_id(request))
    return ok({"items": [message_data(message)]})


# -- cards: update a shared card --------------------------------------------------------------


async def patch_card(request: Request) -> Response:
    """``PATCH /open-apis/im/v1/messages/:message_id``: a shared card, within 14 days."""
    state = _emulator(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    body = await _read_body(request)
    content = validate_content("interactive", body.get("content"))
    _check_size("interactive", body["content"])
    with state.lock:
        message = _live(state, _message_id(request))
        _own(message, caller)
        if message.msg_type != "interactive":
            raise FeishuError(
                230054, f"This operation is not supported for {message.msg_type} messages."
            )
        now_ms = state.clock.now_ms()
        if now_ms - message.create_time > CARD_UPDATE_DAYS * 86_400_000:
            raise FeishuError(230031, "Message can only be modified within 14 days after sending.")
        if not _shared_card(message.content) or not _shared_card(content):
            raise invalid_param(
                'only shared cards can be updated: "config": {"update_multi": true} '
                "is needed before and after the update"
            )
        attrs = {**message.attrs, "card_updates": int(message.attrs.get("card_updates", 0)) + 1}
        state.update_message(
            message.message_id,
            content=content,
            content_raw=body["content"],
            updated=True,
            update_time=now_ms,
            attrs=attrs,
        )
    await _late(im_state(state))
    return ok({})


# -- images and files: upload, download -------------------------------------------------------


async def upload_image(request: Request) -> Response:
    """``POST /open-apis/im/v1/images`` (multipart: ``image_type``, ``image``)."""
    state = _emulator(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    form = await _read_form(request, IMAGE_LIMIT)
    image_type = _field(form, "image_type")
    if image_type not in IMAGE_TYPES:
        raise _upload_error(234001, "Invalid request param, ext=image_type: message or avatar")
    if "image" not in form:
        raise _upload_error(234001, "Invalid request param, ext=image is required")
    data = form["image"].data
    _check_upload_size(data, IMAGE_LIMIT, "image")
    mime = _image_mime(data)
    if mime is None:
        raise _upload_error(234001, "Invalid request param, ext=unsupported image format")
    key = "img_v3_" + secrets.token_hex(14) + "g"
    upload = Upload(
        key=key,
        app_id=caller.app_id,
        kind="image",
        data=data,
        file_type=image_type,
        file_name=form["image"].filename or f"{key}.{mime.split('/')[-1]}",
        content_type=mime,
        created=state.clock.now(),
    )
    with state.lock:
        im_state(state).add_upload(upload)
    await _late(im_state(state))
    return ok({"image_key": key})


async def upload_file(request: Request) -> Response:
    """``POST /open-apis/im/v1/files`` (multipart: ``file_type``, ``file_name``, ``file``)."""
    state = _emulator(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    form = await _read_form(request, FILE_LIMIT)
    file_type = _field(form, "file_type")
    if file_type not in FILE_TYPES:
        raise _upload_error(
            234001, "Invalid request param, ext=file_type: " + ", ".join(FILE_TYPES)
        )
    file_name = _field(form, "file_name") or ""
    if not file_name:
        raise _upload_error(234001, "Invalid request param, ext=file_name is required")
    # ``duration`` is optional; the official SDK sends an unset one as "None", which
    # Feishu accepts, so it is not checked.
    if "file" not in form:
        raise _upload_error(234001, "Invalid request param, ext=file is required")
    data = form["file"].data
    _check_upload_size(data, FILE_LIMIT, "file")
    key = "file_v3_" + secrets.token_hex(14) + "g"
    upload = Upload(
        key=key,
        app_id=caller.app_id,
        kind="file",
        data=data,
        file_type=file_type,
        file_name=file_name,
        content_type=form["file"].content_type or "application/octet-stream",
        created=state.clock.now(),
    )
    with state.lock:
        im_state(state).add_upload(upload)
    await _late(im_state(state))
    return ok({"file_key": key})


def _own_upload(state: EmulatorState, caller: Caller, key: str, kind: str) -> Upload:
    with state.lock:
        upload = im_state(state).upload(key, kind)
    if upload is None:
        raise _upload_error(234001, f"Invalid request param, ext={kind} key not found")
    if upload.app_id != caller.app_id:
        raise _upload_error(234002, "Unauthorized, ext=the resource belongs to another app")
    return upload


async def download_image(request: Request) -> Response:
    """``GET /open-apis/im/v1/images/:image_key`` (an image this app uploaded)."""
    state = _emulator(request)
    caller = authenticate(request, state, kinds=("tenant",))
    return _download(_own_upload(state, caller, request.path_params["key"], "image"))


async def download_file(request: Request) -> Response:
    """``GET /open-apis/im/v1/files/:file_key`` (a file this app uploaded)."""
    state = _emulator(request)
    caller = authenticate(request, state, kinds=("tenant",))
    return _download(_own_upload(state, caller, request.path_params["key"], "file"))


# -- resources: a message's image or file -----------------------------------------------------


async def download_resource(request: Request) -> Response:
    """``GET /open-apis/im/v1/messages/:message_id/resources/:file_key?type=``."""
    state = _emulator(request)
    authenticate(request, state, kinds=("tenant", "user"))
    kind = request.query_params.get("type")
    if kind not in ("image", "file"):
        raise _upload_error(234001, "Invalid request param, ext=type: image or file")
    key = request.path_params["key"]
    with state.lock:
        message = _live(state, _message_id(request))
        if message.msg_type == "interactive":
            raise _upload_error(
                234043, "Unsupported message type, ext=card resources cannot be downloaded"
            )
        if (kind, key) not in _resource_keys(message):
            raise _upload_error(
                234001, f"Invalid request param, ext={kind} {key} is not in the message"
            )
        upload = im_state(state).upload(key, kind)
    if upload is None:
        raise _upload_error(234001, f"Invalid request param, ext={kind} {key} not found")
    return _download(upload)


# -- control: /_emulator/im/... ---------------------------------------------------------------


async def control_rate_limits(request: Request) -> Response:
    """``GET|POST /_emulator/im/rate_limits``."""
    im = im_state(_emulator(request))
    if request.method == "POST":
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
            limits = im.set_rate_limits(
                per_app=body.get("per_app"),
                per_receiver=body.get("per_receiver"),
                window=float(body.get("window", 1.0)),
                per_app_per_minute=body.get("per_app_per_minute"),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(limits.to_dict())
    return JSONResponse(im.limits.to_dict())


async def control_message_windows(request: Request) -> Response:
    """``GET|POST /_emulator/im/message_windows``: ``{"edit": s | null, "recall": s | null}``."""
    im = im_state(_emulator(request))
    if request.method == "POST":
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
            im.set_message_windows(
                edit=body.get("edit", DEFAULT_MESSAGE_WINDOW),
                recall=body.get("recall", DEFAULT_MESSAGE_WINDOW),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"edit": im.edit_window, "recall": im.recall_window})


async def control_uploads(request: Request) -> Response:
    """``GET /_emulator/im/uploads``."""
    state = _emulator(request)
    with state.lock:
        items = [u.to_dict() for u in im_state(state).uploads.values()]
    return JSONResponse({"items": items})


# -- the route table ----------------------------------------------------------------------------

_MESSAGE = MESSAGES_PATH + "/{message_id}"

ROUTE_TABLE: tuple[tuple[str, str, Handler], ...] = (
    # messages
    ("POST", MESSAGES_PATH, send_message),
    ("POST", _MESSAGE + "/reply", reply_message),
    ("PUT", _MESSAGE, edit_message),
    ("DELETE", _MESSAGE, recall_message),
    ("GET", _MESSAGE, get_message),
    # cards
    ("PATCH", _MESSAGE, patch_card),
    # resources
    ("GET", _MESSAGE + "/resources/{key}", _binary_endpoint(download_resource)),
    # images and files
    ("POST", IMAGES_PATH, upload_image),
    ("GET", IMAGES_PATH + "/{key}", _binary_endpoint(download_image)),
    ("POST", FILES_PATH, upload_file),
    ("GET", FILES_PATH + "/{key}", _binary_endpoint(download_file)),
    # control
    ("GET", "/_emulator/im/rate_limits", control_rate_limits),
    ("POST", "/_emulator/im/rate_limits", control_rate_limits),
    ("GET", "/_emulator/im/message_windows", control_message_windows),
    ("POST", "/_emulator/im/message_windows", control_message_windows),
    ("GET", "/_emulator/im/uploads", control_uploads),
)
"""``(method, path, handler)`` of every IM endpoint and ``/_emulator/im/`` control."""


def routes(state: EmulatorState) -> list[BaseRoute]:
    """IM message, image and file endpoints, plus ``/_emulator/im/...`` controls.

    The handlers find ``state`` on the app (``EmulatorApp`` puts it there); one route per
    path and method of :data:`ROUTE_TABLE`.
    """
    return [Route(path, handler, methods=[method]) for method, path, handler in ROUTE_TABLE]

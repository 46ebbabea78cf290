"""Building callbacks the way Feishu sends them: payloads, encryption, signature headers.

Used by ``lark-service callbacks simulate``, the emulator's card clicks and tests::

    payload = card_action_payload("cli_a1", value={"action": "approve"}, open_id="ou_1",
                                  open_message_id="om_1", verification_token="vt")
    headers, body = signed_request(payload, encrypt_key="ek")
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any

from . import crypto
from .verify import HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP

__all__ = [
    "card_action_payload",
    "legacy_card_payload",
    "message_event_payload",
    "signed_request",
    "simulated_card_token",
    "url_verification_payload",
]


def simulated_card_token() -> str:
    """A card token that says it is made up (``c-simulated-…``): a handler's returned card
    for such a callback is not sent to Feishu's delayed-update API (which would refuse it),
    so ``callbacks simulate`` of a slow card handler ends done, not dead."""
    from .execution import SIMULATED_TOKEN_PREFIX

    return SIMULATED_TOKEN_PREFIX + secrets.token_hex(16)


def _header(
    app_id: str, event_type: str, token: str | None, event_id: str | None
) -> dict[str, Any]:
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "token": token or "",
        "create_time": str(int(time.time() * 1000)),
        "event_type": event_type,
        "tenant_key": "736588c9260f175d",
        "app_id": app_id,
    }


def card_action_payload(
    app_id: str,
    *,
    value: dict[str, Any] | None = None,
    tag: str = "button",
    name: str | None = None,
    open_id: str = "ou_simulated",
    user_id: str | None = None,
    union_id: str | None = None,
    open_message_id: str = "om_simulated",
    open_chat_id: str | None = None,
    card_token: str | None = None,
    verification_token: str | None = None,
    event_id: str | None = None,
    form_value: dict[str, Any] | None = None,
    tenant_key: str = "736588c9260f175d",
) -> dict[str, Any]:
    """A ``card.action.trigger`` (schema 2.0) payload."""
    action: dict[str, Any] = {"value": dict(value or {}), "tag": tag}
    if name is not None:
        action["name"] = name
    if form_value is not None:
        action["form_value"] = form_value
    header = _header(app_id, "card.action.trigger", verification_token, event_id)
    header["tenant_key"] = tenant_key
    return {
        "schema": "2.0",
        "header": header,
        "event": {
            "operator": {
                "tenant_key": tenant_key,
                "open_id": open_id,
                "user_id": user_id,
                "union_id": union_id,
            },
            "token": card_token or "c-" + secrets.token_hex(20),
            "action": action,
            "host": "im_message",
            "context": {"open_message_id": open_message_id, "open_chat_id": open_chat_id},
        },
    }


def legacy_card_payload(
    *,
    value: dict[str, Any] | None = None,
    tag: str = "button",
    open_id: str = "ou_simulated",
    open_message_id: str = "om_simulated",
    open_chat_id: str | None = None,
    card_token: str | None = None,
) -> dict[str, Any]:
    """A legacy message-card callback (flat body)."""
    return {
        "open_id": open_id,
        "user_id": None,
        "tenant_key": "736588c9260f175d",
        "open_message_id": open_message_id,
        "open_chat_id": open_chat_id,
        "token": card_token or "c-" + secrets.token_hex(20),
        "action": {"value": dict(value or {}), "tag": tag},
    }


def message_event_payload(
    app_id: str,
    text: str,
    *,
    open_id: str = "ou_simulated",
    chat_id: str = "oc_simulated",
    chat_type: str = "p2p",
    message_id: str | None = None,
    verification_token: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An ``im.message.receive_v1`` payload carrying a text message."""
    now_ms = str(int(time.time() * 1000))
    return {
        "schema": "2.0",
        "header": _header(app_id, "im.message.receive_v1", verification_token, event_id),
        "event": {
            "sender": {
                "sender_id": {"open_id": open_id},
                "sender_type": "user",
                "tenant_key": "736588c9260f175d",
            },
            "message": {
                "message_id": message_id or "om_" + secrets.token_hex(16),
                "create_time": now_ms,
                "update_time": now_ms,
                "chat_id": chat_id,
                "chat_type": chat_type,
                "message_type": "text",
                "content": json.dumps({"text": text}, ensure_ascii=False),
            },
        },
    }


def url_verification_payload(challenge: str, verification_token: str | None) -> dict[str, Any]:
    """The ``url_verification`` handshake Feishu sends when a URL is saved."""
    return {"challenge": challenge, "token": verification_token or "", "type": "url_verification"}


def signed_request(
    payload: dict[str, Any],
    *,
    encrypt_key: str | None = None,
    verification_token: str | None = None,
    legacy: bool = False,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """Headers and raw body of ``payload`` as Feishu would POST it.

    With ``encrypt_key`` the body is encrypted and signed with SHA-256; a ``legacy`` card
    callback is signed with SHA-1 over the ``verification_token`` instead.
    """
    if encrypt_key:
        body = crypto.encrypt_json(encrypt_key, payload)
    else:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    timestamp = timestamp if timestamp is not None else str(int(time.time()))
    nonce = nonce if nonce is not None else secrets.token_hex(8)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if legacy:
        if verification_token:
            signature = crypto.card_signature(timestamp, nonce, verification_token, body)
            headers.update(
                {HEADER_TIMESTAMP: timestamp, HEADER_NONCE: nonce, HEADER_SIGNATURE: signature}
            )
    elif encrypt_key:
        signature = crypto.event_signature(timestamp, nonce, encrypt_key, body)
        headers.update(
            {HEADER_TIMESTAMP: timestamp, HEADER_NONCE: nonce, HEADER_SIGNATURE: signature}
        )
    else:
        headers.update({HEADER_TIMESTAMP: timestamp, HEADER_NONCE: nonce})
    return headers, body

"""Pure helpers of the messaging domain: receiver inference, validation, request bodies."""

from __future__ import annotations

import json
import uuid
from typing import Any, get_args

from ..errors import ValidationError
from .models import ReceiveIdType

__all__ = [
    "MAX_CARD_BYTES",
    "MAX_POST_BYTES",
    "MAX_TEXT_BYTES",
    "build_message_body",
    "check_receiver",
    "infer_receive_id_type",
]

MAX_TEXT_BYTES = 150 * 1024
MAX_POST_BYTES = 30 * 1024
MAX_CARD_BYTES = 30 * 1024
_LIMITS = {"text": MAX_TEXT_BYTES, "post": MAX_POST_BYTES, "interactive": MAX_CARD_BYTES}
_RECEIVE_ID_TYPES: tuple[str, ...] = get_args(ReceiveIdType)


def infer_receive_id_type(receive_id: str) -> ReceiveIdType:
    """``ou_`` open_id, ``on_`` union_id, ``oc_`` chat_id, contains ``@`` email, else user_id."""
    if receive_id.startswith("ou_"):
        return "open_id"
    if receive_id.startswith("on_"):
        return "union_id"
    if receive_id.startswith("oc_"):
        return "chat_id"
    if "@" in receive_id:
        return "email"
    return "user_id"


def check_receiver(receive_id: str, receive_id_type: str | None) -> ReceiveIdType:
    """Validate a receiver and return its id type (inferred when not given)."""
    if not isinstance(receive_id, str) or not receive_id.strip():
        raise ValidationError("receive_id must be a non-empty string", field="receive_id")
    if receive_id != receive_id.strip() or any(c in receive_id for c in "\r\n\t"):
        raise ValidationError(f"receive_id {receive_id!r} contains whitespace", field="receive_id")
    if receive_id_type is None:
        return infer_receive_id_type(receive_id)
    if receive_id_type not in _RECEIVE_ID_TYPES:
        raise ValidationError(
            f"receive_id_type {receive_id_type!r} is not one of {', '.join(_RECEIVE_ID_TYPES)}",
            field="receive_id_type",
        )
    return receive_id_type  # type: ignore[return-value]


def build_message_body(
    receive_id: str, msg_type: str, content: dict[str, Any], *, message_uuid: str | None = None
) -> dict[str, Any]:
    """The ``im/v1/messages`` body, with ``content`` JSON-encoded and its size checked.

    A ``uuid`` is generated here, once per logical send, so every retry reuses it and Feishu
    sends at most one message.
    """
    encoded = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    limit = _LIMITS.get(msg_type)
    size = len(encoded.encode("utf-8"))
    if limit is not None and size > limit:
        raise ValidationError(
            f"{msg_type} content is {size} bytes; Feishu accepts at most {limit // 1024} KB",
            field="content",
            hint="Split the message or send a file instead.",
        )
    return {
        "receive_id": receive_id,
        "msg_type": msg_type,
        "content": encoded,
        "uuid": message_uuid or str(uuid.uuid4()),
    }


def text_content(text: str) -> dict[str, Any]:
    """Validate a text message and return its content object."""
    if not isinstance(text, str):
        raise ValidationError(f"text must be a str, not {type(text).__name__}", field="text")
    if not text.strip():
        raise ValidationError("text must not be empty", field="text")
    return {"text": text}

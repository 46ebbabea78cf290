"""Pure helpers of the messaging domain: receiver inference, validation, request bodies."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, get_args
from urllib.parse import unquote

from .._paths import safe_file_name
from ..cards._schema import card_content
from ..errors import ValidationError
from .models import ReceiveIdType
from .post import Post, post_from_dict

__all__ = [
    "EDITABLE_TYPES",
    "MAX_CARD_BYTES",
    "MAX_POST_BYTES",
    "MAX_TEXT_BYTES",
    "MSG_TYPES",
    "build_edit_body",
    "build_message_body",
    "build_reply_body",
    "check_message_id",
    "check_receiver",
    "check_uuid",
    "content_disposition_filename",
    "content_for",
    "infer_receive_id_type",
    "mention_prefix",
    "post_content",
    "resource_key",
    "resource_of",
    "text_content",
]

MAX_TEXT_BYTES = 150 * 1024
MAX_POST_BYTES = 30 * 1024
MAX_CARD_BYTES = 30 * 1024
_LIMITS = {"text": MAX_TEXT_BYTES, "post": MAX_POST_BYTES, "interactive": MAX_CARD_BYTES}
_RECEIVE_ID_TYPES: tuple[str, ...] = get_args(ReceiveIdType)
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
EDITABLE_TYPES = ("text", "post")
_KEYED = {
    "image": "image_key",
    "file": "file_key",
    "audio": "file_key",
    "media": "file_key",
    "sticker": "file_key",
    "share_chat": "chat_id",
    "share_user": "user_id",
}
_MENTION_ID = re.compile(r"^[A-Za-z0-9_@.+-]+$")


def infer_receive_id_type(receive_id: str) -> ReceiveIdType:
    """Contains ``@`` email, ``ou_`` open_id, ``on_`` union_id, ``oc_`` chat_id, else user_id.

    ``@`` is checked first: Feishu's ids never contain one, while an address such as
    ``ou_li@corp.com`` may start like an id.
    """
    if "@" in receive_id:
        return "email"
    if receive_id.startswith("ou_"):
        return "open_id"
    if receive_id.startswith("on_"):
        return "union_id"
    if receive_id.startswith("oc_"):
        return "chat_id"
    return "user_id"


def check_receiver(receive_id: str, receive_id_type: str | None) -> ReceiveIdType:
    """Validate a receiver and return its id type (inferred when not given)."""
    if not isinstance(receive_id, str) or not receive_id.strip():
        raise ValidationError("receive_id must be a non-empty string", field="receive_id")
    if receive_id != receive_id.strip() or any(c in receive_id for c in " \r\n\t"):
        raise ValidationError(f"receive_id {receive_id!r} contains whitespace", field="receive_id")
    if receive_id_type is None:
        return infer_receive_id_type(receive_id)
    if receive_id_type not in _RECEIVE_ID_TYPES:
        raise ValidationError(
            f"receive_id_type {receive_id_type!r} is not one of {', '.join(_RECEIVE_ID_TYPES)}",
            field="receive_id_type",
        )
    return receive_id_type  # type: ignore[return-value]


def check_message_id(message_id: str) -> str:
    """Validate a message id (``om_…``) used in a path."""
    if not isinstance(message_id, str) or not message_id.strip():
        raise ValidationError("message_id must be a non-empty string", field="message_id")
    if not message_id.startswith("om_") or not re.fullmatch(r"om_[A-Za-z0-9_-]+", message_id):
        raise ValidationError(
            f"message_id {message_id!r} is not a Feishu message id (om_…)",
            field="message_id",
            hint="Use the message_id of a send or reply result, or of a receive event.",
        )
    return message_id


def mention_prefix(mentions: Sequence[str] | Mapping[str, str] | None, at_all: bool) -> str:
    """The ``<at user_id="…">name</at>`` tags that start a text message."""
    if mentions is None:
        pairs: list[tuple[str, str]] = []
    elif isinstance(mentions, Mapping):
        pairs = [(str(k), str(v)) for k, v in mentions.items()]
    elif isinstance(mentions, str):
        raise ValidationError(
            "mentions must be a list of open_ids (or a dict open_id -> name), not a str",
            field="mentions",
        )
    else:
        pairs = [(m, "") for m in mentions]
    tags = []
    for user_id, name in pairs:
        if not isinstance(user_id, str) or not _MENTION_ID.match(user_id):
            raise ValidationError(
                f"mention {user_id!r} is not an open_id / user_id", field="mentions"
            )
        if any(c in name for c in '<>"'):
            raise ValidationError(f'mention name {name!r} contains <, > or "', field="mentions")
        tags.append(f'<at user_id="{user_id}">{name}</at>')
    if at_all:
        tags.append('<at user_id="all"></at>')
    return " ".join(tags) + " " if tags else ""


def text_content(
    text: str,
    *,
    mentions: Sequence[str] | Mapping[str, str] | None = None,
    at_all: bool = False,
) -> dict[str, Any]:
    """Validate a text message and return its content object (mentions first)."""
    if not isinstance(text, str):
        raise ValidationError(f"text must be a str, not {type(text).__name__}", field="text")
    if not text.strip():
        raise ValidationError("text must not be empty", field="text")
    return {"text": mention_prefix(mentions, at_all) + text}


def post_content(post: Post | Mapping[str, Any]) -> dict[str, Any]:
    """The content object of a post: from a :class:`Post` or a ``{"zh_cn": …}`` dict."""
    if isinstance(post, Post):
        return post.to_content()
    return post_from_dict(post)


def content_for(msg_type: str, content: Any) -> dict[str, Any]:
    """The content object for ``msg_type`` from what a caller passes.

    ``text``: a str; ``post``: a Post or dict; ``interactive``: a card; ``image``: an
    image_key; ``file``/``audio``/``media``/``sticker``: a file_key; ``share_chat``: a chat_id;
    ``share_user``: a user's open_id. A dict is taken as the content object itself.
    """
    if msg_type not in MSG_TYPES:
        raise ValidationError(
            f"msg_type {msg_type!r} is not one of {', '.join(MSG_TYPES)}", field="msg_type"
        )
    if msg_type == "text":
        if isinstance(content, Mapping):
            return text_content(content.get("text"))  # type: ignore[arg-type]
        return text_content(content)
    if msg_type == "post":
        return post_content(content)
    if msg_type == "interactive":
        return card_content(content)
    key = _KEYED[msg_type]
    if isinstance(content, Mapping):
        value = content.get(key)
        extra = dict(content)
    else:
        value, extra = content, {key: content}
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"a {msg_type} message needs a non-empty {key} (got {type(value).__name__})",
            field="content",
        )
    return extra


def _encode(content: Mapping[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"))


def _check_size(msg_type: str, body: Mapping[str, Any]) -> None:
    """Feishu's size limit, measured (as the emulator does) on the UTF-8 bytes of the
    JSON-encoded ``content``: text 150 KB, post and card 30 KB."""
    limit = _LIMITS.get(msg_type)
    if limit is None:
        return
    try:
        size = len(str(body["content"]).encode("utf-8"))
    except UnicodeEncodeError:
        raise ValidationError(
            f"the {msg_type} content is not valid Unicode text (it holds a lone surrogate)",
            field="content",
        ) from None
    if size > limit:
        raise ValidationError(
            f"the {msg_type} content is {size:,} bytes; Feishu accepts at most "
            f"{limit // 1024} KB for {msg_type} messages (text 150 KB, post and card 30 KB)",
            field="content",
            hint="Split the message, or send a file instead.",
        )


def build_message_body(
    receive_id: str, msg_type: str, content: dict[str, Any], *, message_uuid: str | None = None
) -> dict[str, Any]:
    """The ``im/v1/messages`` body, with ``content`` JSON-encoded and its size checked.

    A ``uuid`` is generated here, once per logical send, so every retry reuses it and Feishu
    sends at most one message.
    """
    body = {
        "receive_id": receive_id,
        "msg_type": msg_type,
        "content": _encode(content),
        "uuid": message_uuid or str(uuid.uuid4()),
    }
    _check_size(msg_type, body)
    return body


def build_reply_body(
    msg_type: str,
    content: dict[str, Any],
    *,
    reply_in_thread: bool = False,
    message_uuid: str | None = None,
) -> dict[str, Any]:
    """The ``…/reply`` body (a fresh ``uuid`` per logical reply unless given), size-checked."""
    body: dict[str, Any] = {
        "msg_type": msg_type,
        "content": _encode(content),
        "uuid": message_uuid or str(uuid.uuid4()),
    }
    if reply_in_thread:
        body["reply_in_thread"] = True
    _check_size(msg_type, body)
    return body


def check_uuid(value: str | None) -> str | None:
    """A caller's deduplication ``uuid`` for a send or reply: Feishu sends one message per
    uuid within an hour (at most 50 characters). None: one is generated per call."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 50:
        raise ValidationError(
            "uuid must be a non-empty string of at most 50 characters", field="uuid"
        )
    return value


def build_edit_body(msg_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """The body of an edit (``PUT``; text or post) or a card update (``PATCH``)."""
    body = {"msg_type": msg_type, "content": _encode(content)}
    if msg_type == "interactive":
        body = {"content": body["content"]}
    _check_size(msg_type, body)
    return body


def resource_key(value: str, what: str) -> str:
    """Validate an ``image_key`` / ``file_key`` used in a path."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise ValidationError(f"{what} {value!r} is not a Feishu resource key", field=what)
    return value


def resource_of(resource_type: str) -> str:
    """The ``type`` query of a message resource download: ``image`` or ``file``."""
    if resource_type not in ("image", "file"):
        raise ValidationError(
            f"resource_type must be 'image' or 'file' (audio and video are 'file'), "
            f"not {resource_type!r}",
            field="resource_type",
        )
    return resource_type


def content_disposition_filename(value: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header (RFC 6266 ``filename*`` first),
    reduced to a safe base name (:func:`~lark_service._paths.safe_file_name`): the header is
    untrusted input, so ``../../etc/passwd`` becomes ``passwd`` and a NUL byte is dropped."""
    if not value:
        return None
    star = re.search(r"filename\*\s*=\s*([^']*)'[^']*'([^;]+)", value, re.IGNORECASE)
    if star:
        encoding = star.group(1) or "utf-8"
        try:
            name = unquote(star.group(2).strip().strip('"'), encoding=encoding, errors="replace")
        except LookupError:  # a charset Python does not know: read it as UTF-8
            name = unquote(star.group(2).strip().strip('"'), errors="replace")
        return safe_file_name(name)
    plain = re.search(r'filename\s*=\s*("([^"]*)"|[^;]+)', value, re.IGNORECASE)
    if plain:
        name = plain.group(2) if plain.group(2) is not None else plain.group(1)
        return safe_file_name(name.strip())
    return None

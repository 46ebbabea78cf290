"""IM v1 messages: send (``POST /open-apis/im/v1/messages``).

Validation and error codes follow Feishu's send-message page (see ``docs/emulator.md``):
230001 bad parameter (including a bad or unknown ``chat_id`` / ``email`` receiver), 230002 bot
not in the chat, 230025 body over the size limit, 99992351 / 99992352 / 99992353 unknown
open_id / user_id / union_id, 99992361 an open_id that belongs to another app.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .api import Caller, FeishuError, authenticate, ok, read_json
from .state import EmulatorState, Message

__all__ = [
    "CARD_BODY_LIMIT",
    "MSG_TYPES",
    "RECEIVE_ID_TYPES",
    "TEXT_BODY_LIMIT",
    "invalid_param",
    "message_data",
    "routes",
    "validate_content",
]

MESSAGES_PATH = "/open-apis/im/v1/messages"
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
"""Bytes of request body allowed for a text message."""
CARD_BODY_LIMIT = 30 * 1024
"""Bytes of request body allowed for post and interactive messages."""
UUID_MAX_LENGTH = 50

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


def invalid_param(detail: str) -> FeishuError:
    """230001 with Feishu's wording and ``ext=<detail>``."""
    return FeishuError(230001, f"Your request contains an invalid request parameter, ext={detail}")


def validate_content(msg_type: str, content: Any) -> dict[str, Any]:
    """Parse ``content`` (a JSON string holding an object) and check its shape for
    ``msg_type``; :class:`FeishuError` 230001 otherwise."""
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
    if msg_type == "interactive" and not parsed:
        raise invalid_param("card content is empty")
    return parsed


def message_data(message: Message) -> dict[str, Any]:
    """A stored message as Feishu's ``Message`` object."""
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
        "body": {"content": message.content_raw},
        "mentions": [],
    }
    for key in ("root_id", "parent_id", "thread_id"):
        value = getattr(message, key)
        if value:
            data[key] = value
    return data


def _resolve_chat(state: EmulatorState, caller: Caller, id_type: str, receive_id: str) -> str:
    """The chat a message to ``receive_id`` lands in, or the Feishu error for a bad receiver."""
    if id_type == "chat_id":
        chat = state.get_chat(receive_id)
        if chat is None:
            raise invalid_param("invalid receive_id")
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


def routes(state: EmulatorState) -> list[BaseRoute]:
    """IM message endpoints."""

    async def send_message(request: Request) -> Response:
        caller = authenticate(request, state, kinds=("tenant", "user"))
        id_type = request.query_params.get("receive_id_type")
        if id_type not in RECEIVE_ID_TYPES:
            raise invalid_param(
                "receive_id_type is required: one of " + ", ".join(RECEIVE_ID_TYPES)
            )
        raw = await request.body()
        body = await read_json(
            request, code=230001, msg="Your request contains an invalid request parameter"
        )
        receive_id = body.get("receive_id")
        msg_type = body.get("msg_type")
        uuid = body.get("uuid")
        if not isinstance(receive_id, str) or not receive_id:
            raise invalid_param("receive_id is required")
        if msg_type not in MSG_TYPES:
            raise invalid_param("msg_type must be one of " + ", ".join(MSG_TYPES))
        content = validate_content(msg_type, body.get("content"))
        if uuid is not None and (not isinstance(uuid, str) or len(uuid) > UUID_MAX_LENGTH):
            raise invalid_param(f"uuid must be a string of at most {UUID_MAX_LENGTH} characters")
        limit = TEXT_BODY_LIMIT if msg_type == "text" else CARD_BODY_LIMIT
        if msg_type in ("text", "post", "interactive") and len(raw) > limit:
            raise FeishuError(230025, "The message content is too long.")
        with state.lock:
            chat_id = _resolve_chat(state, caller, id_type, receive_id)
            if uuid:
                duplicate = state.find_duplicate(caller.app_id, uuid)
                if duplicate is not None:
                    return ok(message_data(duplicate))
            now_ms = state.clock.now_ms()
            message = state.add_message(
                Message(
                    message_id=state.new_message_id(),
                    app_id=caller.app_id,
                    msg_type=msg_type,
                    content=content,
                    content_raw=body["content"],
                    chat_id=chat_id,
                    create_time=now_ms,
                    update_time=now_ms,
                    receive_id=receive_id,
                    receive_id_type=id_type,
                    uuid=uuid or None,
                    request_id=request.headers.get("x-request-id"),
                    tenant_key=caller.tenant_key,
                )
            )
        return ok(message_data(message))

    return [Route(MESSAGES_PATH, send_message, methods=["POST"])]

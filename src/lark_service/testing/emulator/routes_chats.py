"""IM v1 chats: list, search, get, members (``openapi-reference.md`` §10).

``GET /open-apis/im/v1/chats`` lists the groups the app's bot is in (p2p chats and dissolved
groups excluded); ``GET .../chats/search?query=`` the same, filtered by a case-insensitive
name match; ``GET .../chats/:chat_id`` one chat with ``user_count`` / ``bot_count`` as
strings, like Feishu; ``GET .../chats/:chat_id/members`` its members, paged, with
``member_total``.

Errors: 232006 unknown chat_id, 232009 dissolved chat, 232011 the bot is not in the chat,
232001 bad parameter (``page_size`` 1-100, ``page_token``, id types), 99991672 a withdrawn
scope.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .api import Caller, FeishuError, authenticate, ok
from .routes_contact import page_slice, require_scope
from .state import Chat, EmulatorState

__all__ = ["CHAT_SCOPES", "chat_data", "chat_list_item", "routes"]

PREFIX = "/open-apis/im/v1/chats"
CHAT_SCOPES = {
    "read": ("im:chat:readonly", "im:chat"),
    "members": ("im:chat.members:read", "im:chat:readonly", "im:chat"),
}
"""Scopes each kind of chat call needs (any one of them is enough)."""

_ID_TYPES = ("open_id", "union_id", "user_id")


def _invalid(detail: str) -> FeishuError:
    return FeishuError(232001, f"Your request contains an invalid request parameter, ext={detail}")


def _id_type(request: Request, name: str) -> str:
    value = request.query_params.get(name) or "open_id"
    if value not in _ID_TYPES:
        raise _invalid(f"{name} must be one of {', '.join(_ID_TYPES)}")
    return value


def _member_id(state: EmulatorState, member: str, app_id: str, id_type: str) -> str:
    user = state.get_user(member)
    if user is None:
        return member
    if id_type == "open_id":
        return user.open_id_for(app_id)
    return user.union_id if id_type == "union_id" else user.user_id


def _bot_count(state: EmulatorState, chat: Chat) -> int:
    if chat.bot_app_ids is not None:
        return len(chat.bot_app_ids)
    return max(1, len(state.apps()))


def chat_list_item(state: EmulatorState, chat: Chat, app_id: str, id_type: str) -> dict[str, Any]:
    """A chat as an item of the list and search answers."""
    app = state.get_app(app_id)
    return {
        "chat_id": chat.chat_id,
        "avatar": f"https://emulator.invalid/chat-avatar/{chat.chat_id}",
        "name": chat.name,
        "description": chat.description,
        "owner_id": _member_id(state, chat.owner_id, app_id, id_type) if chat.owner_id else "",
        "owner_id_type": id_type,
        "external": False,
        "tenant_key": app.tenant_key if app else "",
        "labels": [],
        "chat_status": "dissolved" if chat.dissolved else "normal",
    }


def chat_data(state: EmulatorState, chat: Chat, app_id: str, id_type: str) -> dict[str, Any]:
    """A chat as ``GET im/v1/chats/:chat_id`` answers it."""
    item = chat_list_item(state, chat, app_id, id_type)
    del item["chat_id"]
    p2p = chat.chat_type == "p2p"
    item.update(
        {
            "i18n_names": {"zh_cn": chat.name, "en_us": chat.name, "ja_jp": ""},
            "add_member_permission": "all_members",
            "share_card_permission": "allowed",
            "at_all_permission": "all_members",
            "edit_permission": "all_members",
            "user_manager_id_list": [],
            "bot_manager_id_list": [],
            "group_message_type": "chat",
            "chat_mode": "p2p" if p2p else "group",
            "chat_type": str(chat.attrs.get("visibility", "private")),
            "chat_tag": "inner",
            "join_message_visibility": "all_members",
            "leave_message_visibility": "all_members",
            "membership_approval": "no_approval_required",
            "moderation_permission": "all_members",
            "user_count": str(len(chat.members)),
            "bot_count": str(_bot_count(state, chat)),
        }
    )
    return item


def _chat(state: EmulatorState, caller: Caller, chat_id: str) -> Chat:
    chat = state.get_chat(chat_id)
    if chat is None:
        raise FeishuError(232006, "Your request specifies a chat_id which is invalid.")
    if chat.dissolved:
        raise FeishuError(232009, "Your request specifies a chat which has already been dissolved.")
    if not chat.has_bot(caller.app_id):
        raise FeishuError(232011, "Operator can NOT be out of the chat.")
    return chat


def routes(state: EmulatorState) -> list[BaseRoute]:
    """IM chat endpoints."""

    def visible(caller: Caller) -> list[Chat]:
        return [
            c
            for c in state.chats()
            if c.chat_type != "p2p" and not c.dissolved and c.has_bot(caller.app_id)
        ]

    def paged(request: Request, items: list[Any], tag: str) -> tuple[list[Any], dict[str, Any]]:
        return page_slice(
            request,
            items,
            tag=tag,
            default_size=20,
            max_size=100,
            bad_size=_invalid("page_size must be between 1 and 100"),
            bad_token=_invalid("page_token is invalid"),
        )

    async def list_chats(request: Request) -> Response:
        caller = authenticate(request, state, kinds=("tenant", "user"))
        require_scope(state, caller, CHAT_SCOPES["read"])
        id_type = _id_type(request, "user_id_type")
        with state.lock:
            chats = visible(caller)
            if request.query_params.get("sort_type") == "ByActiveTimeDesc":
                chats.reverse()
            chunk, paging = paged(request, chats, "chats")
            items = [chat_list_item(state, c, caller.app_id, id_type) for c in chunk]
        return ok({"items": items, **paging})

    async def search_chats(request: Request) -> Response:
        caller = authenticate(request, state, kinds=("tenant", "user"))
        require_scope(state, caller, CHAT_SCOPES["read"])
        id_type = _id_type(request, "user_id_type")
        query = (request.query_params.get("query") or "").strip().casefold()
        with state.lock:
            chats = [c for c in visible(caller) if query in c.name.casefold()]
            chunk, paging = paged(request, chats, "search:" + query)
            items = [chat_list_item(state, c, caller.app_id, id_type) for c in chunk]
        return ok({"items": items, **paging})

    async def get_chat(request: Request) -> Response:
        caller = authenticate(request, state, kinds=("tenant", "user"))
        require_scope(state, caller, CHAT_SCOPES["read"])
        id_type = _id_type(request, "user_id_type")
        with state.lock:
            chat = _chat(state, caller, request.path_params["chat_id"])
            data = chat_data(state, chat, caller.app_id, id_type)
        return ok(data)

    async def members(request: Request) -> Response:
        caller = authenticate(request, state, kinds=("tenant", "user"))
        require_scope(state, caller, CHAT_SCOPES["members"])
        id_type = _id_type(request, "member_id_type")
        with state.lock:
            chat = _chat(state, caller, request.path_params["chat_id"])
            chunk, paging = paged(request, chat.members, "members:" + chat.chat_id)
            app = state.get_app(caller.app_id)
            items = []
            for member in chunk:
                user = state.get_user(member)
                items.append(
                    {
                        "member_id_type": id_type,
                        "member_id": _member_id(state, member, caller.app_id, id_type),
                        "name": user.name if user else member,
                        "tenant_key": app.tenant_key if app else "",
                    }
                )
        return ok({"items": items, "member_total": len(chat.members), **paging})

    return [
        Route(PREFIX, list_chats, methods=["GET"]),
        Route(PREFIX + "/search", search_chats, methods=["GET"]),
        Route(PREFIX + "/{chat_id}/members", members, methods=["GET"]),
        Route(PREFIX + "/{chat_id}", get_chat, methods=["GET"]),
    ]

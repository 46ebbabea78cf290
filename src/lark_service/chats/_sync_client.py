# Generated from src/lark_service/chats/_async_client.py by scripts/unasync.py: edit that file instead.
"""``client.chats``: find and read group chats (``im/v1/chats``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import errors
from .._sync_pipeline import Pipeline
from .._http import ApiResponse
from ..contact._errors import chat_error
from ..contact._ids import check_id, path_part
from ._match import pick_by_name
from .models import Chat, ChatMember

__all__ = ["ChatsClient"]

_CHATS = "/open-apis/im/v1/chats"
_PAGE_SIZE = 100
_ID_TYPES = ("open_id", "union_id", "user_id")


class ChatsClient:
    """Group chats the app's bot is in: list, search, find by name, read, members."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def get_chat(self, chat_id: str, *, app_id: str | None = None) -> Chat:
        """One chat: name, owner, member count, description.

        ``GET /open-apis/im/v1/chats/:chat_id``. Raises NotFoundError (unknown or dissolved
        chat), PermissionDeniedError (the bot is not in the chat; missing scope).
        """
        value = check_id(chat_id, "chat_id")
        response = self._call(
            "GET", f"{_CHATS}/{path_part(value)}", app_id, value, {"user_id_type": "open_id"}
        )
        return Chat.from_response(response, {**response.data, "chat_id": value})

    def list_chats(self, *, app_id: str | None = None) -> list[Chat]:
        """Every group the app's bot is in (all pages; dissolved groups are not listed).

        ``GET /open-apis/im/v1/chats``. Raises PermissionDeniedError (missing scope).
        """
        return self._pages(_CHATS, {}, app_id)

    def search_chats(self, query: str, *, app_id: str | None = None) -> list[Chat]:
        """Groups visible to the app whose name matches ``query`` (all pages).

        ``GET /open-apis/im/v1/chats/search``. Raises ValidationError (empty query),
        PermissionDeniedError.
        """
        text = check_id(query, "query")
        return self._pages(f"{_CHATS}/search", {"query": text}, app_id)

    def get_chat_by_name(self, name: str, *, app_id: str | None = None) -> Chat:
        """The chat called ``name`` (an exact match preferred over a partial one), read in
        full with :meth:`get_chat`.

        ``GET /open-apis/im/v1/chats/search`` then ``GET .../chats/:chat_id``. Raises
        NotFoundError (no match), AmbiguousChatNameError (a ValidationError listing the
        candidates: several exact matches, or several partial ones and no exact one).
        """
        text = check_id(name, "name")
        found = pick_by_name(text, self.search_chats(text, app_id=app_id))
        if found is None:
            raise errors.NotFoundError(
                f"no chat named {text!r} is visible to the app",
                hint="The app's bot must be in the chat; list them with client.chats.list_chats().",
            )
        return self.get_chat(found.chat_id, app_id=app_id)

    def get_chat_members(
        self, chat_id: str, *, member_id_type: str = "open_id", app_id: str | None = None
    ) -> list[ChatMember]:
        """Every member of a chat (all pages), ids of ``member_id_type``.

        ``GET /open-apis/im/v1/chats/:chat_id/members``. Raises ValidationError (bad id type),
        NotFoundError (unknown or dissolved chat), PermissionDeniedError.
        """
        value = check_id(chat_id, "chat_id")
        if member_id_type not in _ID_TYPES:
            raise errors.ValidationError(
                f"member_id_type must be one of {', '.join(_ID_TYPES)}, not {member_id_type!r}",
                field="member_id_type",
            )
        members: list[ChatMember] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"member_id_type": member_id_type, "page_size": _PAGE_SIZE}
            if token:
                params["page_token"] = token
            response = self._call(
                "GET", f"{_CHATS}/{path_part(value)}/members", app_id, value, params
            )
            members.extend(
                ChatMember.from_response(response, item)
                for item in response.data.get("items") or []
            )
            token = _next_page(response)
            if token is None:
                return members

    # -- internals ----------------------------------------------------------------------------

    def _pages(self, path: str, params: Mapping[str, Any], app_id: str | None) -> list[Chat]:
        chats: list[Chat] = []
        token: str | None = None
        while True:
            query = {**params, "user_id_type": "open_id", "page_size": _PAGE_SIZE}
            if token:
                query["page_token"] = token
            response = self._call("GET", path, app_id, None, query)
            chats.extend(
                Chat.from_response(response, item) for item in response.data.get("items") or []
            )
            token = _next_page(response)
            if token is None:
                return chats

    def _call(
        self,
        method: str,
        path: str,
        app_id: str | None,
        chat_id: str | None,
        params: Mapping[str, Any],
    ) -> ApiResponse:
        app = (self._pipeline.resolve_app(app_id)).app_id
        try:
            return self._pipeline.request(method, path, app_id=app, params=params)
        except errors.APIError as exc:
            specific = chat_error(exc, app_id=app, chat_id=chat_id)
            if specific is exc:
                raise
            raise specific from exc


def _next_page(response: ApiResponse) -> str | None:
    token = response.data.get("page_token")
    if response.data.get("has_more") and isinstance(token, str) and token:
        return token
    return None

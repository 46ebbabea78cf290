"""``client.chats``: find and read group chats (``im/v1/chats``)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from .. import errors
from .._async_pagination import AsyncPager
from .._async_resource import AsyncResource
from .._http import ApiResponse
from .._options import RequestOptions
from .._paths import api_path
from ..contact._errors import chat_error
from ..contact._ids import check_id
from ._match import pick_by_name
from .models import Chat, ChatMember

__all__ = ["AsyncChatsClient"]

_CHATS = "/open-apis/im/v1/chats"
_PAGE_SIZE = 100
"""The largest ``page_size`` the chat list endpoints accept."""
_ID_TYPES = ("open_id", "union_id", "user_id")


class AsyncChatsClient(AsyncResource):
    """Group chats the app's bot is in: list, search, find by name, read, members."""

    async def get_chat(self, chat_id: str, *, app_id: str | None = None) -> Chat:
        """One chat: name, owner, member count, description.

        ``GET /open-apis/im/v1/chats/:chat_id``. Raises NotFoundError (unknown or dissolved
        chat), PermissionDeniedError (the bot is not in the chat; missing scope).
        """
        value = check_id(chat_id, "chat_id")
        response = await self._request(
            "GET",
            api_path(_CHATS + "/{chat_id}", chat_id=value),
            options=self._chat_opts(app_id, value),
            params={"user_id_type": "open_id"},
        )
        return Chat.from_response(response, {**response.data, "chat_id": value})

    def list_chats(self, *, app_id: str | None = None) -> AsyncPager[Chat]:
        """Every group the app's bot is in, as a lazy pager (dissolved groups are not listed):
        iterate it, or ``.first(n)`` / ``.to_list()``.

        ``GET /open-apis/im/v1/chats`` (100 per page). Raises PermissionDeniedError (missing
        scope) when iterated.
        """
        return self._chat_pages(_CHATS, {}, app_id)

    def search_chats(self, query: str, *, app_id: str | None = None) -> AsyncPager[Chat]:
        """Groups visible to the app whose name matches ``query``, as a lazy pager.

        ``GET /open-apis/im/v1/chats/search``. Raises ValidationError (empty query) at once,
        PermissionDeniedError when iterated.
        """
        text = check_id(query, "query")
        return self._chat_pages(f"{_CHATS}/search", {"query": text}, app_id)

    async def get_chat_by_name(self, name: str, *, app_id: str | None = None) -> Chat:
        """The chat called ``name`` (an exact match preferred over a partial one), read in
        full with :meth:`get_chat`.

        ``GET /open-apis/im/v1/chats/search`` then ``GET .../chats/:chat_id``. Raises
        NotFoundError (no match), AmbiguousChatNameError (a ValidationError listing the
        candidates: several exact matches, or several partial ones and no exact one).
        """
        text = check_id(name, "name")
        found = pick_by_name(text, await self.search_chats(text, app_id=app_id).to_list())
        if found is None:
            raise errors.NotFoundError(
                f"no chat named {text!r} is visible to the app",
                hint="The app's bot must be in the chat; list the chats it is in to check.",
            )
        return await self.get_chat(found.chat_id, app_id=app_id)

    async def get_chat_members(
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
        pager = self._paginate(
            api_path(_CHATS + "/{chat_id}/members", chat_id=value),
            ChatMember.from_response,
            options=self._chat_opts(app_id, value),
            params={"member_id_type": member_id_type},
            page_size=_PAGE_SIZE,
        )
        return await pager.to_list()

    # -- internals ----------------------------------------------------------------------------

    def _chat_pages(
        self, path: str, params: Mapping[str, Any], app_id: str | None
    ) -> AsyncPager[Chat]:
        return self._paginate(
            path,
            _chat,
            options=self._chat_opts(app_id, None),
            params={**params, "user_id_type": "open_id"},
            page_size=_PAGE_SIZE,
        )

    def _chat_opts(self, app_id: str | None, chat_id: str | None) -> RequestOptions:
        return self._opts(
            app_id=app_id,
            error_context=functools.partial(_in_context, chat_id=chat_id),
        )


def _chat(response: ApiResponse, item: dict[str, Any]) -> Chat:
    return Chat.from_response(response, item)


def _in_context(exc: errors.LarkError, app_id: str, *, chat_id: str | None) -> errors.LarkError:
    if not isinstance(exc, errors.APIError):
        return exc
    return chat_error(exc, app_id=app_id, chat_id=chat_id)

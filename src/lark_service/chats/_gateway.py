"""Gateway operations of ``client.chats``: find a chat by name, read one, list them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..gateway import GatewayQuery, expose

__all__ = ["OPERATIONS"]


class ChatsQuery(GatewayQuery):
    name: str | None = Field(
        default=None, min_length=1, max_length=255, description="A chat's name (exact first)."
    )
    limit: int = Field(default=100, ge=1, le=1000, description="Without name: at most this many.")


class MembersQuery(GatewayQuery):
    member_id_type: Literal["open_id", "union_id", "user_id"] = "open_id"


async def chats(
    client: Any, *, name: str | None = None, limit: int = 100, app_id: str | None = None
) -> Any:
    if name is not None:
        return await client.get_chat_by_name(name, app_id=app_id)
    return await client.list_chats(app_id=app_id).first(limit)


_READ = ["chats:read"]

OPERATIONS = [
    expose("GET", "/chats", chats, scopes=_READ, query=ChatsQuery,
           summary="The chat called name, or the chats the bot is in"),
    expose("GET", "/chats/{chat_id}", "get_chat", scopes=_READ, summary="One chat"),
    expose("GET", "/chats/{chat_id}/members", "get_chat_members", scopes=_READ,
           query=MembersQuery, summary="Every member of a chat"),
]  # fmt: skip

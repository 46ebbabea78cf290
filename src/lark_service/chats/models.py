"""Chat results: ``Chat`` and ``ChatMember`` (pydantic v2; unknown Feishu fields are kept)."""

from __future__ import annotations

from pydantic import computed_field, field_validator

from ..models import LarkModel

__all__ = ["Chat", "ChatMember"]


class Chat(LarkModel):
    """A group chat. ``get_chat`` fills every field; list and search answers lack the counts.

    ``member_count`` is Feishu's ``user_count`` (people, bots not included), as an int.
    """

    chat_id: str
    name: str | None = None
    description: str | None = None
    owner_id: str | None = None
    owner_id_type: str | None = None
    avatar: str | None = None
    external: bool | None = None
    tenant_key: str | None = None
    chat_mode: str | None = None
    chat_type: str | None = None
    chat_status: str | None = None
    labels: list[str] | None = None
    user_count: int | None = None
    bot_count: int | None = None

    @field_validator("user_count", "bot_count", mode="before")
    @classmethod
    def _count(cls, value: object) -> object:
        """Feishu sends the counts as strings."""
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return None
        return value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def member_count(self) -> int | None:
        """How many people are in the chat (``user_count``), when known."""
        return self.user_count


class ChatMember(LarkModel):
    """One member of a chat: its id (of ``member_id_type``) and name."""

    member_id: str
    member_id_type: str | None = None
    name: str | None = None
    tenant_key: str | None = None

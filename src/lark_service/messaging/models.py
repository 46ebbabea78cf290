"""Result models of the messaging domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from ..models import LarkModel, ms_to_datetime

__all__ = ["Message", "MessageSender", "ReceiveIdType"]

ReceiveIdType = Literal["open_id", "union_id", "user_id", "email", "chat_id"]


class MessageSender(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    id_type: str | None = None
    sender_type: str | None = None
    tenant_key: str | None = None


class Message(LarkModel):
    """A message as Feishu stored it (``im/v1/messages`` answers)."""

    message_id: str
    chat_id: str | None = None
    msg_type: str | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None
    root_id: str | None = None
    parent_id: str | None = None
    thread_id: str | None = None
    deleted: bool = False
    updated: bool = False
    sender: MessageSender | None = None
    body: dict[str, Any] | None = None
    mentions: list[dict[str, Any]] | None = None

    _ms = field_validator("create_time", "update_time", mode="before")(
        lambda cls, v: ms_to_datetime(v)
    )

    @property
    def content(self) -> str | None:
        """The message content as Feishu returned it (a JSON string)."""
        return None if self.body is None else self.body.get("content")

"""Result models of the messaging domain."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from .._paths import file_inside
from ..errors import LarkError, ValidationError
from ..models import ItemResults, LarkModel, ms_to_datetime

__all__ = [
    "BatchItem",
    "BatchResult",
    "FileAsset",
    "FileType",
    "ImageAsset",
    "ImageFormat",
    "Message",
    "MessageReceipt",
    "MessageResource",
    "MessageSender",
    "ReceiveIdType",
]

ReceiveIdType = Literal["open_id", "union_id", "user_id", "email", "chat_id"]
FileType = Literal["opus", "mp4", "pdf", "doc", "xls", "ppt", "stream"]
ImageFormat = Literal["jpeg", "png", "webp", "gif", "tiff", "bmp", "ico"]


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


class MessageReceipt(LarkModel):
    """The answer to an operation that returns no message (card update, recall)."""

    message_id: str


class ImageAsset(LarkModel):
    """An uploaded image: ``image_key`` goes into image messages, posts and cards."""

    image_key: str
    image_format: ImageFormat | None = None
    size: int | None = None
    """Bytes uploaded."""


class FileAsset(LarkModel):
    """An uploaded file: ``file_key`` goes into file, audio and media messages."""

    file_key: str
    file_type: FileType | None = None
    file_name: str | None = None
    size: int | None = None
    """Bytes uploaded."""


class MessageResource(LarkModel):
    """A downloaded image, file or message resource (the bytes and what Feishu said of them)."""

    content: bytes
    file_name: str | None = None
    content_type: str | None = None

    @property
    def size(self) -> int:
        """Bytes downloaded."""
        return len(self.content)

    def save(
        self,
        directory: str | os.PathLike[str],
        *,
        file_name: str | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Write the bytes into ``directory`` as ``file_name`` (default: Feishu's name, made
        safe; else ``download``); returns the path.

        Refuses (ValidationError) a name that would land outside ``directory``, and an
        existing file unless ``overwrite=True``.
        """
        target = file_inside(directory, file_name or self.file_name or "download")
        if target.exists() and not overwrite:
            raise ValidationError(
                f"{target} exists; pass overwrite=True to replace it", field="file_name"
            )
        target.write_bytes(self.content)
        return target


@dataclass(frozen=True)
class BatchItem:
    """One receiver of :meth:`send_batch`: sent (``message``) or not (``error``)."""

    receive_id: str
    receive_id_type: str | None
    message: Message | None = None
    error: LarkError | None = None

    @property
    def ok(self) -> bool:
        """Whether the message was sent."""
        return self.error is None and self.message is not None

    @property
    def message_id(self) -> str | None:
        """The sent message's id (None when it failed)."""
        return self.message.message_id if self.message is not None else None


@dataclass(frozen=True)
class BatchResult(ItemResults[BatchItem]):
    """Per-receiver results of :meth:`send_batch`, in the order the receivers were given."""

    items: list[BatchItem] = field(default_factory=list)

    def __getitem__(self, receive_id: str) -> BatchItem:
        for item in self.items:
            if item.receive_id == receive_id:
                return item
        raise KeyError(receive_id)

    @property
    def message_ids(self) -> dict[str, str]:
        """``receive_id -> message_id`` of the messages sent."""
        return {i.receive_id: i.message.message_id for i in self.items if i.message is not None}

    def raise_for_errors(self) -> None:
        """Raise the first receiver's error, if any failed (for callers wanting all-or-error)."""
        for item in self.items:
            if item.error is not None:
                raise item.error

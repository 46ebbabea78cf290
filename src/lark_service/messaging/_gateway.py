"""Gateway operations of ``client.messaging`` (see :mod:`lark_service.gateway`).

Content never names a local file: media messages take an ``image_key`` / ``file_key`` (upload
first with ``POST /images`` or ``/files``), so a caller cannot make the server read its disk.
Sends and replies carry the ``Idempotency-Key`` as Feishu's ``uuid``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .. import errors
from ..gateway import GatewayBody, examples, expose

__all__ = ["OPERATIONS"]

MsgType = Literal[
    "text", "post", "image", "file", "audio", "media", "sticker", "interactive",
    "share_chat", "share_user",
]  # fmt: skip
ReceiveIdType = Literal["open_id", "union_id", "user_id", "email", "chat_id"]
_MEDIA = {"image", "file", "audio", "media", "sticker"}
_MAX_ID = 256


def _no_local_files(msg_type: str, content: Any) -> None:
    if msg_type in _MEDIA and not isinstance(content, dict):
        raise ValueError(
            f"a {msg_type} message takes an object such as "
            '{"image_key": "img_..."} or {"file_key": "file_..."}; upload with POST /images '
            "or POST /files first"
        )


class SendMessageBody(GatewayBody):
    """One message, any type."""

    model_config = examples(
        {"receive_id": "ou_7d8a6e6df7621556ce0d21922b676706", "content": "Build passed"},
        {
            "receive_id": "oc_5ad11d72b830411d72b836c20",
            "msg_type": "post",
            "content": {
                "zh_cn": {
                    "title": "Deploy",
                    "content": [[{"tag": "text", "text": "v2.3 is live"}]],
                }
            },
        },
    )

    receive_id: str = Field(
        min_length=1, max_length=_MAX_ID, description="ou_, on_, oc_, an email or a user_id."
    )
    content: str | dict[str, Any] = Field(
        description="Text (a string) or the message type's content object."
    )
    msg_type: MsgType = "text"
    receive_id_type: ReceiveIdType | None = Field(
        default=None, description="Inferred when omitted."
    )

    @model_validator(mode="after")
    def _media_is_a_key(self) -> SendMessageBody:
        _no_local_files(self.msg_type, self.content)
        return self


class BatchBody(GatewayBody):
    """One message to many receivers: per-receiver results, never all-or-nothing."""

    model_config = examples(
        {"receive_ids": ["alice@example.com", "bob@example.com"], "content": "Standup in 5"}
    )

    receive_ids: list[str] = Field(min_length=1, max_length=1000)
    content: str | dict[str, Any]
    msg_type: MsgType = "text"
    receive_id_type: ReceiveIdType | None = None
    concurrency: int = Field(default=10, ge=1, le=50)

    @field_validator("receive_ids")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        if any(not v or len(v) > _MAX_ID for v in value):
            raise ValueError(f"every receive_id is 1 to {_MAX_ID} characters")
        return value

    @model_validator(mode="after")
    def _media_is_a_key(self) -> BatchBody:
        _no_local_files(self.msg_type, self.content)
        return self


class ReplyBody(GatewayBody):
    model_config = examples({"content": "On it", "reply_in_thread": True})

    content: str | dict[str, Any]
    msg_type: MsgType = "text"
    reply_in_thread: bool = False

    @model_validator(mode="after")
    def _media_is_a_key(self) -> ReplyBody:
        _no_local_files(self.msg_type, self.content)
        return self


class EditBody(GatewayBody):
    model_config = examples({"text": "Build passed (edited)"})

    text: str | dict[str, Any] = Field(description="New text, or a post object for rich text.")


class UpdateCardBody(GatewayBody):
    model_config = examples(
        {
            "card": {
                "config": {"update_multi": True},
                "elements": [{"tag": "markdown", "content": "**Approved**"}],
            }
        }
    )

    card: dict[str, Any]


class ImageForm(GatewayBody):
    image_type: Literal["message", "avatar"] = "message"


class FileForm(GatewayBody):
    file_name: str | None = Field(default=None, min_length=1, max_length=255)
    file_type: Literal["opus", "mp4", "pdf", "doc", "xls", "ppt", "stream"] | None = None
    duration_ms: int | None = Field(default=None, ge=0)


async def send_message(
    messaging: Any,
    *,
    receive_id: str,
    content: Any,
    msg_type: str = "text",
    receive_id_type: Any = None,
    message_uuid: str | None = None,
    app_id: str | None = None,
) -> Any:
    """``send_message`` with the caller's Idempotency-Key as Feishu's ``uuid``."""
    return await messaging.send_message(
        receive_id,
        content,
        msg_type=msg_type,
        receive_id_type=receive_id_type,
        uuid=message_uuid,
        app_id=app_id,
    )


async def reply_message(
    messaging: Any,
    *,
    message_id: str,
    content: Any,
    msg_type: str = "text",
    reply_in_thread: bool = False,
    message_uuid: str | None = None,
    app_id: str | None = None,
) -> Any:
    """``reply_message`` with the caller's Idempotency-Key as Feishu's ``uuid``."""
    return await messaging.reply_message(
        message_id,
        content,
        msg_type=msg_type,
        reply_in_thread=reply_in_thread,
        uuid=message_uuid,
        app_id=app_id,
    )


async def upload_file(
    messaging: Any,
    *,
    file: bytes,
    file_name: str | None = None,
    file_type: str | None = None,
    duration_ms: int | None = None,
    app_id: str | None = None,
) -> Any:
    if not file:
        raise errors.ValidationError("the file is empty", field="file")
    return await messaging.upload_file(
        file, file_name=file_name, file_type=file_type, duration_ms=duration_ms, app_id=app_id
    )


_SEND = ["messages:send"]
_WRITE = ["messages:write"]

OPERATIONS = [
    expose("POST", "/messages", send_message, scopes=_SEND, body=SendMessageBody,
           uuid_argument="message_uuid", summary="Send a message of any type",
           description="`POST /open-apis/im/v1/messages`. Text is a string; other types take "
           "their content object (media by image_key/file_key). Idempotency-Key is also "
           "Feishu's uuid: a repeat within 1 h is not delivered twice."),
    expose("POST", "/messages/batch", "send_batch", scopes=_SEND, body=BatchBody,
           summary="Send one message to many receivers (per-receiver results)",
           description="Paced under Feishu's 50/s per app and 5/s per receiver; a failing "
           "receiver fails only its own item."),
    expose("POST", "/messages/{message_id}/reply", reply_message, scopes=_SEND,
           body=ReplyBody, uuid_argument="message_uuid", summary="Reply to a message"),
    expose("PUT", "/messages/{message_id}", "edit_message", scopes=_WRITE, body=EditBody,
           summary="Edit a text or rich text message (at most 20 edits)"),
    expose("PATCH", "/messages/{message_id}/card", "update_card", scopes=_WRITE,
           body=UpdateCardBody, summary="Replace a sent shared card for everyone"),
    expose("DELETE", "/messages/{message_id}", "recall_message", scopes=_WRITE,
           summary="Recall a message this app sent"),
    expose("GET", "/messages/{message_id}", "get_message", scopes=["messages:read"],
           summary="Read a message"),
    expose("POST", "/images", "upload_image", scopes=["messages:upload"], body=ImageForm,
           upload="image", summary="Upload an image (multipart field 'file'; at most 10 MB)"),
    expose("POST", "/files", upload_file, scopes=["messages:upload"], body=FileForm,
           upload="file", summary="Upload a file (multipart field 'file'; at most 30 MB)"),
]  # fmt: skip

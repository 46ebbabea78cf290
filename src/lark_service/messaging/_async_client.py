"""``client.messaging``: sending and managing IM messages."""

from __future__ import annotations

from .._async_pipeline import AsyncPipeline
from ._build import build_message_body, check_receiver, text_content
from .models import Message, ReceiveIdType

__all__ = ["AsyncMessagingClient"]

_MESSAGES = "/open-apis/im/v1/messages"


class AsyncMessagingClient:
    """Messages: send, reply, edit, recall (``im/v1/messages``)."""

    def __init__(self, pipeline: AsyncPipeline) -> None:
        self._pipeline = pipeline

    async def send_text_message(
        self,
        receive_id: str,
        text: str,
        *,
        receive_id_type: ReceiveIdType | None = None,
        app_id: str | None = None,
    ) -> Message:
        """Send a text message to a user, chat or email.

        ``POST /open-apis/im/v1/messages``. Raises ValidationError (empty id or text, text over
        150 KB) before sending; NotFoundError / InvalidParameterError for unknown receivers,
        PermissionDeniedError when the bot is not in the chat.
        """
        id_type = check_receiver(receive_id, receive_id_type)
        body = build_message_body(receive_id, "text", text_content(text))
        response = await self._pipeline.request(
            "POST",
            _MESSAGES,
            params={"receive_id_type": id_type},
            json=body,
            app_id=app_id,
        )
        return Message.from_response(response)

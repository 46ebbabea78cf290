"""Messaging: text, rich text, images, files, cards, batches and the message lifecycle."""

from ._async_client import AsyncMessagingClient
from ._build import infer_receive_id_type
from ._sync_client import MessagingClient
from .models import Message, MessageSender, ReceiveIdType

__all__ = [
    "AsyncMessagingClient",
    "Message",
    "MessageSender",
    "MessagingClient",
    "ReceiveIdType",
    "infer_receive_id_type",
]

"""Chats: find group chats by name, read them and their members (``client.chats``).

See ``docs/contact.md``.
"""

from ._async_client import AsyncChatsClient
from ._match import AmbiguousChatNameError, pick_by_name
from ._sync_client import ChatsClient
from .models import Chat, ChatMember

__all__ = [
    "AmbiguousChatNameError",
    "AsyncChatsClient",
    "Chat",
    "ChatMember",
    "ChatsClient",
    "pick_by_name",
]

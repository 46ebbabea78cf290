from ..domains import Domain

DOMAIN = Domain(
    "chats",
    async_client="lark_service.chats._async_client:AsyncChatsClient",
    sync_client="lark_service.chats._sync_client:ChatsClient",
    summary="Group chats: find by name, read, list, members.",
)

from ..domains import Domain

DOMAIN = Domain(
    "messaging",
    async_client="lark_service.messaging._async_client:AsyncMessagingClient",
    sync_client="lark_service.messaging._sync_client:MessagingClient",
    summary="Messages: send, upload, reply, edit, update, recall, read (im/v1).",
)

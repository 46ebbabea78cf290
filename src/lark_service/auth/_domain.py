from ..domains import Domain

DOMAIN = Domain(
    "auth",
    async_client="lark_service.auth._async_client:AsyncAuthClient",
    sync_client="lark_service.auth._sync_client:AuthClient",
    summary="User OAuth: consent links and cards, the device flow, user tokens.",
)

from ..domains import Domain

DOMAIN = Domain(
    "contact",
    async_client="lark_service.contact._async_client:AsyncContactClient",
    sync_client="lark_service.contact._sync_client:ContactClient",
    summary="Users and departments, with the per-app user cache.",
)

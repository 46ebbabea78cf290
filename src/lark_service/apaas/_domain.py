from ..domains import Domain

DOMAIN = Domain(
    "apaas",
    async_client="lark_service.apaas._async_client:AsyncApaasClient",
    sync_client="lark_service.apaas._sync_client:ApaasClient",
    summary="aPaaS: workspace tables and records (as a user), functions and flows.",
)

from ..domains import Domain
from ._errors import register

register()

DOMAIN = Domain(
    "bitable",
    async_client="lark_service.bitable._async_client:AsyncBitableClient",
    sync_client="lark_service.bitable._sync_client:BitableClient",
    summary="Bitable (Base): typed records, filters, paging, bulk writes at Feishu's limit.",
)

from ..domains import Domain
from ._errors import register

register()

DOMAIN = Domain(
    "sheets",
    async_client="lark_service.sheets._async_client:AsyncSheetsClient",
    sync_client="lark_service.sheets._sync_client:SheetsClient",
    summary="Sheets: spreadsheets, values in chunks under Feishu's limits, styles, merges, "
    "dimensions, frozen panes, sheet operations.",
)

"""Sheets: spreadsheets, sheets, cell values, styles, merges, dimensions, frozen panes
(``client.sheets``). See ``docs/sheets.md``."""

from ._async_client import AsyncSheetsClient
from ._sync_client import SheetsClient
from .models import (
    FilterCondition,
    FilterInfo,
    FilterView,
    FilterViewCondition,
    FindResult,
    FloatImage,
    GridProperties,
    MergeRange,
    Sheet,
    SheetFilter,
    Spreadsheet,
    ValueRange,
    WriteResult,
)
from .ranges import (
    SheetRange,
    cell_name,
    check_values,
    column_letter,
    column_number,
    from_serial,
    parse_cell,
    parse_range,
    resolve_sheet,
    to_serial,
)
from .style import build_style

__all__ = [
    "AsyncSheetsClient",
    "FilterCondition",
    "FilterInfo",
    "FilterView",
    "FilterViewCondition",
    "FindResult",
    "FloatImage",
    "GridProperties",
    "MergeRange",
    "Sheet",
    "SheetFilter",
    "SheetRange",
    "SheetsClient",
    "Spreadsheet",
    "ValueRange",
    "WriteResult",
    "build_style",
    "cell_name",
    "check_values",
    "column_letter",
    "column_number",
    "from_serial",
    "parse_cell",
    "parse_range",
    "resolve_sheet",
    "to_serial",
]

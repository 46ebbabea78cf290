"""Sheets results (pydantic v2; unknown Feishu fields are kept).

v3 answers (``Spreadsheet``, ``Sheet``) use snake_case like the official SDK's models; v2
answers use camelCase, accepted here under their Python names too.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from ..models import LarkModel

__all__ = [
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
    "Spreadsheet",
    "ValueRange",
    "WriteResult",
]


def _alias(snake: str, camel: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(snake, camel))


class Spreadsheet(LarkModel):
    """A spreadsheet. ``create_spreadsheet`` fills ``folder_token``; ``get_spreadsheet`` fills
    ``owner_id`` (Feishu calls the token ``token`` there; it lands in ``spreadsheet_token``)."""

    spreadsheet_token: str = Field(validation_alias=AliasChoices("spreadsheet_token", "token"))
    title: str | None = None
    folder_token: str | None = None
    url: str | None = None
    owner_id: str | None = None


class GridProperties(BaseModel):
    """A sheet's size and frozen panes."""

    model_config = ConfigDict(extra="allow")

    frozen_row_count: int = 0
    frozen_column_count: int = 0
    row_count: int = 0
    column_count: int = 0


class MergeRange(BaseModel):
    """A merged block, 0-based and inclusive as Feishu's v3 answers give it."""

    model_config = ConfigDict(extra="allow")

    start_row_index: int
    end_row_index: int
    start_column_index: int
    end_column_index: int


class Sheet(LarkModel):
    """One sheet (tab) of a spreadsheet: id, title, position, size, frozen panes, merges."""

    sheet_id: str = Field(validation_alias=AliasChoices("sheet_id", "sheetId"))
    title: str | None = None
    index: int | None = None
    hidden: bool | None = None
    grid_properties: GridProperties | None = None
    resource_type: str | None = None
    merges: list[MergeRange] | None = None


class ValueRange(LarkModel):
    """Values read from a range: ``values`` is a list of rows (``range`` is what Feishu read,
    trimmed to the data)."""

    range: str
    values: list[list[Any]] = Field(default_factory=list)
    revision: int | None = None
    major_dimension: str | None = _alias("major_dimension", "majorDimension")


class WriteResult(LarkModel):
    """What a write changed. A write cut into several calls sums its calls' counts;
    ``updated_range`` is the whole range written and ``calls`` how many calls it took."""

    spreadsheet_token: str | None = _alias("spreadsheet_token", "spreadsheetToken")
    updated_range: str | None = _alias("updated_range", "updatedRange")
    updated_rows: int = Field(
        default=0, validation_alias=AliasChoices("updated_rows", "updatedRows")
    )
    updated_columns: int = Field(
        default=0, validation_alias=AliasChoices("updated_columns", "updatedColumns")
    )
    updated_cells: int = Field(
        default=0, validation_alias=AliasChoices("updated_cells", "updatedCells")
    )
    revision: int | None = None
    calls: int = 1


class FindResult(LarkModel):
    """Cells found (or replaced) by ``find`` / ``replace``: cell names such as ``"A1"``;
    formula cells apart; ``rows_count`` rows hold a match."""

    matched_cells: list[str] = Field(default_factory=list)
    matched_formula_cells: list[str] = Field(default_factory=list)
    rows_count: int = 0


class FilterCondition(BaseModel):
    """One filter condition (v3): ``filter_type`` ``hiddenValue`` (``expected`` are the
    values hidden), ``number``, ``text`` or ``color``; ``compare_type`` such as ``greater``,
    ``between``, ``contains``, ``backColor``; ``expected`` the values compared with (strings).
    """

    model_config = ConfigDict(extra="allow")

    filter_type: str
    compare_type: str | None = None
    expected: list[str] = Field(default_factory=list)


class FilterInfo(BaseModel):
    """The conditions on one column (``col``, a letter) of a sheet's filter."""

    model_config = ConfigDict(extra="allow")

    col: str
    conditions: list[FilterCondition] = Field(default_factory=list)


class SheetFilter(LarkModel):
    """A sheet's filter: its range, the rows it hides and its conditions per column."""

    range: str
    filtered_out_rows: list[int] = Field(default_factory=list)
    filter_infos: list[FilterInfo] = Field(default_factory=list)


class FilterView(LarkModel):
    """A named filter view of a sheet (a filter each viewer applies for themself)."""

    filter_view_id: str
    filter_view_name: str | None = None
    range: str | None = None


class FilterViewCondition(LarkModel):
    """A filter view's condition on one column; ``condition_id`` is the column letter."""

    condition_id: str
    filter_type: str | None = None
    compare_type: str | None = None
    expected: list[str] = Field(default_factory=list)


class FloatImage(LarkModel):
    """An image floating over a sheet, anchored at the cell ``range`` (``<sheet>!A1:A1``),
    ``offset_x``/``offset_y`` pixels from its top-left corner, ``width`` × ``height`` pixels.
    ``float_image_token`` is the media token the image was uploaded as."""

    float_image_id: str
    float_image_token: str | None = None
    range: str | None = None
    width: float | None = None
    height: float | None = None
    offset_x: float | None = None
    offset_y: float | None = None

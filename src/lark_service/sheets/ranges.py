"""Ranges and cell values of Sheets (pure): ``A1`` ↔ row/column, ``<sheet>!A1:J10`` parsing,
sheet title → id resolution, chunking under Feishu's write limits, and the local checks every
write makes before any request.

Rows and columns are **1-based** here, as a spreadsheet shows them (``A1`` is row 1, column
1). Feishu's dimension endpoints mix 0-based and 1-based indexes; the client converts.

Range forms accepted (Feishu's v2 forms; ``<sheet>`` is a sheet id or, resolved by the client,
a sheet title)::

    <sheet>            the whole sheet
    <sheet>!A1         one cell (for a write: the top-left corner; the values give the size)
    <sheet>!A1:J10     a rectangle
    <sheet>!A:C        whole columns
    <sheet>!A2:C       columns A-C from row 2 down

Limits (``openapi-reference.md`` §8, checked against Feishu's "write to a single range" page,
open.larkoffice.com ``uAjMzUjLwIzM14CMyMTN``: at most 5000 rows and 100 columns per write,
at most 50,000 characters per cell): :data:`MAX_WRITE_ROWS`, :data:`MAX_WRITE_COLUMNS`,
:data:`MAX_CELL_CHARS`.
The set-style page says the same 5,000 × 100 and at most 30,000 cells per call when borders
are set (:data:`MAX_BORDER_CELLS`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Protocol

from ..errors import NotFoundError, ValidationError

__all__ = [
    "MAX_BORDER_CELLS",
    "MAX_CELL_CHARS",
    "MAX_COLUMN",
    "MAX_ROW",
    "MAX_WRITE_COLUMNS",
    "MAX_WRITE_ROWS",
    "SheetRange",
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

MAX_WRITE_ROWS = 5000
"""Rows one v2 write (values, append, prepend, style) may carry."""
MAX_WRITE_COLUMNS = 100
"""Columns one v2 write may carry."""
MAX_CELL_CHARS = 50_000
"""Characters one cell may hold (Feishu recommends staying under 40,000: it adds control
characters of its own)."""
MAX_BORDER_CELLS = 30_000
"""Cells one set-style call may give borders to."""
MAX_COLUMN = 18_278
"""``ZZZ``: the largest column three letters name. A sanity bound, not Feishu's grid limit
(unverified; Feishu caps a sheet by cells, see code 90219)."""
MAX_ROW = 10_000_000
"""A sanity bound on row numbers (Feishu caps a sheet by cells, not rows)."""

_CELL = re.compile(r"([A-Za-z]{1,3})([0-9]+)")
_COLUMN = re.compile(r"[A-Za-z]{1,3}")


# -- cells ------------------------------------------------------------------------------------


def column_letter(column: int) -> str:
    """``1`` → ``A``, ``27`` → ``AA``. ValidationError outside 1..:data:`MAX_COLUMN`."""
    _check_number(column, MAX_COLUMN, "column")
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def column_number(letters: str) -> int:
    """``A`` → ``1``, ``aa`` → ``27``. ValidationError for anything but 1-3 letters."""
    if not isinstance(letters, str) or not _COLUMN.fullmatch(letters):
        raise ValidationError(
            f"{letters!r} is not a column: give 1-3 letters such as A or AB", field="range"
        )
    number = 0
    for char in letters.upper():
        number = number * 26 + (ord(char) - ord("A") + 1)
    return number


def cell_name(row: int, column: int) -> str:
    """``(1, 1)`` → ``A1``; ``(10, 28)`` → ``AB10``."""
    _check_number(row, MAX_ROW, "row")
    return f"{column_letter(column)}{row}"


def parse_cell(text: str) -> tuple[int, int]:
    """``B3`` → ``(3, 2)`` (row, column). ValidationError for anything else."""
    found = _CELL.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise ValidationError(f"{text!r} is not a cell such as A1 or AB10", field="range")
    row = int(found.group(2))
    _check_number(row, MAX_ROW, "row")
    return row, column_number(found.group(1))


def _check_number(value: object, top: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise ValidationError(
            f"{what} must be a whole number from 1 to {top} (rows and columns count from 1), "
            f"not {value!r}",
            field=what,
        )


# -- ranges -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetRange:
    """A parsed range: the sheet (an id, or a title before resolution) and 1-based bounds.

    ``start_row``/``start_column`` are None for the whole sheet; ``end_row`` is None for
    open-ended columns (``A:C``, ``A2:C``) and ``end_column`` None for the whole sheet. A single
    cell has ``end == start``; ``single`` tells it apart from a one-cell rectangle written as
    ``A1:A1`` (a write to a single cell grows to the size of the values).
    """

    sheet: str
    start_row: int | None = None
    start_column: int | None = None
    end_row: int | None = None
    end_column: int | None = None
    single: bool = False

    @property
    def bounded(self) -> bool:
        """Whether all four corners are known (a rectangle or one cell)."""
        return self.end_row is not None and self.end_column is not None

    @property
    def rows(self) -> int | None:
        """How many rows the range spans (None when open-ended)."""
        if self.start_row is None or self.end_row is None:
            return None
        return self.end_row - self.start_row + 1

    @property
    def columns(self) -> int | None:
        """How many columns the range spans (None for the whole sheet)."""
        if self.start_column is None or self.end_column is None:
            return None
        return self.end_column - self.start_column + 1

    @property
    def cells(self) -> str:
        """The part after ``!`` (``A1:J10``; empty for the whole sheet)."""
        if self.start_column is None:
            return ""
        start = column_letter(self.start_column)
        if self.single and self.start_row is not None:
            return f"{start}{self.start_row}"
        end = column_letter(self.end_column or self.start_column)
        if self.start_row is None:
            return f"{start}:{end}"
        if self.end_row is None:
            return f"{start}{self.start_row}:{end}"
        return f"{start}{self.start_row}:{end}{self.end_row}"

    @property
    def text(self) -> str:
        """Feishu's form: ``<sheet>!A1:J10`` (``<sheet>`` alone for the whole sheet)."""
        cells = self.cells
        return f"{self.sheet}!{cells}" if cells else self.sheet

    def __str__(self) -> str:
        return self.text

    def on_sheet(self, sheet: str) -> SheetRange:
        """The same cells on ``sheet`` (a resolved sheet id)."""
        return replace(self, sheet=sheet)

    def fit(self, rows: int, columns: int) -> SheetRange:
        """The rectangle ``values`` of ``rows`` × ``columns`` fill, anchored at this range's
        top-left corner. A bounded range must have exactly that shape (Feishu refuses a
        mismatch with 90202); an open one is closed by the values."""
        start_row = self.start_row or 1
        start_column = self.start_column or 1
        if self.bounded and not self.single and (self.rows, self.columns) != (rows, columns):
            raise ValidationError(
                f"range {self.text} is {self.rows} rows × {self.columns} columns but the values "
                f"are {rows} × {columns}; give the top-left cell alone (e.g. "
                f"{self.sheet}!{column_letter(start_column)}{start_row}) to size it by the "
                "values",
                field="range",
            )
        if self.end_column is not None and not self.single and self.columns != columns:
            raise ValidationError(
                f"range {self.text} spans {self.columns} columns but the rows have {columns}",
                field="range",
            )
        end_row = start_row + rows - 1
        end_column = start_column + columns - 1
        if end_row > MAX_ROW or end_column > MAX_COLUMN:
            raise ValidationError(
                f"{rows} × {columns} values from {column_letter(start_column)}{start_row} "
                "run past the last row or column",
                field="values",
            )
        return SheetRange(self.sheet, start_row, start_column, end_row, end_column)

    def split(
        self, max_rows: int = MAX_WRITE_ROWS, max_columns: int = MAX_WRITE_COLUMNS
    ) -> list[SheetRange]:
        """This bounded range cut into pieces of at most ``max_rows`` × ``max_columns``, row
        bands first (top to bottom), each band cut left to right."""
        if not self.bounded or self.start_row is None or self.start_column is None:
            raise ValidationError(f"range {self.text} has no end to split at", field="range")
        assert self.end_row is not None and self.end_column is not None
        pieces = []
        for top in range(self.start_row, self.end_row + 1, max_rows):
            bottom = min(top + max_rows - 1, self.end_row)
            for left in range(self.start_column, self.end_column + 1, max_columns):
                right = min(left + max_columns - 1, self.end_column)
                pieces.append(SheetRange(self.sheet, top, left, bottom, right))
        return pieces


def parse_range(text: str, *, sheet: str | None = None) -> SheetRange:
    """``<sheet>!A1:J10`` (or ``A1:J10`` with ``sheet=``) as a :class:`SheetRange`.

    The sheet part is everything before the last ``!`` (titles may contain ``!``). Raises
    ValidationError for an empty sheet, a malformed cell part, a start after its end, or
    text with control characters.
    """
    if not isinstance(text, str):
        raise ValidationError(f"range must be a string, not {type(text).__name__}", field="range")
    raw = text.strip()
    if not raw:
        raise ValidationError("range must not be empty", field="range")
    if any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise ValidationError("range contains control characters", field="range")
    if "!" in raw:
        name, _, cells = raw.rpartition("!")
    elif sheet is not None:
        name, cells = sheet, raw
    else:
        name, cells = raw, ""
    name = name.strip()
    if not name:
        raise ValidationError(
            f"range {raw!r} names no sheet: write <sheet_id>!A1:B2 (or a sheet title)",
            field="range",
        )
    cells = cells.strip()
    if not cells:
        if "!" in raw:
            raise ValidationError(f"range {raw!r} has nothing after '!'", field="range")
        return SheetRange(name)
    start, colon, end = cells.partition(":")
    if not colon:
        row, column = parse_cell(start)
        return SheetRange(name, row, column, row, column, single=True)
    if _COLUMN.fullmatch(start) and _COLUMN.fullmatch(end):
        left, right = column_number(start), column_number(end)
        _check_order(raw, left, right, "column")
        return SheetRange(name, None, left, None, right)
    top, left = parse_cell(start)
    if _COLUMN.fullmatch(end):
        right = column_number(end)
        _check_order(raw, left, right, "column")
        return SheetRange(name, top, left, None, right)
    bottom, right = parse_cell(end)
    _check_order(raw, top, bottom, "row")
    _check_order(raw, left, right, "column")
    return SheetRange(name, top, left, bottom, right)


def _check_order(raw: str, first: int, last: int, what: str) -> None:
    if first > last:
        raise ValidationError(
            f"range {raw!r} starts after it ends ({what} {first} > {last}): write the top-left "
            "cell first",
            field="range",
        )


class _SheetLike(Protocol):
    @property
    def sheet_id(self) -> str: ...

    @property
    def title(self) -> str | None: ...


def resolve_sheet(ref: str, sheets: Iterable[_SheetLike]) -> str:
    """The id of the sheet ``ref`` names: an id as is, else the sheet whose title is ``ref``
    (exactly, then ignoring case when that is unambiguous).

    Raises NotFoundError naming the sheets there are.
    """
    listed = list(sheets)
    for sheet in listed:
        if sheet.sheet_id == ref:
            return sheet.sheet_id
    exact = [s for s in listed if s.title == ref]
    if len(exact) == 1:
        return exact[0].sheet_id
    folded = [s for s in listed if (s.title or "").casefold() == ref.casefold()]
    if len(folded) == 1:
        return folded[0].sheet_id
    names = ", ".join(f"{s.title!r} ({s.sheet_id})" for s in listed) or "none"
    raise NotFoundError(
        f"no sheet with id or title {ref!r} in this spreadsheet; sheets: {names}",
        hint="Name the sheet by its id or its exact title (both are listed above).",
    )


# -- values -----------------------------------------------------------------------------------

_EPOCH = datetime(1899, 12, 30)
"""Day 0 of spreadsheet serial dates (Feishu follows the Excel/Sheets convention)."""


def to_serial(value: date | datetime) -> float:
    """A date or datetime as a spreadsheet serial number (days since 1899-12-30; the time of
    day as the fraction). Aware datetimes are taken in their own zone's wall time."""
    if isinstance(value, datetime):
        naive = value.replace(tzinfo=None)
    else:
        naive = datetime.combine(value, time())
    delta = naive - _EPOCH
    return delta.days + delta.seconds / 86_400 + delta.microseconds / 86_400_000_000


def from_serial(value: float, *, tz: timezone | None = None) -> datetime:
    """A serial number (as Feishu returns dates without ``FormattedString``) as a datetime,
    rounded to the millisecond; ``tz`` attaches a zone to the wall time."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(f"{value!r} is not a serial date number", field="value")
    moment = _EPOCH + timedelta(milliseconds=round(value * 86_400_000))
    return moment.replace(tzinfo=tz) if tz is not None else moment


def check_values(values: object, *, field: str = "values") -> list[list[Any]]:
    """``values`` checked as rows of cells and made ready to send (a new list of lists).

    Accepted cells: None (empty), str (at most :data:`MAX_CELL_CHARS` characters), bool, int,
    finite float, ``date``/``datetime`` (sent as serial numbers: format the column with a
    date ``formatter`` to show them as dates), and Feishu's cell objects passed through
    (a dict such as ``{"type": "formula", "text": "=SUM(A1:A3)"}`` or a list of them).

    Raises ValidationError (before any request) for no rows, rows of different lengths
    (ragged), a row that is not a list, a cell of another type, or a cell over 50,000
    characters; the message names the row and column.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ValidationError(
            f"{field} must be a list of rows (lists of cells), not {type(values).__name__}",
            field=field,
        )
    rows: list[list[Any]] = []
    width: int | None = None
    for r, row in enumerate(values, start=1):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise ValidationError(
                f"{field} row {r} must be a list of cells, not {type(row).__name__}",
                field=field,
            )
        if width is None:
            width = len(row)
            if width == 0:
                raise ValidationError(f"{field} row 1 has no cells", field=field)
        elif len(row) != width:
            raise ValidationError(
                f"{field} rows must all have the same length (ragged rows): row 1 has {width} "
                f"cells, row {r} has {len(row)}; pad short rows with None",
                field=field,
            )
        rows.append(_row(row, r, field))
    if not rows:
        raise ValidationError(f"{field} has no rows", field=field)
    return rows


_PLAIN = frozenset({int, bool, type(None)})


def _row(row: Sequence[Any], r: int, field: str) -> list[Any]:
    """One row checked; the fast path (plain str/int/float/bool/None cells) makes no call
    per cell, which keeps a 200,000-cell write's checks to a few tens of milliseconds."""
    for value in row:
        kind = type(value)
        if kind is str:
            if len(value) > MAX_CELL_CHARS:
                break
        elif kind is float:
            if not math.isfinite(value):
                break
        elif kind not in _PLAIN:
            break
    else:
        return list(row)
    return [_cell(cell, r, c, field) for c, cell in enumerate(row, start=1)]


def _cell(value: Any, row: int, column: int, field: str) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        if len(value) > MAX_CELL_CHARS:
            raise ValidationError(
                f"{field} cell {cell_name(row, column)} (row {row}, column {column}) has "
                f"{len(value)} characters; Feishu allows at most {MAX_CELL_CHARS} per cell",
                field=field,
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(
                f"{field} cell at row {row}, column {column} is {value}: not a number Feishu "
                "can store",
                field=field,
            )
        return value
    if isinstance(value, (date, datetime)):
        return to_serial(value)
    if isinstance(value, dict) or (
        isinstance(value, list) and all(isinstance(v, dict) for v in value)
    ):
        return value
    raise ValidationError(
        f"{field} cell at row {row}, column {column} is a {type(value).__name__}; give str, "
        "int, float, bool, None, a date, or a Feishu cell object (dict)",
        field=field,
    )


def chunk_rows(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``rows`` in consecutive slices of at most ``size``."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]

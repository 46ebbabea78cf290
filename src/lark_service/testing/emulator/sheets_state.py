"""The emulator's Sheets state: spreadsheets, their sheets, and each sheet's cell grid,
styles, merges, row/column sizes and visibility, and frozen panes.

Rows and columns are 1-based (``A1`` is ``(1, 1)``). Cells and styles are sparse dicts, so a
20,000 × 10 write costs 200,000 entries, not a dense grid. Kept in
``EmulatorState.domain("sheets", SheetsState)`` (see :func:`sheets_state`).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_COLUMNS",
    "DEFAULT_ROWS",
    "Grid",
    "SheetsState",
    "Workbook",
    "new_object_id",
    "new_sheet_id",
    "sheets_state",
]

DEFAULT_ROWS = 200
DEFAULT_COLUMNS = 20
"""The size of a new sheet (Feishu's default grid; unverified)."""

Cell = tuple[int, int]
Merge = tuple[int, int, int, int]
"""``(top, left, bottom, right)``, 1-based, inclusive."""


def _shift(index: int, at: int, count: int) -> int:
    return index + count if index >= at else index


@dataclass
class Grid:
    """One sheet."""

    sheet_id: str
    title: str
    hidden: bool = False
    row_count: int = DEFAULT_ROWS
    column_count: int = DEFAULT_COLUMNS
    frozen_rows: int = 0
    frozen_columns: int = 0
    cells: dict[Cell, Any] = field(default_factory=dict)
    styles: dict[Cell, dict[str, Any]] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    row_sizes: dict[int, int] = field(default_factory=dict)
    column_sizes: dict[int, int] = field(default_factory=dict)
    hidden_rows: set[int] = field(default_factory=set)
    hidden_columns: set[int] = field(default_factory=set)
    filter: dict[str, Any] | None = None
    """The sheet's filter: ``{"range": text, "conditions": {column letter: [condition]}}``."""
    filter_views: dict[str, dict[str, Any]] = field(default_factory=dict)
    """By id: ``{"filter_view_id", "filter_view_name", "range", "conditions": {col: cond}}``."""
    float_images: dict[str, dict[str, Any]] = field(default_factory=dict)
    """By id: the v3 ``FloatImage`` fields as last written."""

    # -- values -----------------------------------------------------------------------------

    def write(self, top: int, left: int, values: list[list[Any]]) -> None:
        """Write rows of cells with ``(top, left)`` as the top-left corner, growing the sheet
        when they run past its last row or column (unverified: Feishu may refuse instead)."""
        for r, row in enumerate(values):
            for c, value in enumerate(row):
                key = (top + r, left + c)
                if value is None or value == "":
                    self.cells.pop(key, None)
                else:
                    self.cells[key] = value
        self.row_count = max(self.row_count, top + len(values) - 1)
        self.column_count = max(self.column_count, left + (len(values[0]) if values else 1) - 1)

    def read(self, top: int, left: int, bottom: int, right: int) -> list[list[Any]]:
        return [
            [self.cells.get((r, c)) for c in range(left, right + 1)] for r in range(top, bottom + 1)
        ]

    def last_row(self, left: int, right: int, from_row: int = 1) -> int:
        """The last row at or below ``from_row`` with a value in columns ``left..right`` (0 when
        there is none)."""
        rows = [r for (r, c) in self.cells if left <= c <= right and r >= from_row]
        return max(rows, default=0)

    def last_column(self) -> int:
        return max((c for (_, c) in self.cells), default=0)

    # -- rows and columns -------------------------------------------------------------------

    def insert(self, axis: str, at: int, count: int) -> None:
        """Insert ``count`` rows (``axis="ROWS"``) or columns before index ``at`` (1-based)."""
        rows = axis == "ROWS"

        def move(key: Cell) -> Cell:
            r, c = key
            return (_shift(r, at, count), c) if rows else (r, _shift(c, at, count))

        self.cells = {move(k): v for k, v in self.cells.items()}
        self.styles = {move(k): v for k, v in self.styles.items()}
        self.merges = [
            self._moved_merge(m, rows, lambda i: _shift(i, at, count)) for m in self.merges
        ]
        if rows:
            self.row_count += count
            self.row_sizes = {_shift(i, at, count): v for i, v in self.row_sizes.items()}
            self.hidden_rows = {_shift(i, at, count) for i in self.hidden_rows}
        else:
            self.column_count += count
            self.column_sizes = {_shift(i, at, count): v for i, v in self.column_sizes.items()}
            self.hidden_columns = {_shift(i, at, count) for i in self.hidden_columns}

    def delete(self, axis: str, first: int, last: int) -> int:
        """Delete rows or columns ``first..last`` (1-based, inclusive); how many went."""
        rows = axis == "ROWS"
        top = self.row_count if rows else self.column_count
        last = min(last, top)
        count = last - first + 1
        if count <= 0:
            return 0

        def keep(i: int) -> bool:
            return not first <= i <= last

        def move(i: int) -> int:
            return i - count if i > last else i

        def remap(table: dict[Cell, Any]) -> dict[Cell, Any]:
            out = {}
            for (r, c), v in table.items():
                i = r if rows else c
                if keep(i):
                    out[(move(r), c) if rows else (r, move(c))] = v
            return out

        self.cells = remap(self.cells)
        self.styles = remap(self.styles)
        merges = []
        for m in self.merges:
            lo, hi = (m[0], m[2]) if rows else (m[1], m[3])
            if lo >= first and hi <= last:
                continue
            merges.append(self._moved_merge(m, rows, move))
        self.merges = merges
        if rows:
            self.row_count -= count
            self.row_sizes = {move(i): v for i, v in self.row_sizes.items() if keep(i)}
            self.hidden_rows = {move(i) for i in self.hidden_rows if keep(i)}
        else:
            self.column_count -= count
            self.column_sizes = {move(i): v for i, v in self.column_sizes.items() if keep(i)}
            self.hidden_columns = {move(i) for i in self.hidden_columns if keep(i)}
        return count

    def move(self, axis: str, first: int, last: int, before: int) -> None:
        """Move rows (``axis="ROWS"``) or columns ``first..last`` (1-based, inclusive) in front
        of index ``before`` (1-based, counted before the move; past the end: to the end)."""
        rows = axis == "ROWS"
        size = self.row_count if rows else self.column_count
        order = list(range(1, size + 1))
        block = order[first - 1 : last]
        rest = [i for i in order if not first <= i <= last]
        at = sum(1 for i in rest if i < before)
        new_order = rest[:at] + block + rest[at:]
        where = {old: new for new, old in enumerate(new_order, start=1)}

        def move(i: int) -> int:
            return where.get(i, i)

        def remap(table: dict[Cell, Any]) -> dict[Cell, Any]:
            return {((move(r), c) if rows else (r, move(c))): v for (r, c), v in table.items()}

        self.cells = remap(self.cells)
        self.styles = remap(self.styles)
        merges = []
        for m in self.merges:
            moved = self._moved_merge(m, rows, move)
            lo, hi = (moved[0], moved[2]) if rows else (moved[1], moved[3])
            span = (m[2] - m[0]) if rows else (m[3] - m[1])
            if hi - lo == span:  # still one block (a merge cut by the move is dropped)
                merges.append(moved)
        self.merges = merges
        if rows:
            self.row_sizes = {move(i): v for i, v in self.row_sizes.items()}
            self.hidden_rows = {move(i) for i in self.hidden_rows}
        else:
            self.column_sizes = {move(i): v for i, v in self.column_sizes.items()}
            self.hidden_columns = {move(i) for i in self.hidden_columns}

    @staticmethod
    def _moved_merge(m: Merge, rows: bool, move: Callable[[int], int]) -> Merge:
        top, left, bottom, right = m
        if rows:
            return (move(top), left, move(bottom), right)
        return (top, move(left), bottom, move(right))

    # -- styles and merges ------------------------------------------------------------------

    def style(self, top: int, left: int, bottom: int, right: int, style: dict[str, Any]) -> None:
        for r in range(top, bottom + 1):
            for c in range(left, right + 1):
                if style.get("clean"):
                    self.styles.pop((r, c), None)
                current = self.styles.setdefault((r, c), {})
                for key, value in style.items():
                    if key == "clean":
                        continue
                    if key == "font" and isinstance(value, dict):
                        font = {k: v for k, v in value.items() if k != "clean"}
                        if value.get("clean"):
                            current.pop("font", None)
                        current["font"] = {**current.get("font", {}), **font}
                    else:
                        current[key] = value
                if not current:
                    self.styles.pop((r, c), None)

    def merge(self, top: int, left: int, bottom: int, right: int, how: str) -> None:
        if how == "MERGE_ROWS":
            blocks = [(r, left, r, right) for r in range(top, bottom + 1)]
        elif how == "MERGE_COLUMNS":
            blocks = [(top, c, bottom, c) for c in range(left, right + 1)]
        else:
            blocks = [(top, left, bottom, right)]
        self.unmerge(top, left, bottom, right)
        self.merges.extend(b for b in blocks if b[0] != b[2] or b[1] != b[3])

    def unmerge(self, top: int, left: int, bottom: int, right: int) -> None:
        self.merges = [
            m for m in self.merges if m[2] < top or m[0] > bottom or m[3] < left or m[1] > right
        ]

    def overlapping_merge(self, top: int, left: int, bottom: int, right: int) -> Merge | None:
        """A merge that sticks out of the rectangle while overlapping it."""
        for m in self.merges:
            inside = m[0] >= top and m[2] <= bottom and m[1] >= left and m[3] <= right
            apart = m[2] < top or m[0] > bottom or m[3] < left or m[1] > right
            if not inside and not apart:
                return m
        return None


@dataclass
class Workbook:
    """A spreadsheet: its token, title, owner and sheets (in order)."""

    token: str
    title: str
    owner_app: str | None
    folder_token: str = ""
    owner_id: str = ""
    sheets: list[Grid] = field(default_factory=list)
    revision: int = 0

    def sheet(self, sheet_id: str) -> Grid | None:
        for grid in self.sheets:
            if grid.sheet_id == sheet_id:
                return grid
        return None

    def by_title(self, title: str) -> Grid | None:
        for grid in self.sheets:
            if grid.title == title:
                return grid
        return None

    def add_sheet(self, title: str, index: int | None = None) -> Grid:
        grid = Grid(new_sheet_id(), title)
        position = len(self.sheets) if index is None else max(0, min(index, len(self.sheets)))
        self.sheets.insert(position, grid)
        return grid

    def bump(self) -> int:
        self.revision += 1
        return self.revision


_ALPHABET = string.ascii_letters + string.digits


def new_sheet_id() -> str:
    """A sheet id like Feishu's (6 characters)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(6))


def new_object_id() -> str:
    """A filter view or float image id like Feishu's (10 characters)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


@dataclass
class SheetsState:
    """Every spreadsheet, plus the v2 write limits (5,000 rows × 100 columns per write,
    50,000 characters per cell, 30,000 cells per border style) that tests may lower."""

    workbooks: dict[str, Workbook] = field(default_factory=dict)
    max_write_rows: int = 5000
    max_write_columns: int = 100
    max_cell_chars: int = 50_000
    max_border_cells: int = 30_000
    max_read_bytes: int = 10 * 1024 * 1024
    """A read whose values take more than this as JSON is refused with 90221 (Feishu's
    10 MB answer limit of the read endpoints; unverified)."""
    max_write_bytes: int | None = None
    """A values write whose JSON body is larger is refused with 90227 (Feishu's request size
    limit is not documented: off unless a test sets it)."""

    def create(
        self,
        title: str = "",
        *,
        owner_app: str | None = None,
        folder_token: str = "",
        token: str | None = None,
        sheet_title: str = "Sheet1",
    ) -> Workbook:
        """A spreadsheet with one empty sheet. ``owner_app=None``: every app may use it
        (as if shared with all of them); otherwise only that app."""
        value = token or "shtcn" + secrets.token_hex(10)
        book = Workbook(value, title, owner_app, folder_token=folder_token)
        book.add_sheet(sheet_title)
        self.workbooks[value] = book
        return book

    def get(self, token: str) -> Workbook | None:
        return self.workbooks.get(token)


def sheets_state(target: Any) -> SheetsState:
    """The Sheets state of an ``EmulatorState`` or an ``Emulator`` (``.state``)."""
    state = getattr(target, "state", target)
    result: SheetsState = state.domain("sheets", SheetsState)
    return result

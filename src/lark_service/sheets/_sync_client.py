# Generated from src/lark_service/sheets/_async_client.py by scripts/unasync.py: edit that file instead.
"""``client.sheets``: spreadsheets (v3) and cell values, styles, merges, dimensions, frozen panes
and sheet operations (classic v2).

Wire facts: ``openapi-reference.md`` §8. The v3 endpoints are declared by the official SDK
(lark_oapi ``sheets.v3``; our conformance tests drive them). **v2 is absent from the SDK**;
its shapes come from Feishu's documentation pages and third-party clients:

- checked against Feishu's pages (D): the write endpoint ``PUT .../values`` with
  ``{"valueRange": {"range", "values"}}``, its 5,000 rows × 100 columns and 50,000
  characters per cell, 100 calls/s; ``PUT .../style`` with ``appendStyle`` and the same
  5,000 × 100 (30,000 cells with borders); the error codes (``_errors.py``).
- **unverified** (third-party clients agree, 3P, or memory, ?): the answer shapes
  (``updatedRange``/``updatedRows``/``updatedColumns``/``updatedCells``/``revision``, the
  ``updates`` wrapper of append/prepend/style, ``valueRanges`` of batch reads,
  ``responses`` of batch writes, ``replies`` of ``sheets_batch_update``); the dimension
  indexes (insert 0-based end-exclusive; update and delete 1-based inclusive); the 5,000 per
  call limit of add/insert/delete dimension; ``insertDataOption`` of append; append/prepend
  chunking below 5,000 rows (the same limit assumed); that a write past the sheet's last row
  grows the sheet; the ``mergeType`` names; ``frozenColCount`` in ``updateSheet``; the 10 MB
  answer limit of reads (90221) and that 90227 (request too large) goes away with smaller
  writes.

v3 beyond spreadsheets and sheets (find, replace, move_dimension, filter, filter views and
their conditions, float images) is declared by the SDK (shapes: S). **Unverified**: the filter
and compare type names, ``move_dimension``'s inclusive ``end_index`` and ``destination_index``
counted before the move, the 150 filter views per sheet, the 20 px least image size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from .. import errors
from .._sync_resource import Resource
from .._http import ApiResponse
from .._paths import api_path
from ._helpers import (
    _MERGE_TYPES,
    _OBJECT_KEYS,
    _OBJECT_KINDS,
    _TOO_LARGE_REQUEST,
    _TOO_LARGE_RESPONSE,
    MAX_DIMENSION_CHANGE,
    MAX_READ_ROWS,
    Progress,
    ValueRender,
    _add,
    _condition,
    _count,
    _filter_col,
    _image_geometry,
    _index,
    _Object,
    _object_id,
    _read_params,
    _sheet,
    _span,
    _style_pieces,
    _title,
    _view_name,
)
from .models import (
    FilterCondition,
    FilterView,
    FilterViewCondition,
    FindResult,
    FloatImage,
    Sheet,
    SheetFilter,
    Spreadsheet,
    ValueRange,
    WriteResult,
)
from .ranges import (
    MAX_BORDER_CELLS,
    MAX_WRITE_COLUMNS,
    MAX_WRITE_ROWS,
    SheetRange,
    check_values,
    parse_range,
    resolve_sheet,
)
from .style import build_style

__all__ = ["SheetsClient", "Progress"]

_V3 = "/open-apis/sheets/v3/spreadsheets"
_V2 = "/open-apis/sheets/v2/spreadsheets/{token}"


class SheetsClient(Resource):
    """Spreadsheets: create and read them, list their sheets, read and write cell values in
    chunks under Feishu's limits, style, merge, resize, freeze, and add/copy/delete/rename
    sheets. Ranges are ``<sheet>!A1:J10`` where ``<sheet>`` is a sheet id or title."""

    # -- spreadsheets (v3) ------------------------------------------------------------------

    def create_spreadsheet(
        self, title: str | None = None, *, folder_token: str | None = None
    ) -> Spreadsheet:
        """A new spreadsheet (with one empty sheet), in ``folder_token`` or the app's space.

        ``POST /open-apis/sheets/v3/spreadsheets``. Raises ValidationError (title over 255
        characters), PermissionDeniedError (no access to the folder).
        """
        body: dict[str, Any] = {}
        if title is not None:
            if not isinstance(title, str) or len(title) > 255:
                raise errors.ValidationError(
                    "title must be a string of at most 255 characters", field="title"
                )
            body["title"] = title
        if folder_token is not None:
            api_path("{folder_token}", folder_token=folder_token)
            body["folder_token"] = folder_token
        response = self._request("POST", _V3, options=self._opts(idempotent=False), json=body)
        return Spreadsheet.from_response(response, dict(response.data.get("spreadsheet") or {}))

    def get_spreadsheet(self, spreadsheet_token: str) -> Spreadsheet:
        """A spreadsheet's title, owner and URL.

        ``GET /open-apis/sheets/v3/spreadsheets/:spreadsheet_token``. Raises NotFoundError,
        PermissionDeniedError (the app was not given access to the spreadsheet).
        """
        response = self._request(
            "GET",
            api_path(_V3 + "/{token}", token=spreadsheet_token),
            params={"user_id_type": "open_id"},
        )
        data = dict(response.data.get("spreadsheet") or {})
        data.setdefault("token", spreadsheet_token)
        return Spreadsheet.from_response(response, data)

    def list_sheets(self, spreadsheet_token: str) -> list[Sheet]:
        """Every sheet of a spreadsheet, in order: id, title, size, frozen panes, merges.

        ``GET /open-apis/sheets/v3/spreadsheets/:spreadsheet_token/sheets/query``. Also
        refreshes the title → id cache ranges are resolved with. Raises NotFoundError,
        PermissionDeniedError.
        """
        response = self._request(
            "GET", api_path(_V3 + "/{token}/sheets/query", token=spreadsheet_token)
        )
        sheets = [Sheet.from_response(response, dict(s)) for s in response.data.get("sheets") or []]
        self._sheet_cache()[spreadsheet_token] = sheets
        return sheets

    def get_sheet(self, spreadsheet_token: str, sheet: str) -> Sheet:
        """One sheet, by id or title.

        ``GET /open-apis/sheets/v3/spreadsheets/:spreadsheet_token/sheets/:sheet_id``. Raises
        NotFoundError.
        """
        sheet_id = self._sheet_id(spreadsheet_token, sheet)
        response = self._request(
            "GET",
            api_path(
                _V3 + "/{token}/sheets/{sheet_id}", token=spreadsheet_token, sheet_id=sheet_id
            ),
        )
        return Sheet.from_response(response, dict(response.data.get("sheet") or {}))

    # -- values (v2) --------------------------------------------------------------------------

    def get_sheet_data(
        self,
        spreadsheet_token: str,
        range: str,
        *,
        render: ValueRender | None = None,
        dates: Literal["serial", "formatted"] = "serial",
    ) -> ValueRange:
        """The values of ``range`` (rows of cells).

        ``render``: Feishu's ``valueRenderOption`` — ``ToString``, ``FormattedValue`` (as
        shown), ``Formula`` (formulas, not results) or ``UnformattedValue``. ``dates``:
        ``serial`` (dates as serial numbers; :func:`~lark_service.sheets.ranges.from_serial`
        turns one into a datetime) or ``formatted`` (as the cell shows them,
        ``dateTimeRenderOption=FormattedString``).

        Ranges of more than 5,000 rows are read in bands of 5,000 rows and stitched; a band
        answered 90221 (answer too large) is halved until it fits.

        ``GET /open-apis/sheets/v2/spreadsheets/:token/values/:range``. Raises ValidationError
        (bad range or option) before any request, NotFoundError, PermissionDeniedError,
        QuotaExceededError (90221: one row alone is too large to read).
        """
        params = _read_params(render, dates)
        target = self._range(spreadsheet_token, range)
        if target.bounded and (target.rows or 1) > MAX_READ_ROWS:
            return self._read_chunked(spreadsheet_token, target, params, trim=False)
        try:
            response = self._read(spreadsheet_token, target, params)
        except errors.QuotaExceededError as exc:
            if exc.code != _TOO_LARGE_RESPONSE:
                raise
            whole = self._closed(spreadsheet_token, target)
            return self._read_chunked(
                spreadsheet_token, whole, params, trim=target.end_row is None
            )
        return ValueRange.from_response(response, dict(response.data.get("valueRange") or {}))

    def _read(
        self, spreadsheet_token: str, target: SheetRange, params: dict[str, str]
    ) -> ApiResponse:
        return self._request(
            "GET",
            api_path(_V2 + "/values/{range}", token=spreadsheet_token, range=target.text),
            params=params,
        )

    def _closed(self, spreadsheet_token: str, target: SheetRange) -> SheetRange:
        """``target`` with open ends closed at the sheet's size (from the sheet list)."""
        if target.bounded:
            return target
        sheets = self.list_sheets(spreadsheet_token)
        grid = next((s.grid_properties for s in sheets if s.sheet_id == target.sheet), None)
        rows = grid.row_count if grid is not None else 0
        columns = grid.column_count if grid is not None else 0
        top, left = target.start_row or 1, target.start_column or 1
        return SheetRange(
            target.sheet,
            top,
            left,
            target.end_row or max(top, rows),
            target.end_column or max(left, columns),
        )

    def _read_chunked(
        self,
        spreadsheet_token: str,
        target: SheetRange,
        params: dict[str, str],
        *,
        trim: bool,
    ) -> ValueRange:
        """Read a bounded range in bands of at most :data:`MAX_READ_ROWS` rows, top to
        bottom; a band Feishu finds too large (90221) is halved until it fits (one row that
        is still too large raises). ``trim`` drops empty rows at the bottom (the range was
        open-ended)."""
        assert target.start_row is not None and target.end_row is not None
        assert target.start_column is not None and target.end_column is not None
        width = target.end_column - target.start_column + 1
        values: list[list[Any]] = []
        revision: int | None = None
        last: ApiResponse | None = None
        bands = [
            (top, min(top + MAX_READ_ROWS - 1, target.end_row))
            for top in range(target.start_row, target.end_row + 1, MAX_READ_ROWS)
        ]
        while bands:
            top, bottom = bands.pop(0)
            band = SheetRange(target.sheet, top, target.start_column, bottom, target.end_column)
            try:
                last = self._read(spreadsheet_token, band, params)
            except errors.QuotaExceededError as exc:
                if exc.code != _TOO_LARGE_RESPONSE or top == bottom:
                    raise
                middle = (top + bottom) // 2
                bands[:0] = [(top, middle), (middle + 1, bottom)]
                continue
            got = dict(last.data.get("valueRange") or {})
            rows = [list(r) for r in got.get("values") or []]
            rows += [[None] * width for _ in range(bottom - top + 1 - len(rows))]
            values.extend(r + [None] * (width - len(r)) for r in rows)
            if isinstance(got.get("revision"), int):
                revision = got["revision"]
        if trim:
            while len(values) > 1 and all(v is None or v == "" for v in values[-1]):
                values.pop()
        assert last is not None
        done = SheetRange(
            target.sheet,
            target.start_row,
            target.start_column,
            target.start_row + len(values) - 1,
            target.end_column,
        )
        return ValueRange.from_response(
            last,
            {"range": done.text, "values": values, "revision": revision, "majorDimension": "ROWS"},
        )

    def get_sheet_data_batch(
        self,
        spreadsheet_token: str,
        ranges: Sequence[str],
        *,
        render: ValueRender | None = None,
        dates: Literal["serial", "formatted"] = "serial",
    ) -> list[ValueRange]:
        """The values of several ranges in one call, in the order given.

        ``GET /open-apis/sheets/v2/spreadsheets/:token/values_batch_get?ranges=a,b``.
        Raises ValidationError (no ranges, a bad one), NotFoundError, PermissionDeniedError.
        """
        if isinstance(ranges, str) or not ranges:
            raise errors.ValidationError(
                "ranges must be a non-empty list of ranges", field="ranges"
            )
        targets = [self._range(spreadsheet_token, r) for r in ranges]
        response = self._request(
            "GET",
            api_path(_V2 + "/values_batch_get", token=spreadsheet_token),
            params={**_read_params(render, dates), "ranges": ",".join(t.text for t in targets)},
        )
        return [
            ValueRange.from_response(response, dict(item))
            for item in response.data.get("valueRanges") or []
        ]

    def update_sheet_data(
        self,
        spreadsheet_token: str,
        range: str,
        values: Sequence[Sequence[Any]],
        *,
        progress: Progress | None = None,
    ) -> WriteResult:
        """Write ``values`` (rows of cells) into ``range``, overwriting what is there.

        ``range`` may be the top-left cell alone (``<sheet>!A1``): the values give the size.
        Any number of rows: the write is cut into calls of at most 5,000 rows × 100 columns,
        sent one after another (top to bottom); ``progress(done_rows, total_rows)`` is called
        after each. A retried call rewrites the same cells, so retries are safe. A call Feishu
        finds too large (90227) is written as two halves instead (one row still too large
        raises QuotaExceededError).

        ``PUT /open-apis/sheets/v2/spreadsheets/:token/values``. Raises ValidationError before
        any request (bad range, ragged rows, a cell over 50,000 characters, a range whose size
        differs from the values'), NotFoundError, PermissionDeniedError.
        """
        rows = check_values(values)
        target = (self._range(spreadsheet_token, range)).fit(len(rows), len(rows[0]))
        path = api_path(_V2 + "/values", token=spreadsheet_token)
        total = WriteResult(spreadsheet_token=spreadsheet_token, updated_range=target.text, calls=0)
        done = 0
        assert target.start_row is not None and target.start_column is not None
        for piece in target.split():
            assert piece.start_row is not None and piece.end_row is not None
            assert piece.start_column is not None and piece.end_column is not None
            top = piece.start_row - target.start_row
            left = piece.start_column - target.start_column
            band = rows[top : top + (piece.end_row - piece.start_row + 1)]
            width = piece.end_column - piece.start_column + 1
            chunk = band if width == len(rows[0]) else [row[left : left + width] for row in band]
            self._put_values(path, piece, chunk, total)
            if piece.end_column == target.end_column:
                done = top + len(chunk)
                if progress is not None:
                    progress(done, len(rows))
        return total

    def _put_values(
        self, path: str, piece: SheetRange, chunk: list[list[Any]], total: WriteResult
    ) -> None:
        """Write one piece; when Feishu finds the request too large (90227) write its top
        and bottom halves instead (an overwrite, so nothing is written twice)."""
        try:
            response = self._request(
                "PUT", path, json={"valueRange": {"range": piece.text, "values": chunk}}
            )
        except errors.QuotaExceededError as exc:
            if exc.code != _TOO_LARGE_REQUEST or len(chunk) == 1:
                raise
            assert piece.start_row is not None and piece.start_column is not None
            assert piece.end_column is not None
            half = len(chunk) // 2
            for offset, part in ((0, chunk[:half]), (half, chunk[half:])):
                top = piece.start_row + offset
                sub = SheetRange(
                    piece.sheet, top, piece.start_column, top + len(part) - 1, piece.end_column
                )
                self._put_values(path, sub, part, total)
            return
        _add(total, response.data)

    def update_sheet_data_batch(
        self,
        spreadsheet_token: str,
        data: Mapping[str, Sequence[Sequence[Any]]] | Iterable[tuple[str, Sequence[Sequence[Any]]]],
        *,
        progress: Progress | None = None,
    ) -> WriteResult:
        """Write several ranges (``{range: values}`` or ``[(range, values), ...]``) in as few
        calls as Feishu allows: pieces of at most 5,000 × 100, packed into calls of at most
        5,000 rows in all.

        ``POST /open-apis/sheets/v2/spreadsheets/:token/values_batch_update``. Raises
        ValidationError (as :meth:`update_sheet_data`, for any range) before any request.
        """
        items = list(data.items()) if isinstance(data, Mapping) else list(data)
        if not items:
            raise errors.ValidationError("no ranges to write", field="data")
        pieces: list[tuple[SheetRange, list[list[Any]]]] = []
        for text, values in items:
            rows = check_values(values)
            target = (self._range(spreadsheet_token, text)).fit(len(rows), len(rows[0]))
            assert target.start_row is not None and target.start_column is not None
            for piece in target.split():
                assert piece.start_row is not None and piece.end_row is not None
                assert piece.start_column is not None and piece.end_column is not None
                top = piece.start_row - target.start_row
                left = piece.start_column - target.start_column
                pieces.append(
                    (
                        piece,
                        [
                            row[left : left + piece.end_column - piece.start_column + 1]
                            for row in rows[top : top + piece.end_row - piece.start_row + 1]
                        ],
                    )
                )
        path = api_path(_V2 + "/values_batch_update", token=spreadsheet_token)
        total = WriteResult(spreadsheet_token=spreadsheet_token, calls=0)
        all_rows = sum(len(v) for _, v in pieces)
        done = 0
        batch: list[tuple[SheetRange, list[list[Any]]]] = []
        for index, (piece, chunk) in enumerate(pieces):
            batch.append((piece, chunk))
            following = pieces[index + 1][1] if index + 1 < len(pieces) else None
            size = sum(len(v) for _, v in batch)
            if following is not None and size + len(following) <= MAX_WRITE_ROWS:
                continue
            response = self._request(
                "POST",
                path,
                json={"valueRanges": [{"range": p.text, "values": v} for p, v in batch]},
            )
            for answer in response.data.get("responses") or []:
                _add(total, answer, count_call=False)
            total.calls += 1
            total.revision = response.data.get("revision", total.revision)
            done += size
            batch = []
            if progress is not None:
                progress(done, all_rows)
        return total

    def append_sheet_data(
        self,
        spreadsheet_token: str,
        range: str,
        values: Sequence[Sequence[Any]],
        *,
        insert_rows: bool = False,
        progress: Progress | None = None,
    ) -> WriteResult:
        """Add ``values`` below the data in ``range``'s columns (Feishu finds the first empty
        row). ``insert_rows=True`` inserts new rows rather than overwriting the empty ones
        below (``insertDataOption=INSERT_ROWS``). Cut into calls of at most 5,000 rows, in
        order; **not** retried after a failure Feishu may have applied (a retry would append
        the rows twice).

        ``POST /open-apis/sheets/v2/spreadsheets/:token/values_append``. Raises
        ValidationError before any request, NotFoundError, PermissionDeniedError.
        """
        rows = check_values(values)
        target = self._range(spreadsheet_token, range)
        params = {"insertDataOption": "INSERT_ROWS" if insert_rows else "OVERWRITE"}
        path = api_path(_V2 + "/values_append", token=spreadsheet_token)
        return self._insert_rows(
            spreadsheet_token, path, target, rows, params=params, progress=progress, reverse=False
        )

    def prepend_sheet_data(
        self,
        spreadsheet_token: str,
        range: str,
        values: Sequence[Sequence[Any]],
        *,
        progress: Progress | None = None,
    ) -> WriteResult:
        """Insert rows above ``range``'s first row and write ``values`` into them. Cut into
        calls of at most 5,000 rows, the last rows first, so the rows end up in the order
        given; not retried after a failure Feishu may have applied.

        ``POST /open-apis/sheets/v2/spreadsheets/:token/values_prepend``. Raises
        ValidationError before any request, NotFoundError, PermissionDeniedError.
        """
        rows = check_values(values)
        target = self._range(spreadsheet_token, range)
        path = api_path(_V2 + "/values_prepend", token=spreadsheet_token)
        return self._insert_rows(
            spreadsheet_token, path, target, rows, params=None, progress=progress, reverse=True
        )

    # -- styles, merges ----------------------------------------------------------------------

    def set_style(
        self,
        spreadsheet_token: str,
        range: str,
        style: Mapping[str, Any] | None = None,
        **shortcuts: Any,
    ) -> WriteResult:
        """Style the cells of ``range``: Feishu's style object and/or shortcuts (``bold=True``,
        ``font_size=12``, ``color=``, ``background=``, ``align=``, ``valign=``,
        ``number_format=``, ``border=``, ``border_color=``, ``italic``, ``underline``,
        ``strikethrough``, ``clean``; see :func:`~lark_service.sheets.style.build_style`).
        Ranges over 5,000 rows × 100 columns (30,000 cells with borders) are cut into calls.

        ``PUT /open-apis/sheets/v2/spreadsheets/:token/style``. Raises ValidationError (bad
        style or range) before any request, NotFoundError, PermissionDeniedError.
        """
        body_style = build_style(style, **shortcuts)
        target = self._bounded(spreadsheet_token, range)
        path = api_path(_V2 + "/style", token=spreadsheet_token)
        total = WriteResult(spreadsheet_token=spreadsheet_token, updated_range=target.text, calls=0)
        for piece in _style_pieces(target, body_style):
            response = self._request(
                "PUT", path, json={"appendStyle": {"range": piece.text, "style": body_style}}
            )
            _add(total, response.data.get("updates") or response.data)
        return total

    def set_styles(
        self,
        spreadsheet_token: str,
        styles: Iterable[tuple[str | Sequence[str], Mapping[str, Any]]],
    ) -> WriteResult:
        """Several styles in one call: ``[(range or [ranges], style), ...]``, each style
        Feishu's object (build one with :func:`~lark_service.sheets.style.build_style`).

        ``PUT /open-apis/sheets/v2/spreadsheets/:token/styles_batch_update``. Raises
        ValidationError (a bad style, a range over 5,000 × 100) before any request.
        """
        data = []
        for ranges, style in styles:
            names = [ranges] if isinstance(ranges, str) else list(ranges)
            if not names:
                raise errors.ValidationError("a style has no ranges", field="styles")
            checked = build_style(style)
            texts = []
            for name in names:
                target = self._bounded(spreadsheet_token, name)
                if len(_style_pieces(target, checked)) > 1:
                    raise errors.ValidationError(
                        f"range {target.text} is over Feishu's limit for one style call "
                        f"({MAX_WRITE_ROWS} rows × {MAX_WRITE_COLUMNS} columns, "
                        f"{MAX_BORDER_CELLS} cells with borders); use set_style, which cuts it",
                        field="styles",
                    )
                texts.append(target.text)
            data.append({"ranges": texts, "style": checked})
        if not data:
            raise errors.ValidationError("no styles to set", field="styles")
        response = self._request(
            "PUT",
            api_path(_V2 + "/styles_batch_update", token=spreadsheet_token),
            json={"data": data},
        )
        total = WriteResult(spreadsheet_token=spreadsheet_token, calls=1)
        for answer in response.data.get("responses") or []:
            _add(total, answer, count_call=False)
        return total

    def merge_cells(
        self,
        spreadsheet_token: str,
        range: str,
        *,
        how: Literal["all", "rows", "columns"] = "all",
    ) -> None:
        """Merge the cells of ``range``: into one (``all``), one per row (``rows``) or one per
        column (``columns``).

        ``POST /open-apis/sheets/v2/spreadsheets/:token/merge_cells``. Raises ValidationError
        (bad range or ``how``) before any request.
        """
        if how not in _MERGE_TYPES:
            raise errors.ValidationError(
                f"how must be one of {', '.join(_MERGE_TYPES)}, not {how!r}", field="how"
            )
        target = self._bounded(spreadsheet_token, range)
        self._request(
            "POST",
            api_path(_V2 + "/merge_cells", token=spreadsheet_token),
            json={"range": target.text, "mergeType": _MERGE_TYPES[how]},
        )

    def unmerge_cells(self, spreadsheet_token: str, range: str) -> None:
        """Split every merged block inside ``range``.

        ``POST /open-apis/sheets/v2/spreadsheets/:token/unmerge_cells``.
        """
        target = self._bounded(spreadsheet_token, range)
        self._request(
            "POST",
            api_path(_V2 + "/unmerge_cells", token=spreadsheet_token),
            json={"range": target.text},
        )

    # -- dimensions ---------------------------------------------------------------------------

    def add_rows(self, spreadsheet_token: str, sheet: str, count: int) -> None:
        """Add ``count`` empty rows at the end of ``sheet`` (cut into calls of 5,000).

        ``POST /open-apis/sheets/v2/spreadsheets/:token/dimension_range``.
        """
        self._add_dimension(spreadsheet_token, sheet, "ROWS", count)

    def add_columns(self, spreadsheet_token: str, sheet: str, count: int) -> None:
        """Add ``count`` empty columns at the end of ``sheet``.

        ``POST /open-apis/sheets/v2/spreadsheets/:token/dimension_range``.
        """
        self._add_dimension(spreadsheet_token, sheet, "COLUMNS", count)

    def insert_rows(
        self,
        spreadsheet_token: str,
        sheet: str,
        before: int,
        count: int = 1,
        *,
        inherit_style: Literal["before", "after"] | None = None,
    ) -> None:
        """Insert ``count`` rows before row ``before`` (1-based), styled like the row above
        (``inherit_style="before"``) or below (``"after"``) if asked.

        ``POST /open-apis/sheets/v2/spreadsheets/:token/insert_dimension_range``.
        """
        self._insert_dimension(
            spreadsheet_token, sheet, "ROWS", _index(before, "before"), count, inherit_style
        )

    def insert_columns(
        self,
        spreadsheet_token: str,
        sheet: str,
        before: int | str,
        count: int = 1,
        *,
        inherit_style: Literal["before", "after"] | None = None,
    ) -> None:
        """Insert ``count`` columns before column ``before`` (1-based number or letters).

        ``POST /open-apis/sheets/v2/spreadsheets/:token/insert_dimension_range``.
        """
        self._insert_dimension(
            spreadsheet_token, sheet, "COLUMNS", _index(before, "before"), count, inherit_style
        )

    def delete_rows(self, spreadsheet_token: str, sheet: str, first: int, last: int) -> None:
        """Delete rows ``first``..``last`` (1-based, inclusive), 5,000 per call from the
        bottom up. Not retried after a failure Feishu may have applied.

        ``DELETE /open-apis/sheets/v2/spreadsheets/:token/dimension_range``.
        """
        self._delete_dimension(spreadsheet_token, sheet, "ROWS", first, last)

    def delete_columns(
        self, spreadsheet_token: str, sheet: str, first: int | str, last: int | str
    ) -> None:
        """Delete columns ``first``..``last`` (numbers or letters, inclusive).

        ``DELETE /open-apis/sheets/v2/spreadsheets/:token/dimension_range``.
        """
        self._delete_dimension(spreadsheet_token, sheet, "COLUMNS", first, last)

    def set_dimension(
        self,
        spreadsheet_token: str,
        sheet: str,
        *,
        rows: int | tuple[int, int] | None = None,
        columns: int | str | tuple[int | str, int | str] | None = None,
        size: int | None = None,
        visible: bool | None = None,
    ) -> None:
        """Set the height of ``rows`` or the width of ``columns`` (``size`` in pixels) and/or
        show or hide them (``visible``). ``rows=3`` or ``rows=(2, 10)``; ``columns="B"`` or
        ``columns=("A", "D")``.

        ``PUT /open-apis/sheets/v2/spreadsheets/:token/dimension_range``. Raises
        ValidationError (neither or both of rows/columns, nothing to set, size out of
        1-5000) before any request.
        """
        if (rows is None) == (columns is None):
            raise errors.ValidationError("give rows= or columns= (one of them)", field="rows")
        if size is None and visible is None:
            raise errors.ValidationError("give size= and/or visible=", field="size")
        props: dict[str, Any] = {}
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 5000:
                raise errors.ValidationError(
                    f"size must be a whole number of pixels from 1 to 5000, not {size!r}",
                    field="size",
                )
            props["fixedSize"] = size
        if visible is not None:
            if not isinstance(visible, bool):
                raise errors.ValidationError("visible must be True or False", field="visible")
            props["visible"] = visible
        if rows is not None:
            major, span = "ROWS", rows
        else:
            major, span = "COLUMNS", columns  # type: ignore[assignment]
        first, last = _span(span, major)
        sheet_id = self._sheet_id(spreadsheet_token, sheet)
        self._request(
            "PUT",
            api_path(_V2 + "/dimension_range", token=spreadsheet_token),
            json={
                "dimension": {
                    "sheetId": sheet_id,
                    "majorDimension": major,
                    "startIndex": first,
                    "endIndex": last,
                },
                "dimensionProperties": props,
            },
        )

    # -- sheets -------------------------------------------------------------------------------

    def freeze(
        self, spreadsheet_token: str, sheet: str, rows: int = 0, cols: int = 0
    ) -> Sheet:
        """Freeze the first ``rows`` rows and ``cols`` columns of ``sheet`` (0 unfreezes).

        ``POST /open-apis/sheets/v2/spreadsheets/:token/sheets_batch_update`` (updateSheet).
        """
        for name, value in (("rows", rows), ("cols", cols)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise errors.ValidationError(
                    f"{name} must be a whole number, 0 or more, not {value!r}", field=name
                )
        sheet_id = self._sheet_id(spreadsheet_token, sheet)
        reply = self._sheet_op(
            spreadsheet_token,
            "updateSheet",
            {"properties": {"sheetId": sheet_id, "frozenRowCount": rows, "frozenColCount": cols}},
        )
        return reply

    def add_sheet(
        self, spreadsheet_token: str, title: str, *, index: int | None = None
    ) -> Sheet:
        """A new empty sheet called ``title`` (at position ``index``, 0-based; last by
        default). Not retried after a failure Feishu may have applied.

        ``POST .../sheets_batch_update`` (addSheet). Raises ValidationError (empty title),
        ConflictError (the title is taken).
        """
        properties: dict[str, Any] = {"title": _title(title)}
        if index is not None:
            properties["index"] = _index(index, "index", start=0)
        return self._sheet_op(
            spreadsheet_token, "addSheet", {"properties": properties}, idempotent=False
        )

    def copy_sheet(
        self, spreadsheet_token: str, sheet: str, title: str | None = None
    ) -> Sheet:
        """A copy of ``sheet`` (values and styles), called ``title``.

        ``POST .../sheets_batch_update`` (copySheet).
        """
        sheet_id = self._sheet_id(spreadsheet_token, sheet)
        destination = {"title": _title(title)} if title is not None else {}
        return self._sheet_op(
            spreadsheet_token,
            "copySheet",
            {"source": {"sheetId": sheet_id}, "destination": destination},
            idempotent=False,
        )

    def delete_sheet(self, spreadsheet_token: str, sheet: str) -> None:
        """Delete ``sheet`` and everything on it.

        ``POST .../sheets_batch_update`` (deleteSheet).
        """
        sheet_id = self._sheet_id(spreadsheet_token, sheet)
        self._sheet_op(spreadsheet_token, "deleteSheet", {"sheetId": sheet_id})

    def rename_sheet(self, spreadsheet_token: str, sheet: str, title: str) -> Sheet:
        """Rename ``sheet`` to ``title``.

        ``POST .../sheets_batch_update`` (updateSheet). Raises ConflictError (title taken).
        """
        sheet_id = self._sheet_id(spreadsheet_token, sheet)
        return self._sheet_op(
            spreadsheet_token,
            "updateSheet",
            {"properties": {"sheetId": sheet_id, "title": _title(title)}},
        )

    # -- spreadsheet title (v3) ---------------------------------------------------------------

    def update_spreadsheet(self, spreadsheet_token: str, *, title: str) -> None:
        """Retitle a spreadsheet.

        ``PATCH /open-apis/sheets/v3/spreadsheets/:spreadsheet_token``. Raises ValidationError
        (title not a string of 1-255 characters) before any request, NotFoundError,
        PermissionDeniedError.
        """
        if not isinstance(title, str) or not title or len(title) > 255:
            raise errors.ValidationError(
                "title must be a string of 1 to 255 characters", field="title"
            )
        self._request(
            "PATCH", api_path(_V3 + "/{token}", token=spreadsheet_token), json={"title": title}
        )

    # -- find, replace, move (v3) -------------------------------------------------------------

    def find(
        self,
        spreadsheet_token: str,
        range: str,
        text: str,
        *,
        match_case: bool = False,
        match_entire_cell: bool = False,
        regex: bool = False,
        include_formulas: bool = False,
    ) -> FindResult:
        """The cells of ``range`` (``<sheet>!A1:J10``, or a whole sheet ``<sheet>``) whose value
        contains ``text`` (or is it, ``match_entire_cell``; a regular expression with
        ``regex``). ``include_formulas`` matches formulas' text rather than their results.

        ``POST /open-apis/sheets/v3/spreadsheets/:token/sheets/:sheet_id/find``. Raises
        ValidationError (empty text, bad range) before any request, NotFoundError (unknown
        spreadsheet or sheet), InvalidParameterError (a regular expression Feishu refuses).
        """
        target, body = self._find_body(
            spreadsheet_token, range, text, match_case, match_entire_cell, regex, include_formulas
        )
        response = self._request(
            "POST", self._sheet_path(spreadsheet_token, target.sheet, "/find"), json=body
        )
        return FindResult.from_response(response, dict(response.data.get("find_result") or {}))

    def replace(
        self,
        spreadsheet_token: str,
        range: str,
        text: str,
        replacement: str,
        *,
        match_case: bool = False,
        match_entire_cell: bool = False,
        regex: bool = False,
        include_formulas: bool = False,
    ) -> FindResult:
        """Replace ``text`` by ``replacement`` in the cells of ``range`` (options as
        :meth:`find`); the cells changed. Not retried after a failure Feishu may have applied.

        ``POST /open-apis/sheets/v3/spreadsheets/:token/sheets/:sheet_id/replace``. Raises
        ValidationError (empty text, replacement not a string, bad range) before any request,
        NotFoundError, PermissionDeniedError (protected cells).
        """
        if not isinstance(replacement, str):
            raise errors.ValidationError("replacement must be a string", field="replacement")
        target, body = self._find_body(
            spreadsheet_token, range, text, match_case, match_entire_cell, regex, include_formulas
        )
        body["replacement"] = replacement
        response = self._request(
            "POST",
            self._sheet_path(spreadsheet_token, target.sheet, "/replace"),
            options=self._opts(idempotent=False),
            json=body,
        )
        return FindResult.from_response(response, dict(response.data.get("replace_result") or {}))

    def move_dimension(
        self,
        spreadsheet_token: str,
        sheet: str,
        *,
        rows: int | tuple[int, int] | None = None,
        columns: int | str | tuple[int | str, int | str] | None = None,
        before: int | str,
    ) -> None:
        """Move ``rows`` (``3`` or ``(2, 5)``, 1-based) or ``columns`` (``"B"`` or
        ``("B", "D")``) in front of row/column ``before`` (numbered as before the move;
        one past the last moves them to the end). Not retried after a failure.

        ``POST /open-apis/sheets/v3/spreadsheets/:token/sheets/:sheet_id/move_dimension``
        (0-based ``start_index``/``end_index``, end inclusive, and ``destination_index``:
        unverified reading of Feishu's page). Raises ValidationError (neither or both of
        rows/columns, a backwards span, ``before`` inside the moved block) before any
        request, InvalidParameterError (90212: past the sheet's end).
        """
        if (rows is None) == (columns is None):
            raise errors.ValidationError("give rows= or columns= (one of them)", field="rows")
        major = "ROWS" if rows is not None else "COLUMNS"
        first, last = _span(rows if rows is not None else columns, major)
        name = "rows" if major == "ROWS" else "columns"
        if major == "ROWS" and isinstance(before, str):
            raise errors.ValidationError("before is a row number (1-based)", field="before")
        target = _index(before, "before")
        if first < target <= last:
            raise errors.ValidationError(
                f"before={before!r} is inside the {name} being moved", field="before"
            )
        sheet_id = self._sheet_id(spreadsheet_token, sheet)
        self._request(
            "POST",
            self._sheet_path(spreadsheet_token, sheet_id, "/move_dimension"),
            options=self._opts(idempotent=False),
            json={
                "source": {
                    "major_dimension": major,
                    "start_index": first - 1,
                    "end_index": last - 1,
                },
                "destination_index": target - 1,
            },
        )

    # -- filter (v3) --------------------------------------------------------------------------

    def create_filter(
        self,
        spreadsheet_token: str,
        range: str,
        col: str,
        condition: FilterCondition | Mapping[str, Any],
    ) -> None:
        """Put a filter on ``range`` (its first row is the header) with ``condition`` on column
        ``col`` (a letter inside the range). A sheet has at most one filter.

        ``condition``: a :class:`FilterCondition` or its dict, e.g. ``{"filter_type":
        "number", "compare_type": "greater", "expected": ["80"]}``.

        ``POST /open-apis/sheets/v3/spreadsheets/:token/sheets/:sheet_id/filter``. Raises
        ValidationError (bad range, column, filter type or compare type) before any request,
        InvalidParameterError (the sheet already has a filter: update or delete it).
        """
        target = self._bounded(spreadsheet_token, range)
        column = _filter_col(col, target)
        self._request(
            "POST",
            self._sheet_path(spreadsheet_token, target.sheet, "/filter"),
            json={"range": target.text, "col": column, "condition": _condition(condition)},
        )

    def get_filter(self, spreadsheet_token: str, sheet: str) -> SheetFilter | None:
        """The sheet's filter (range, rows it hides, conditions), or None when it has none.

        ``GET /open-apis/sheets/v3/spreadsheets/:token/sheets/:sheet_id/filter``. Raises
        NotFoundError (unknown spreadsheet or sheet).
        """
        sheet_id = self._sheet_id(spreadsheet_token, sheet)
        response = self._request(
            "GET", self._sheet_path(spreadsheet_token, sheet_id, "/filter")
        )
        info = response.data.get("sheet_filter_info")
        return SheetFilter.from_response(response, dict(info)) if info else None

    def update_filter(
        self,
        spreadsheet_token: str,
        sheet: str,
        col: str,
        condition: FilterCondition | Mapping[str, Any],
    ) -> None:
        """Set the condition on column ``col`` of the sheet's filter (replacing any).

        ``PUT /open-apis/sheets/v3/spreadsheets/:token/sheets/:sheet_id/filter``. Raises
        ValidationError before any request, NotFoundError (the sheet has no filter),
        InvalidParameterError (``col`` outside the filter's range).
        """
        column = _filter_col(col)
        body = {"col": column, "condition": _condition(condition)}
        sheet_id = self._sheet_id(spreadsheet_token, sheet)
        self._request(
            "PUT", self._sheet_path(spreadsheet_token, sheet_id, "/filter"), json=body
        )

    def delete_filter(self, spreadsheet_token: str, sheet: str) -> None:
        """Remove the sheet's filter (and show the rows it hid).

        ``DELETE /open-apis/sheets/v3/spreadsheets/:token/sheets/:sheet_id/filter``.
        """
        sheet_id = self._sheet_id(spreadsheet_token, sheet)
        self._request("DELETE", self._sheet_path(spreadsheet_token, sheet_id, "/filter"))

    # -- filter views (v3) --------------------------------------------------------------------

    def create_filter_view(
        self,
        spreadsheet_token: str,
        range: str,
        name: str | None = None,
        *,
        filter_view_id: str | None = None,
    ) -> FilterView:
        """A new filter view over ``range`` called ``name`` (Feishu names it otherwise);
        ``filter_view_id`` (10 letters or digits) makes a retry harmless. At most 150 per
        sheet (unverified). Not retried without ``filter_view_id``.

        ``POST /open-apis/sheets/v3/spreadsheets/:token/sheets/:sheet_id/filter_views``.
        Raises ValidationError (bad range, name over 100 characters, bad id) before any
        request, QuotaExceededError (too many views).
        """
        target = self._bounded(spreadsheet_token, range)
        body: dict[str, Any] = {"range": target.text}
        if name is not None:
            body["filter_view_name"] = _view_name(name)
        return self._create(FilterView, spreadsheet_token, target, body, filter_view_id)

    def get_filter_view(
        self, spreadsheet_token: str, sheet: str, filter_view_id: str
    ) -> FilterView:
        """One filter view.

        ``GET .../sheets/:sheet_id/filter_views/:filter_view_id``. Raises NotFoundError.
        """
        path = self._view_path(spreadsheet_token, sheet, filter_view_id)
        return self._object(FilterView, "GET", path)

    def list_filter_views(self, spreadsheet_token: str, sheet: str) -> list[FilterView]:
        """Every filter view of a sheet.

        ``GET .../sheets/:sheet_id/filter_views/query``. Raises NotFoundError.
        """
        return self._sheet_objects(FilterView, spreadsheet_token, sheet)

    def update_filter_view(
        self,
        spreadsheet_token: str,
        sheet: str,
        filter_view_id: str,
        *,
        name: str | None = None,
        range: str | None = None,
    ) -> FilterView:
        """Rename a filter view and/or move it to another ``range`` of the same sheet.

        ``PATCH .../sheets/:sheet_id/filter_views/:filter_view_id``. Raises ValidationError
        (nothing to change, bad name or range) before any request, NotFoundError.
        """
        if name is None and range is None:
            raise errors.ValidationError("give name= and/or range=", field="name")
        body: dict[str, Any] = {}
        if name is not None:
            body["filter_view_name"] = _view_name(name)
        if range is not None:
            body["range"] = (self._bounded(spreadsheet_token, range)).text
        path = self._view_path(spreadsheet_token, sheet, filter_view_id)
        return self._object(FilterView, "PATCH", path, json=body)

    def delete_filter_view(
        self, spreadsheet_token: str, sheet: str, filter_view_id: str
    ) -> None:
        """Delete a filter view.

        ``DELETE .../sheets/:sheet_id/filter_views/:filter_view_id``. Raises NotFoundError.
        """
        path = self._view_path(spreadsheet_token, sheet, filter_view_id)
        self._request("DELETE", path)

    def create_filter_view_condition(
        self,
        spreadsheet_token: str,
        sheet: str,
        filter_view_id: str,
        col: str,
        condition: FilterCondition | Mapping[str, Any],
    ) -> FilterViewCondition:
        """Add ``condition`` on column ``col`` (a letter inside the view's range) to a filter
        view. One condition per column.

        ``POST .../filter_views/:filter_view_id/conditions``. Raises ValidationError (bad
        column, filter or compare type) before any request, NotFoundError (unknown view),
        InvalidParameterError (the column has a condition: update it).
        """
        body = {"condition_id": _filter_col(col), **_condition(condition)}
        path = self._view_path(spreadsheet_token, sheet, filter_view_id, "/conditions")
        return self._object(FilterViewCondition, "POST", path, json=body)

    def get_filter_view_condition(
        self, spreadsheet_token: str, sheet: str, filter_view_id: str, col: str
    ) -> FilterViewCondition:
        """A filter view's condition on column ``col``.

        ``GET .../filter_views/:filter_view_id/conditions/:condition_id``. Raises
        NotFoundError.
        """
        path = self._view_path(
            spreadsheet_token, sheet, filter_view_id, "/conditions/" + _filter_col(col)
        )
        return self._object(FilterViewCondition, "GET", path)

    def list_filter_view_conditions(
        self, spreadsheet_token: str, sheet: str, filter_view_id: str
    ) -> list[FilterViewCondition]:
        """Every condition of a filter view.

        ``GET .../filter_views/:filter_view_id/conditions/query``. Raises NotFoundError.
        """
        path = self._view_path(spreadsheet_token, sheet, filter_view_id, "/conditions/query")
        return self._objects(FilterViewCondition, path)

    def update_filter_view_condition(
        self,
        spreadsheet_token: str,
        sheet: str,
        filter_view_id: str,
        col: str,
        condition: FilterCondition | Mapping[str, Any],
    ) -> FilterViewCondition:
        """Replace a filter view's condition on column ``col``.

        ``PUT .../filter_views/:filter_view_id/conditions/:condition_id``. Raises
        ValidationError before any request, NotFoundError.
        """
        path = self._view_path(
            spreadsheet_token, sheet, filter_view_id, "/conditions/" + _filter_col(col)
        )
        return self._object(FilterViewCondition, "PUT", path, json=_condition(condition))

    def delete_filter_view_condition(
        self, spreadsheet_token: str, sheet: str, filter_view_id: str, col: str
    ) -> None:
        """Remove a filter view's condition on column ``col``.

        ``DELETE .../filter_views/:filter_view_id/conditions/:condition_id``. Raises
        NotFoundError.
        """
        path = self._view_path(
            spreadsheet_token, sheet, filter_view_id, "/conditions/" + _filter_col(col)
        )
        self._request("DELETE", path)

    # -- float images (v3) --------------------------------------------------------------------

    def create_float_image(
        self,
        spreadsheet_token: str,
        cell: str,
        image_token: str,
        *,
        width: float | None = None,
        height: float | None = None,
        offset_x: float | None = None,
        offset_y: float | None = None,
        float_image_id: str | None = None,
    ) -> FloatImage:
        """Float the image ``image_token`` (uploaded through Drive media with
        ``parent_type=sheet_image``) over the sheet, anchored at ``cell`` (``<sheet>!B2``),
        ``offset_x``/``offset_y`` pixels in, ``width`` × ``height`` pixels (at least 20,
        unverified). ``float_image_id`` (10 letters or digits) makes a retry harmless; not
        retried without it.

        ``POST /open-apis/sheets/v3/spreadsheets/:token/sheets/:sheet_id/float_images``.
        Raises ValidationError (not one cell, bad size or offset, empty token) before any
        request, NotFoundError.
        """
        if not isinstance(image_token, str) or not image_token.strip():
            raise errors.ValidationError(
                "image_token must be the media token of an uploaded image", field="image_token"
            )
        target = self._cell(spreadsheet_token, cell)
        body: dict[str, Any] = {"float_image_token": image_token, "range": target.text}
        body.update(_image_geometry(width, height, offset_x, offset_y))
        return self._create(FloatImage, spreadsheet_token, target, body, float_image_id)

    def get_float_image(
        self, spreadsheet_token: str, sheet: str, float_image_id: str
    ) -> FloatImage:
        """One float image.

        ``GET .../sheets/:sheet_id/float_images/:float_image_id``. Raises NotFoundError.
        """
        path = self._image_path(spreadsheet_token, sheet, float_image_id)
        return self._object(FloatImage, "GET", path)

    def list_float_images(self, spreadsheet_token: str, sheet: str) -> list[FloatImage]:
        """Every float image of a sheet.

        ``GET .../sheets/:sheet_id/float_images/query``. Raises NotFoundError.
        """
        return self._sheet_objects(FloatImage, spreadsheet_token, sheet)

    def update_float_image(
        self,
        spreadsheet_token: str,
        sheet: str,
        float_image_id: str,
        *,
        cell: str | None = None,
        width: float | None = None,
        height: float | None = None,
        offset_x: float | None = None,
        offset_y: float | None = None,
    ) -> FloatImage:
        """Move (``cell``, offsets) and/or resize a float image.

        ``PATCH .../sheets/:sheet_id/float_images/:float_image_id``. Raises ValidationError
        (nothing to change, bad cell, size or offset) before any request, NotFoundError.
        """
        body = _image_geometry(width, height, offset_x, offset_y)
        if cell is not None:
            body["range"] = (self._cell(spreadsheet_token, cell)).text
        if not body:
            raise errors.ValidationError(
                "give cell=, width=, height=, offset_x= and/or offset_y=", field="cell"
            )
        path = self._image_path(spreadsheet_token, sheet, float_image_id)
        return self._object(FloatImage, "PATCH", path, json=body)

    def delete_float_image(
        self, spreadsheet_token: str, sheet: str, float_image_id: str
    ) -> None:
        """Remove a float image.

        ``DELETE .../sheets/:sheet_id/float_images/:float_image_id``. Raises NotFoundError.
        """
        path = self._image_path(spreadsheet_token, sheet, float_image_id)
        self._request("DELETE", path)

    # -- internals ----------------------------------------------------------------------------

    def _object(self, model: type[_Object], method: str, path: str, **kwargs: Any) -> _Object:
        """One v3 object of a sheet (filter view, its condition, float image): ``method path``
        answers it under ``data.filter_view`` / ``data.condition`` / ``data.float_image``."""
        response = self._request(method, path, **kwargs)
        return model.from_response(response, dict(response.data.get(_OBJECT_KEYS[model]) or {}))

    def _create(
        self,
        model: type[_Object],
        token: str,
        target: SheetRange,
        body: dict[str, Any],
        object_id: str | None,
    ) -> _Object:
        """Create a filter view or float image; a caller-chosen id makes the POST retryable."""
        kind = _OBJECT_KINDS[model]
        if object_id is not None:
            body[kind[:-1] + "_id"] = _object_id(object_id, kind[:-1] + "_id")
        return self._object(
            model,
            "POST",
            self._sheet_path(token, target.sheet, "/" + kind),
            options=self._opts(idempotent=object_id is not None),
            json=body,
        )

    def _sheet_objects(self, model: type[_Object], token: str, sheet: str) -> list[_Object]:
        """Every filter view or float image of a sheet (``GET .../<kind>/query``)."""
        sheet_id = self._sheet_id(token, sheet)
        path = self._sheet_path(token, sheet_id, f"/{_OBJECT_KINDS[model]}/query")
        return self._objects(model, path)

    def _objects(self, model: type[_Object], path: str) -> list[_Object]:
        """Every v3 object of a kind (``GET .../query`` answers ``data.items``)."""
        response = self._request("GET", path)
        return [
            model.from_response(response, dict(item)) for item in response.data.get("items") or []
        ]

    def _sheet_path(self, token: str, sheet_id: str, tail: str = "") -> str:
        return api_path(_V3 + "/{token}/sheets/{sheet_id}", token=token, sheet_id=sheet_id) + tail

    def _view_path(self, token: str, sheet: str, view_id: str, tail: str = "") -> str:
        sheet_id = self._sheet_id(token, sheet)
        return (
            self._sheet_path(token, sheet_id)
            + api_path("/filter_views/{view_id}", view_id=view_id)
            + tail
        )

    def _image_path(self, token: str, sheet: str, image_id: str) -> str:
        sheet_id = self._sheet_id(token, sheet)
        return self._sheet_path(token, sheet_id) + api_path(
            "/float_images/{image_id}", image_id=image_id
        )

    def _cell(self, token: str, text: str) -> SheetRange:
        target = self._range(token, text)
        if not target.bounded or (target.rows, target.columns) != (1, 1):
            raise errors.ValidationError(
                f"{text!r} must name one cell, e.g. <sheet>!B2", field="cell"
            )
        assert target.start_row is not None and target.start_column is not None
        return SheetRange(
            target.sheet,
            target.start_row,
            target.start_column,
            target.start_row,
            target.start_column,
        )

    def _find_body(
        self,
        token: str,
        range: str,
        text: str,
        match_case: bool,
        match_entire_cell: bool,
        regex: bool,
        include_formulas: bool,
    ) -> tuple[SheetRange, dict[str, Any]]:
        if not isinstance(text, str) or not text:
            raise errors.ValidationError("text to find must be a non-empty string", field="text")
        if regex:
            try:
                re.compile(text)
            except re.error as exc:
                raise errors.ValidationError(
                    f"text is not a valid regular expression: {exc}", field="text"
                ) from None
        target = self._range(token, range)
        condition = {
            "range": target.text,
            "match_case": bool(match_case),
            "match_entire_cell": bool(match_entire_cell),
            "search_by_regex": bool(regex),
            "include_formulas": bool(include_formulas),
        }
        return target, {"find_condition": condition, "find": text}

    def _sheet_cache(self) -> dict[str, list[Sheet]]:
        return self._shared("sheets.sheet_lists", dict)

    def _sheet_id(self, spreadsheet_token: str, ref: str) -> str:
        """The id of the sheet ``ref`` (id or title) names; lists the sheets on first use
        of a spreadsheet and again when ``ref`` is not among them."""
        if not isinstance(ref, str) or not ref.strip():
            raise errors.ValidationError("name a sheet by its id or title", field="sheet")
        api_path("{token}", token=spreadsheet_token)
        cached = self._sheet_cache().get(spreadsheet_token)
        if cached is not None:
            try:
                return resolve_sheet(ref.strip(), cached)
            except errors.NotFoundError:
                pass
        return resolve_sheet(ref.strip(), self.list_sheets(spreadsheet_token))

    def _range(self, spreadsheet_token: str, text: str) -> SheetRange:
        parsed = parse_range(text)
        return parsed.on_sheet(self._sheet_id(spreadsheet_token, parsed.sheet))

    def _bounded(self, spreadsheet_token: str, text: str) -> SheetRange:
        target = self._range(spreadsheet_token, text)
        if not target.bounded:
            raise errors.ValidationError(
                f"range {text!r} must name its cells, e.g. <sheet>!A1:D10", field="range"
            )
        return target

    def _insert_rows(
        self,
        spreadsheet_token: str,
        path: str,
        target: SheetRange,
        rows: list[list[Any]],
        *,
        params: dict[str, str] | None,
        progress: Progress | None,
        reverse: bool,
    ) -> WriteResult:
        width = len(rows[0])
        if width > MAX_WRITE_COLUMNS:
            raise errors.ValidationError(
                f"appended rows have {width} cells; Feishu takes at most {MAX_WRITE_COLUMNS} "
                "columns per call: write wider data with update_sheet_data",
                field="values",
            )
        starts = list(range(0, len(rows), MAX_WRITE_ROWS))
        if reverse:
            starts.reverse()
        total = WriteResult(spreadsheet_token=spreadsheet_token, calls=0)
        done = 0
        options = self._opts(idempotent=False)
        if target.columns is not None and not target.single and target.columns != width:
            raise errors.ValidationError(
                f"range {target.text} spans {target.columns} columns but the rows have {width}",
                field="range",
            )
        top, left = target.start_row or 1, target.start_column or 1
        for start in starts:
            chunk = rows[start : start + MAX_WRITE_ROWS]
            piece = SheetRange(target.sheet, top, left, top + len(chunk) - 1, left + width - 1)
            response = self._request(
                "POST",
                path,
                options=options,
                params=params,
                json={"valueRange": {"range": piece.text, "values": chunk}},
            )
            updates = response.data.get("updates") or {}
            _add(total, updates)
            if total.updated_range is None or reverse:
                total.updated_range = updates.get("updatedRange", total.updated_range)
            done += len(chunk)
            if progress is not None:
                progress(done, len(rows))
        return total

    def _add_dimension(self, token: str, sheet: str, major: str, count: int) -> None:
        _count(count)
        sheet_id = self._sheet_id(token, sheet)
        path = api_path(_V2 + "/dimension_range", token=token)
        options = self._opts(idempotent=False)
        for start in range(0, count, MAX_DIMENSION_CHANGE):
            length = min(MAX_DIMENSION_CHANGE, count - start)
            self._request(
                "POST",
                path,
                options=options,
                json={
                    "dimension": {"sheetId": sheet_id, "majorDimension": major, "length": length}
                },
            )

    def _insert_dimension(
        self,
        token: str,
        sheet: str,
        major: str,
        before: int,
        count: int,
        inherit_style: str | None,
    ) -> None:
        _count(count)
        if inherit_style not in (None, "before", "after"):
            raise errors.ValidationError(
                f"inherit_style must be 'before', 'after' or None, not {inherit_style!r}",
                field="inherit_style",
            )
        sheet_id = self._sheet_id(token, sheet)
        path = api_path(_V2 + "/insert_dimension_range", token=token)
        options = self._opts(idempotent=False)
        for start in range(0, count, MAX_DIMENSION_CHANGE):
            length = min(MAX_DIMENSION_CHANGE, count - start)
            body: dict[str, Any] = {
                "dimension": {
                    "sheetId": sheet_id,
                    "majorDimension": major,
                    # 0-based, end exclusive (unverified, 3P)
                    "startIndex": before - 1,
                    "endIndex": before - 1 + length,
                }
            }
            if inherit_style is not None:
                body["inheritStyle"] = inherit_style.upper()
            self._request("POST", path, options=options, json=body)

    def _delete_dimension(
        self, token: str, sheet: str, major: str, first: int | str, last: int | str
    ) -> None:
        low, high = _span((first, last), major)
        sheet_id = self._sheet_id(token, sheet)
        path = api_path(_V2 + "/dimension_range", token=token)
        options = self._opts(idempotent=False)
        end = high
        while end >= low:  # bottom up: deleting a band leaves the ones above in place
            start = max(low, end - MAX_DIMENSION_CHANGE + 1)
            self._request(
                "DELETE",
                path,
                options=options,
                json={
                    "dimension": {
                        "sheetId": sheet_id,
                        "majorDimension": major,
                        "startIndex": start,
                        "endIndex": end,
                    }
                },
            )
            end = start - 1

    def _sheet_op(
        self, token: str, kind: str, request: dict[str, Any], *, idempotent: bool = True
    ) -> Sheet:
        response = self._request(
            "POST",
            api_path(_V2 + "/sheets_batch_update", token=token),
            options=self._opts(idempotent=idempotent),
            json={"requests": [{kind: request}]},
        )
        self._sheet_cache().pop(token, None)  # titles and ids changed
        replies = response.data.get("replies") or [{}]
        reply = dict(replies[0].get(kind) or {})
        properties = dict(reply.get("properties") or {})
        if not properties:
            properties = {"sheetId": reply.get("sheetId") or request.get("sheetId") or ""}
        return _sheet(response, properties)

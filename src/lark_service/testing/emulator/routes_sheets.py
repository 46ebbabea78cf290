"""Sheets: v3 spreadsheets and sheets, classic v2 values, styles, merges, dimensions and sheet
operations (``openapi-reference.md`` §8; state in :mod:`.sheets_state`).

| method | path (``/open-apis/sheets``) | what |
| --- | --- | --- |
| POST | ``/v3/spreadsheets`` | create (one sheet ``Sheet1``) |
| GET / PATCH | ``/v3/spreadsheets/:token`` | read / retitle |
| GET | ``/v3/spreadsheets/:token/sheets/query`` | every sheet |
| GET | ``/v3/spreadsheets/:token/sheets/:sheet_id`` | one sheet |
| POST | ``/v3/.../sheets/:sheet_id/find`` / ``replace`` | find / replace in a range |
| POST | ``/v3/.../sheets/:sheet_id/move_dimension`` | move rows or columns |
| POST / PUT / GET / DELETE | ``/v3/.../sheets/:sheet_id/filter`` | the sheet's filter |
| POST / GET / PATCH / DELETE | ``/v3/.../filter_views``, ``/:id``, ``/query`` | filter views |
| POST / GET / PUT / DELETE | ``.../conditions``, ``/:col``, ``/query`` | view conditions |
| POST / GET / PATCH / DELETE | ``/v3/.../float_images``, ``/:id``, ``/query`` | float images |
| GET | ``/v2/spreadsheets/:token/metainfo`` | sheets, v2 shape |
| GET | ``/v2/spreadsheets/:token/values/:range`` | read (render and date options) |
| GET | ``/v2/spreadsheets/:token/values_batch_get?ranges=`` | read several |
| PUT | ``/v2/spreadsheets/:token/values`` | write one range |
| POST | ``/v2/spreadsheets/:token/values_batch_update`` | write several |
| POST | ``/v2/spreadsheets/:token/values_append?insertDataOption=`` | append below the data |
| POST | ``/v2/spreadsheets/:token/values_prepend`` | insert rows above and write |
| PUT | ``/v2/spreadsheets/:token/style`` / ``styles_batch_update`` | styles |
| POST | ``/v2/spreadsheets/:token/merge_cells`` / ``unmerge_cells`` | merges |
| POST / PUT / DELETE | ``/v2/spreadsheets/:token/dimension_range`` | add / resize-hide / delete |
| POST | ``/v2/spreadsheets/:token/insert_dimension_range`` | insert rows/columns |
| POST | ``/v2/spreadsheets/:token/sheets_batch_update`` | add/copy/delete/update sheets, freeze |

v2 write limits enforced (:class:`~.sheets_state.SheetsState`): more than 5,000 rows or 100
columns in one write (values, append, prepend, style; the sum of a batch) → 90226; a cell over
50,000 characters → 90222; a border style over 30,000 cells → 90226; a range whose size
differs from the values' → 90202; ragged rows → 90204; a read answer over 10 MB of JSON
→ 90221 (``max_read_bytes``); a values write over ``max_write_bytes`` (off by default) →
90227. Other codes (Feishu's "sheet open api" table): 90202 bad range, 90204 bad body, 90210
title taken, 90215 unknown sheet id, 91402 unknown spreadsheet (and, the emulator's choice,
unknown filter view, condition or float image), 91403 a spreadsheet of another app. Which
code Feishu answers for each limit is not documented per endpoint: the choices above are the
emulator's (unverified).
"""

from __future__ import annotations

import copy
import json
import math
import re
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...errors import ValidationError
from ...sheets.ranges import SheetRange, column_letter, parse_range
from .api import Caller, FeishuError, authenticate, ok, read_json
from .sheets_state import Grid, SheetsState, Workbook, new_object_id, new_sheet_id, sheets_state
from .state import EmulatorState

__all__ = ["ROUTE_TABLE", "routes"]

V3 = "/open-apis/sheets/v3/spreadsheets"
V2 = "/open-apis/sheets/v2/spreadsheets/{token}"
_KINDS = ("tenant", "user")


def _bad_range(detail: str) -> FeishuError:
    return FeishuError(90202, f"Wrong Range: {detail}")


def _bad_body(detail: str) -> FeishuError:
    return FeishuError(90204, f"Wrong Request Body: {detail}")


def _limit(detail: str) -> FeishuError:
    return FeishuError(90226, f"Excess Limit: {detail}")


def _book(state: EmulatorState, caller: Caller, token: str) -> Workbook:
    book = sheets_state(state).get(token)
    if book is None:
        raise FeishuError(91402, "NOTEXIST", http_status=404)
    if book.owner_app is not None and book.owner_app != caller.app_id:
        raise FeishuError(91403, "FORBIDDEN", http_status=403)
    return book


def _grid(book: Workbook, sheet_id: Any) -> Grid:
    if not isinstance(sheet_id, str) or not sheet_id:
        raise FeishuError(90206, "Empty Sheet Id")
    grid = book.sheet(sheet_id)
    if grid is None:
        raise FeishuError(90215, f"sheetId not found: {sheet_id}")
    return grid


def _range(book: Workbook, text: Any) -> tuple[Grid, SheetRange]:
    if not isinstance(text, str):
        raise _bad_range("range must be a string")
    try:
        parsed = parse_range(text)
    except ValidationError as exc:
        raise _bad_range(exc.msg) from None
    return _grid(book, parsed.sheet), parsed


def _box(grid: Grid, target: SheetRange) -> tuple[int, int, int, int]:
    """The rectangle a range covers, open ends closed at the sheet's size."""
    top = target.start_row or 1
    left = target.start_column or 1
    bottom = target.end_row or grid.row_count
    right = target.end_column or grid.column_count
    return top, left, bottom, right


def _values(body: dict[str, Any], key: str = "valueRange") -> tuple[Any, list[list[Any]]]:
    value_range = body.get(key)
    if not isinstance(value_range, dict):
        raise _bad_body(f"{key} is required")
    return value_range.get("range"), _rows(value_range.get("values"))


def _rows(values: Any) -> list[list[Any]]:
    if not isinstance(values, list) or not values or not all(isinstance(r, list) for r in values):
        raise _bad_body("values must be a non-empty list of rows")
    width = len(values[0])
    if width == 0 or any(len(r) != width for r in values):
        raise _bad_body("every row of values must have the same number of cells")
    return values


def _check_limits(sheets: SheetsState, values: list[list[Any]], rows: int | None = None) -> None:
    count = len(values) if rows is None else rows
    if count > sheets.max_write_rows or len(values[0]) > sheets.max_write_columns:
        raise _limit(
            f"at most {sheets.max_write_rows} rows and {sheets.max_write_columns} columns per "
            f"write, got {count} x {len(values[0])}"
        )
    for row in values:
        for cell in row:
            if isinstance(cell, str) and len(cell) > sheets.max_cell_chars:
                raise FeishuError(90222, "Too Large Cell: a cell holds at most 50000 characters")


def _fit(target: SheetRange, values: list[list[Any]]) -> tuple[int, int, int, int]:
    top = target.start_row or 1
    left = target.start_column or 1
    bottom = top + len(values) - 1
    right = left + len(values[0]) - 1
    if (
        target.bounded
        and not target.single
        and (target.rows, target.columns)
        != (
            len(values),
            len(values[0]),
        )
    ):
        raise _bad_range(
            f"range {target.text} is {target.rows}x{target.columns}, values are "
            f"{len(values)}x{len(values[0])}"
        )
    return top, left, bottom, right


def _a1(sheet_id: str, top: int, left: int, bottom: int, right: int) -> str:
    return f"{sheet_id}!{column_letter(left)}{top}:{column_letter(right)}{bottom}"


def _update(book: Workbook, grid: Grid, box: tuple[int, int, int, int]) -> dict[str, Any]:
    top, left, bottom, right = box
    rows, cols = bottom - top + 1, right - left + 1
    return {
        "spreadsheetToken": book.token,
        "updatedRange": _a1(grid.sheet_id, *box),
        "updatedRows": rows,
        "updatedColumns": cols,
        "updatedCells": rows * cols,
        "revision": book.revision,
    }


# -- rendering --------------------------------------------------------------------------------

_EPOCH = datetime(1899, 12, 30)
_DATE_FORMAT = re.compile(r"[yMdHhms]")


def _render(grid: Grid, cell: tuple[int, int], value: Any, option: str | None, dates: bool) -> Any:
    if isinstance(value, dict) and value.get("type") == "formula":
        return value.get("text") if option == "Formula" else value.get("value", value.get("text"))
    formatter = str(grid.styles.get(cell, {}).get("formatter") or "")
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if dates and is_number and _DATE_FORMAT.search(formatter) and math.isfinite(value):
        moment = _EPOCH + timedelta(days=float(value))
        return (
            formatter.replace("yyyy", f"{moment.year:04d}")
            .replace("MM", f"{moment.month:02d}")
            .replace("dd", f"{moment.day:02d}")
            .replace("HH", f"{moment.hour:02d}")
            .replace("mm", f"{moment.minute:02d}")
            .replace("ss", f"{moment.second:02d}")
        )
    if option == "ToString" and value is not None and not isinstance(value, (dict, list)):
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return value


def _read(
    book: Workbook, text: Any, request: Request, max_read_bytes: int | None = None
) -> dict[str, Any]:
    grid, target = _range(book, text)
    top, left, bottom, right = _box(grid, target)
    if target.end_row is None:  # open-ended: trimmed to the data
        bottom = max(top, grid.last_row(left, right, top))
    if target.end_column is None:
        right = max(left, min(right, grid.last_column() or left))
    option = request.query_params.get("valueRenderOption")
    if option not in (None, "ToString", "FormattedValue", "Formula", "UnformattedValue"):
        raise FeishuError(90229, "Wrong URL Param: valueRenderOption")
    dates = request.query_params.get("dateTimeRenderOption") == "FormattedString"
    values = [
        [
            _render(grid, (r, c), grid.cells.get((r, c)), option, dates)
            for c in range(left, right + 1)
        ]
        for r in range(top, bottom + 1)
    ]
    limit = max_read_bytes
    if limit is not None and len(json.dumps(values, ensure_ascii=False).encode()) > limit:
        raise FeishuError(90221, "Too Large Response: read a smaller range")
    return {
        "majorDimension": "ROWS",
        "range": _a1(grid.sheet_id, top, left, bottom, right),
        "revision": book.revision,
        "values": values,
    }


# -- v3 -----------------------------------------------------------------------------------------


def _sheet_v3(grid: Grid, index: int) -> dict[str, Any]:
    return {
        "sheet_id": grid.sheet_id,
        "title": grid.title,
        "index": index,
        "hidden": grid.hidden,
        "grid_properties": {
            "frozen_row_count": grid.frozen_rows,
            "frozen_column_count": grid.frozen_columns,
            "row_count": grid.row_count,
            "column_count": grid.column_count,
        },
        "resource_type": "sheet",
        "merges": [
            {
                "start_row_index": m[0] - 1,
                "end_row_index": m[2] - 1,
                "start_column_index": m[1] - 1,
                "end_column_index": m[3] - 1,
            }
            for m in grid.merges
        ],
    }


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


async def create_spreadsheet(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    title = body.get("title", "")
    if not isinstance(title, str) or len(title) > 255:
        raise _bad_body("title must be a string of at most 255 characters")
    folder = body.get("folder_token") or ""
    with state.lock:
        book = sheets_state(state).create(title, owner_app=caller.app_id, folder_token=folder)
    return ok(
        {
            "spreadsheet": {
                "title": book.title,
                "folder_token": book.folder_token,
                "url": f"https://emulator.invalid/sheets/{book.token}",
                "spreadsheet_token": book.token,
            }
        }
    )


async def get_spreadsheet(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        owner = book.owner_id or f"ou_owner_{book.owner_app or 'shared'}"
        data = {
            "title": book.title,
            "owner_id": owner,
            "token": book.token,
            "url": f"https://emulator.invalid/sheets/{book.token}",
        }
    return ok({"spreadsheet": data})


async def patch_spreadsheet(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        title = body.get("title")
        if title is not None:
            if not isinstance(title, str) or len(title) > 255:
                raise _bad_body("title must be a string of at most 255 characters")
            book.title = title
            book.bump()
    return ok({})


async def query_sheets(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        sheets = [_sheet_v3(g, i) for i, g in enumerate(book.sheets)]
    return ok({"sheets": sheets})


async def get_sheet(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        grid = _grid(book, request.path_params["sheet_id"])
        data = _sheet_v3(grid, book.sheets.index(grid))
    return ok({"sheet": data})


# -- v2 values ------------------------------------------------------------------------------


async def metainfo(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        sheets = [
            {
                "sheetId": g.sheet_id,
                "title": g.title,
                "index": i,
                "rowCount": g.row_count,
                "columnCount": g.column_count,
                "frozenRowCount": g.frozen_rows,
                "frozenColCount": g.frozen_columns,
                "merges": [
                    {
                        "startRowIndex": m[0] - 1,
                        "startColumnIndex": m[1] - 1,
                        "rowCount": m[2] - m[0] + 1,
                        "columnCount": m[3] - m[1] + 1,
                    }
                    for m in g.merges
                ],
            }
            for i, g in enumerate(book.sheets)
        ]
    return ok(
        {
            "properties": {"title": book.title, "revision": book.revision},
            "sheets": sheets,
            "spreadsheetToken": book.token,
        }
    )


async def read_values(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        value_range = _read(
            book, request.path_params["range"], request, sheets_state(state).max_read_bytes
        )
    return ok(
        {"revision": book.revision, "spreadsheetToken": book.token, "valueRange": value_range}
    )


async def read_values_batch(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    ranges = [r for r in (request.query_params.get("ranges") or "").split(",") if r]
    if not ranges:
        raise FeishuError(90229, "Wrong URL Param: ranges is required")
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        value_ranges = [_read(book, r, request, sheets_state(state).max_read_bytes) for r in ranges]
    return ok(
        {
            "revision": book.revision,
            "spreadsheetToken": book.token,
            "totalCells": sum(len(v["values"]) * len(v["values"][0]) for v in value_ranges),
            "valueRanges": value_ranges,
        }
    )


async def write_values(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    text, values = _values(body)
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        grid, target = _range(book, text)
        _check_limits(sheets_state(state), values)
        limit = sheets_state(state).max_write_bytes
        if limit is not None and len(json.dumps(body, ensure_ascii=False).encode()) > limit:
            raise FeishuError(90227, "Too Large Request: write fewer cells per call")
        box = _fit(target, values)
        grid.write(box[0], box[1], values)
        book.bump()
        data = _update(book, grid, box)
    return ok(data)


async def write_values_batch(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    items = body.get("valueRanges")
    if not isinstance(items, list) or not items:
        raise _bad_body("valueRanges must be a non-empty list")
    sheets = sheets_state(state)
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        planned = []
        total_rows = 0
        for item in items:
            if not isinstance(item, dict):
                raise _bad_body("each of valueRanges must be an object")
            values = _rows(item.get("values"))
            grid, target = _range(book, item.get("range"))
            total_rows += len(values)
            _check_limits(sheets, values)
            planned.append((grid, _fit(target, values), values))
        if total_rows > sheets.max_write_rows:
            raise _limit(f"at most {sheets.max_write_rows} rows per write, got {total_rows}")
        book.bump()
        responses = []
        for grid, box, values in planned:
            grid.write(box[0], box[1], values)
            answer = _update(book, grid, box)
            del answer["revision"]
            responses.append(answer)
    return ok({"revision": book.revision, "spreadsheetToken": book.token, "responses": responses})


async def append_values(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    option = request.query_params.get("insertDataOption", "OVERWRITE")
    if option not in ("OVERWRITE", "INSERT_ROWS"):
        raise FeishuError(90229, "Wrong URL Param: insertDataOption")
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    text, values = _values(body)
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        grid, target = _range(book, text)
        _check_limits(sheets_state(state), values)
        top, left, _, right = _fit(target, values)
        table_end = grid.last_row(left, right, top)
        start = table_end + 1 if table_end else top
        if option == "INSERT_ROWS" and start <= grid.row_count:
            grid.insert("ROWS", start, len(values))
        grid.write(start, left, values)
        book.bump()
        box = (start, left, start + len(values) - 1, right)
        table = _a1(grid.sheet_id, top, left, box[2], right)
        data = {
            "revision": book.revision,
            "spreadsheetToken": book.token,
            "tableRange": table,
            "updates": _update(book, grid, box),
        }
    return ok(data)


async def prepend_values(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    text, values = _values(body)
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        grid, target = _range(book, text)
        _check_limits(sheets_state(state), values)
        box = _fit(target, values)
        grid.insert("ROWS", box[0], len(values))
        grid.write(box[0], box[1], values)
        book.bump()
        data = {
            "revision": book.revision,
            "spreadsheetToken": book.token,
            "tableRange": _a1(grid.sheet_id, *box),
            "updates": _update(book, grid, box),
        }
    return ok(data)


# -- styles and merges ----------------------------------------------------------------------


def _apply_style(
    sheets: SheetsState, book: Workbook, text: Any, style: Any
) -> tuple[Grid, tuple[int, int, int, int]]:
    if not isinstance(style, dict) or not style:
        raise _bad_body("style must be a non-empty object")
    grid, target = _range(book, text)
    if not target.bounded:
        raise _bad_range("a style range must name its cells")
    box = _box(grid, target)
    rows, cols = box[2] - box[0] + 1, box[3] - box[1] + 1
    if rows > sheets.max_write_rows or cols > sheets.max_write_columns:
        raise _limit(f"at most {sheets.max_write_rows} rows and {sheets.max_write_columns} columns")
    if ("borderType" in style or "borderColor" in style) and rows * cols > sheets.max_border_cells:
        raise _limit(f"at most {sheets.max_border_cells} cells per border style")
    grid.style(*box, copy.deepcopy(style))
    return grid, box


async def set_style(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    append = body.get("appendStyle")
    if not isinstance(append, dict):
        raise _bad_body("appendStyle is required")
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        grid, box = _apply_style(
            sheets_state(state), book, append.get("range"), append.get("style")
        )
        book.bump()
        data = {"spreadsheetToken": book.token, "updates": _update(book, grid, box)}
    return ok(data)


async def set_styles(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    items = body.get("data")
    if not isinstance(items, list) or not items:
        raise _bad_body("data must be a non-empty list")
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        responses = []
        for item in items:
            ranges = item.get("ranges") if isinstance(item, dict) else None
            if not isinstance(ranges, list) or not ranges:
                raise _bad_body("each data item needs ranges")
            for text in ranges:
                grid, box = _apply_style(sheets_state(state), book, text, item.get("style"))
                answer = _update(book, grid, box)
                del answer["revision"]
                responses.append(answer)
        book.bump()
    return ok(
        {
            "responses": responses,
            "revision": book.revision,
            "spreadsheetToken": book.token,
            "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
        }
    )


async def merge_cells(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    how = body.get("mergeType")
    if how not in ("MERGE_ALL", "MERGE_ROWS", "MERGE_COLUMNS"):
        raise _bad_body("mergeType must be MERGE_ALL, MERGE_ROWS or MERGE_COLUMNS")
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        grid, target = _range(book, body.get("range"))
        if not target.bounded:
            raise _bad_range("a merge range must name its cells")
        box = _box(grid, target)
        if grid.overlapping_merge(*box) is not None:
            raise _bad_range("the range cuts through a merged block")
        grid.merge(*box, how)
        book.bump()
    return ok({"spreadsheetToken": book.token})


async def unmerge_cells(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        grid, target = _range(book, body.get("range"))
        grid.unmerge(*_box(grid, target))
        book.bump()
    return ok({"spreadsheetToken": book.token})


# -- dimensions -----------------------------------------------------------------------------


def _dimension(book: Workbook, body: dict[str, Any]) -> tuple[Grid, str, dict[str, Any]]:
    dim = body.get("dimension")
    if not isinstance(dim, dict):
        raise _bad_body("dimension is required")
    grid = _grid(book, dim.get("sheetId"))
    major = dim.get("majorDimension")
    if major not in ("ROWS", "COLUMNS"):
        raise _bad_body("majorDimension must be ROWS or COLUMNS")
    return grid, major, dim


def _int(dim: dict[str, Any], key: str, low: int) -> int:
    value = dim.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise FeishuError(90212, f"Wrong Row Or Col: {key}")
    return value


async def add_dimension(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        grid, major, dim = _dimension(book, body)
        length = _int(dim, "length", 1)
        if length > 5000:
            raise _limit("at most 5000 rows or columns per call")
        at = (grid.row_count if major == "ROWS" else grid.column_count) + 1
        grid.insert(major, at, length)
        book.bump()
    return ok({"addCount": length, "majorDimension": major})


async def insert_dimension(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        grid, major, dim = _dimension(book, body)
        start = _int(dim, "startIndex", 0)  # 0-based
        end = _int(dim, "endIndex", start + 1)  # exclusive
        size = grid.row_count if major == "ROWS" else grid.column_count
        if start > size:
            raise FeishuError(90212, "Wrong Row Or Col: startIndex is past the sheet")
        if end - start > 5000:
            raise _limit("at most 5000 rows or columns per call")
        if body.get("inheritStyle") not in (None, "BEFORE", "AFTER"):
            raise _bad_body("inheritStyle must be BEFORE or AFTER")
        grid.insert(major, start + 1, end - start)
        book.bump()
    return ok({})


async def update_dimension(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        grid, major, dim = _dimension(book, body)
        start = _int(dim, "startIndex", 1)  # 1-based, inclusive
        end = _int(dim, "endIndex", start)
        props = body.get("dimensionProperties")
        if not isinstance(props, dict) or not props:
            raise _bad_body("dimensionProperties is required")
        sizes = grid.row_sizes if major == "ROWS" else grid.column_sizes
        hidden = grid.hidden_rows if major == "ROWS" else grid.hidden_columns
        for index in range(start, end + 1):
            if "fixedSize" in props:
                sizes[index] = int(props["fixedSize"])
            if props.get("visible") is False:
                hidden.add(index)
            elif props.get("visible") is True:
                hidden.discard(index)
        book.bump()
    return ok({})


async def delete_dimension(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        grid, major, dim = _dimension(book, body)
        start = _int(dim, "startIndex", 1)  # 1-based, inclusive
        end = _int(dim, "endIndex", start)
        if end - start + 1 > 5000:
            raise _limit("at most 5000 rows or columns per call")
        count = grid.delete(major, start, end)
        book.bump()
    return ok({"delCount": count, "majorDimension": major})


# -- sheets ---------------------------------------------------------------------------------


def _properties(book: Workbook, grid: Grid) -> dict[str, Any]:
    return {
        "sheetId": grid.sheet_id,
        "title": grid.title,
        "index": book.sheets.index(grid),
        "hidden": grid.hidden,
        "frozenRowCount": grid.frozen_rows,
        "frozenColCount": grid.frozen_columns,
    }


def _sheet_request(book: Workbook, kind: str, request: dict[str, Any]) -> dict[str, Any]:
    if kind == "addSheet":
        props = request.get("properties") or {}
        title = props.get("title")
        if not isinstance(title, str) or not title:
            raise FeishuError(90207, "Empty Sheet Title")
        if book.by_title(title) is not None:
            raise FeishuError(90210, "Exist Sheet Title")
        grid = book.add_sheet(title, props.get("index"))
        return {"properties": _properties(book, grid)}
    if kind == "copySheet":
        source = _grid(book, (request.get("source") or {}).get("sheetId"))
        title = (request.get("destination") or {}).get("title") or f"{source.title} (copy)"
        if book.by_title(title) is not None:
            raise FeishuError(90210, "Exist Sheet Title")
        grid = copy.deepcopy(source)
        grid.sheet_id, grid.title = new_sheet_id(), title
        book.sheets.insert(book.sheets.index(source) + 1, grid)
        return {"properties": _properties(book, grid)}
    if kind == "deleteSheet":
        grid = _grid(book, request.get("sheetId"))
        if len(book.sheets) == 1:
            raise FeishuError(90226, "Excess Limit: a spreadsheet keeps at least one sheet")
        book.sheets.remove(grid)
        return {"result": True, "sheetId": grid.sheet_id}
    if kind == "updateSheet":
        props = request.get("properties") or {}
        grid = _grid(book, props.get("sheetId"))
        if "title" in props:
            title = props["title"]
            if not isinstance(title, str) or not title:
                raise FeishuError(90207, "Empty Sheet Title")
            other = book.by_title(title)
            if other is not None and other is not grid:
                raise FeishuError(90210, "Exist Sheet Title")
            grid.title = title
        for key, attr in (("frozenRowCount", "frozen_rows"), ("frozenColCount", "frozen_columns")):
            if key in props:
                value = props[key]
                top = grid.row_count if key == "frozenRowCount" else grid.column_count
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                    raise FeishuError(90212, f"Wrong Row Or Col: {key}")
                setattr(grid, attr, value)
        if "hidden" in props:
            grid.hidden = bool(props["hidden"])
        if "index" in props and isinstance(props["index"], int):
            book.sheets.remove(grid)
            book.sheets.insert(max(0, min(props["index"], len(book.sheets))), grid)
        return {"properties": _properties(book, grid)}
    raise _bad_body(f"unknown request {kind}")


async def sheets_batch_update(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    items = body.get("requests")
    if not isinstance(items, list) or not items:
        raise _bad_body("requests must be a non-empty list")
    with state.lock:
        book = _book(state, caller, request.path_params["token"])
        replies = []
        for item in items:
            if not isinstance(item, dict) or len(item) != 1:
                raise _bad_body("each request holds one operation")
            ((kind, value),) = item.items()
            if not isinstance(value, dict):
                raise _bad_body(f"{kind} must be an object")
            replies.append({kind: _sheet_request(book, kind, value)})
        book.bump()
    return ok({"replies": replies})


# -- v3: find / replace / move_dimension ------------------------------------------------------
# Shapes from lark_oapi 1.7.5's models (S); semantics the SDK does not give are the emulator's
# reading of Feishu's pages (unverified): find/replace answer cell names (``A1``) row by row;
# move_dimension indexes are 0-based with ``end_index`` inclusive and ``destination_index`` the
# 0-based position (in the sheet before the move) the block is moved in front of; filter
# conditions evaluate on the rows below the filter range's first (header) row and
# ``filtered_out_rows`` are 1-based row numbers; at most 150 filter views per sheet; a float
# image sits on one cell and is at least 20 px wide and high.

_FILTER_TYPES = {
    "hiddenValue": (),
    "number": (
        "less",
        "lessEqual",
        "notEqual",
        "equal",
        "greater",
        "greaterEqual",
        "between",
        "notBetween",
    ),
    "text": ("beginsWith", "notBeginsWith", "endsWith", "notEndsWith", "contains", "notContains"),
    "color": ("backColor", "foreColor"),
}
MAX_FILTER_VIEWS = 150
MIN_IMAGE_SIZE = 20


def _sheet_path(request: Request, state: EmulatorState, caller: Caller) -> tuple[Workbook, Grid]:
    book = _book(state, caller, request.path_params["token"])
    return book, _grid(book, request.path_params["sheet_id"])


def _on_sheet(book: Workbook, grid: Grid, text: Any) -> SheetRange:
    other, target = _range(book, text)
    if other is not grid:
        raise _bad_range(f"range {text} is not on sheet {grid.sheet_id}")
    return target


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and value.get("type") == "formula":
        return _text(value.get("value"))
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _matches(
    body: dict[str, Any], book: Workbook, grid: Grid
) -> tuple[list[str], list[str], int, Any]:
    """(cells, formula cells, rows, matcher) of a find/replace body."""
    condition = body.get("find_condition")
    find = body.get("find")
    if not isinstance(condition, dict) or not isinstance(find, str) or not find:
        raise _bad_body("find_condition and a non-empty find are required")
    target = _on_sheet(book, grid, condition.get("range"))
    top, left, bottom, right = _box(grid, target)
    flags = 0 if condition.get("match_case") else re.IGNORECASE
    pattern = find if condition.get("search_by_regex") else re.escape(find)
    try:
        matcher = re.compile(
            f"^(?:{pattern})$" if condition.get("match_entire_cell") else pattern, flags
        )
    except re.error as exc:
        raise _bad_body(f"find is not a valid regular expression: {exc}") from None
    formulas = bool(condition.get("include_formulas"))
    cells: list[str] = []
    formula_cells: list[str] = []
    rows: set[int] = set()
    for r, c in sorted(k for k in grid.cells if top <= k[0] <= bottom and left <= k[1] <= right):
        value = grid.cells[(r, c)]
        is_formula = isinstance(value, dict) and value.get("type") == "formula"
        text = str(value.get("text")) if is_formula and formulas else _text(value)
        if matcher.search(text):
            (formula_cells if is_formula else cells).append(f"{column_letter(c)}{r}")
            rows.add(r)
    return cells, formula_cells, len(rows), matcher


async def find_cells(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        cells, formula_cells, rows, _ = _matches(body, book, grid)
    return ok(
        {
            "find_result": {
                "matched_cells": cells,
                "matched_formula_cells": formula_cells,
                "rows_count": rows,
            }
        }
    )


async def replace_cells(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    replacement = body.get("replacement")
    if not isinstance(replacement, str):
        raise _bad_body("replacement is required")
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        cells, formula_cells, rows, matcher = _matches(body, book, grid)
        for name in cells:
            match = re.fullmatch(r"([A-Z]+)(\d+)", name)
            assert match is not None
            key = (int(match.group(2)), _column(match.group(1)))
            grid.cells[key] = matcher.sub(replacement.replace("\\", "\\\\"), _text(grid.cells[key]))
        if cells:
            book.bump()
    return ok(
        {
            "replace_result": {
                "matched_cells": cells,
                "matched_formula_cells": formula_cells,
                "rows_count": rows,
            }
        }
    )


def _column(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


async def move_dimension(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    source = body.get("source")
    if not isinstance(source, dict):
        raise _bad_body("source is required")
    major = source.get("major_dimension")
    if major not in ("ROWS", "COLUMNS"):
        raise _bad_body("major_dimension must be ROWS or COLUMNS")
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        start = _int(source, "start_index", 0)
        end = _int(source, "end_index", start)
        size = grid.row_count if major == "ROWS" else grid.column_count
        dest = _int(body, "destination_index", 0)
        if end >= size or dest > size:
            raise FeishuError(90212, "Wrong Row Or Col: past the sheet")
        grid.move(major, start + 1, end + 1, dest + 1)
        book.bump()
    return ok({})


# -- v3: filter ---------------------------------------------------------------------------------


def _condition(value: Any, *, with_id: bool = False) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad_body("condition is required")
    kind = value.get("filter_type")
    if kind not in _FILTER_TYPES:
        raise _bad_body(f"filter_type must be one of {', '.join(_FILTER_TYPES)}")
    compare = value.get("compare_type")
    if _FILTER_TYPES[kind] and compare not in _FILTER_TYPES[kind]:
        raise _bad_body(f"compare_type of {kind} must be one of {', '.join(_FILTER_TYPES[kind])}")
    expected = value.get("expected")
    if (
        not isinstance(expected, list)
        or not expected
        or not all(isinstance(e, str) for e in expected)
    ):
        raise _bad_body("expected must be a non-empty list of strings")
    if compare in ("between", "notBetween") and len(expected) != 2:
        raise _bad_body("between takes two expected values")
    out: dict[str, Any] = {"filter_type": kind, "expected": list(expected)}
    if compare is not None:
        out["compare_type"] = compare
    if with_id and value.get("condition_id") is not None:
        out["condition_id"] = value["condition_id"]
    return out


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _holds(grid: Grid, cell: tuple[int, int], condition: dict[str, Any]) -> bool:
    value = grid.cells.get(cell)
    text = _text(value)
    kind: str = condition["filter_type"]
    compare: str = condition.get("compare_type") or ""
    expected: list[str] = condition["expected"]
    if kind == "hiddenValue":
        return text not in expected
    if kind == "text":
        low, want = text.lower(), expected[0].lower()
        result = {
            "beginsWith": low.startswith(want),
            "endsWith": low.endswith(want),
            "contains": want in low,
        }
        base = compare.removeprefix("not")
        base = base[0].lower() + base[1:]
        return bool(result[base] != compare.startswith("not"))
    if kind == "color":
        style = grid.styles.get(cell, {})
        colour = style.get("backColor") if compare == "backColor" else style.get("foreColor")
        return str(colour or "").lower() in [e.lower() for e in expected]
    number, bounds = _number(value if not isinstance(value, str) else text), expected
    wanted = [_number(b) for b in bounds]
    if number is None or any(w is None for w in wanted):
        return False
    a = wanted[0]
    assert a is not None
    if compare in ("between", "notBetween"):
        b = wanted[1]
        assert b is not None
        inside = min(a, b) <= number <= max(a, b)
        return inside == (compare == "between")
    return {
        "less": number < a,
        "lessEqual": number <= a,
        "equal": number == a,
        "notEqual": number != a,
        "greater": number > a,
        "greaterEqual": number >= a,
    }[compare]


def _filter_info(grid: Grid) -> dict[str, Any]:
    assert grid.filter is not None
    target = parse_range(grid.filter["range"])
    top, _, bottom, _ = _box(grid, target)
    hidden = []
    for row in range(top + 1, bottom + 1):
        for col, conditions in grid.filter["conditions"].items():
            cell = (row, _column(col))
            if not all(_holds(grid, cell, c) for c in conditions):
                hidden.append(row)
                break
    return {
        "range": grid.filter["range"],
        "filtered_out_rows": hidden,
        "filter_infos": [
            {"col": col, "conditions": copy.deepcopy(conds)}
            for col, conds in grid.filter["conditions"].items()
        ],
    }


def _col_in(target: SheetRange, grid: Grid, col: Any) -> str:
    if not isinstance(col, str) or not re.fullmatch(r"[A-Z]{1,3}", col):
        raise _bad_body("col must be a column letter such as E")
    _, left, _, right = _box(grid, target)
    if not left <= _column(col) <= right:
        raise _bad_body(f"column {col} is outside the range {target.text}")
    return col


async def create_filter(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        if grid.filter is not None:
            raise _bad_body("the sheet already has a filter: update or delete it")
        target = _on_sheet(book, grid, body.get("range"))
        col = _col_in(target, grid, body.get("col"))
        grid.filter = {
            "range": target.text,
            "conditions": {col: [_condition(body.get("condition"))]},
        }
        book.bump()
    return ok({})


async def update_filter(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        _, grid = _sheet_path(request, state, caller)
        if grid.filter is None:
            raise FeishuError(91402, "NOTEXIST: the sheet has no filter", http_status=404)
        col = _col_in(parse_range(grid.filter["range"]), grid, body.get("col"))
        grid.filter["conditions"][col] = [_condition(body.get("condition"))]
    return ok({})


async def get_filter(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        _, grid = _sheet_path(request, state, caller)
        if grid.filter is None:
            return ok({})
        return ok({"sheet_filter_info": _filter_info(grid)})


async def delete_filter(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        if grid.filter is not None:
            grid.filter = None
            book.bump()
    return ok({})


# -- v3: filter views and their conditions --------------------------------------------------


def _view(grid: Grid, view_id: str) -> dict[str, Any]:
    view = grid.filter_views.get(view_id)
    if view is None:
        raise FeishuError(91402, f"NOTEXIST: filter view {view_id}", http_status=404)
    return view


def _view_out(view: dict[str, Any]) -> dict[str, Any]:
    return {k: view[k] for k in ("filter_view_id", "filter_view_name", "range")}


def _view_name(name: Any) -> str:
    if not isinstance(name, str) or not name or len(name) > 100:
        raise _bad_body("filter_view_name must be 1 to 100 characters")
    return name


async def create_filter_view(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        target = _on_sheet(book, grid, body.get("range"))
        if len(grid.filter_views) >= MAX_FILTER_VIEWS:
            raise _limit(f"a sheet holds at most {MAX_FILTER_VIEWS} filter views")
        view_id = body.get("filter_view_id") or new_object_id()
        if not isinstance(view_id, str) or not re.fullmatch(r"[A-Za-z0-9]{10}", view_id):
            raise _bad_body("filter_view_id must be 10 letters or digits")
        if view_id in grid.filter_views:
            raise _bad_body(f"filter view {view_id} exists")
        name = body.get("filter_view_name")
        name = _view_name(name) if name is not None else f"Filter view {len(grid.filter_views) + 1}"
        view = {
            "filter_view_id": view_id,
            "filter_view_name": name,
            "range": target.text,
            "conditions": {},
        }
        grid.filter_views[view_id] = view
        book.bump()
        return ok({"filter_view": _view_out(view)})


async def query_filter_views(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        _, grid = _sheet_path(request, state, caller)
        return ok({"items": [_view_out(v) for v in grid.filter_views.values()]})


async def get_filter_view(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        _, grid = _sheet_path(request, state, caller)
        view = _view(grid, request.path_params["view_id"])
        return ok({"filter_view": _view_out(view)})


async def patch_filter_view(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        view = _view(grid, request.path_params["view_id"])
        if body.get("filter_view_name") is not None:
            view["filter_view_name"] = _view_name(body["filter_view_name"])
        if body.get("range") is not None:
            view["range"] = _on_sheet(book, grid, body["range"]).text
        book.bump()
        return ok({"filter_view": _view_out(view)})


async def delete_filter_view(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        _view(grid, request.path_params["view_id"])
        del grid.filter_views[request.path_params["view_id"]]
        book.bump()
    return ok({})


def _condition_out(col: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {"condition_id": col, **condition}


async def create_view_condition(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        view = _view(grid, request.path_params["view_id"])
        col = _col_in(parse_range(view["range"]), grid, body.get("condition_id"))
        if col in view["conditions"]:
            raise _bad_body(f"column {col} already has a condition: update it")
        view["conditions"][col] = _condition(body)
        book.bump()
        return ok({"condition": _condition_out(col, view["conditions"][col])})


async def query_view_conditions(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        _, grid = _sheet_path(request, state, caller)
        view = _view(grid, request.path_params["view_id"])
        items = [_condition_out(c, v) for c, v in view["conditions"].items()]
    return ok({"items": items})


def _view_condition(grid: Grid, request: Request) -> tuple[dict[str, Any], str]:
    view = _view(grid, request.path_params["view_id"])
    col = request.path_params["condition_id"]
    if col not in view["conditions"]:
        raise FeishuError(91402, f"NOTEXIST: condition {col}", http_status=404)
    return view, col


async def get_view_condition(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        _, grid = _sheet_path(request, state, caller)
        view, col = _view_condition(grid, request)
        return ok({"condition": _condition_out(col, view["conditions"][col])})


async def update_view_condition(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        view, col = _view_condition(grid, request)
        view["conditions"][col] = _condition(body)
        book.bump()
        return ok({"condition": _condition_out(col, view["conditions"][col])})


async def delete_view_condition(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        view, col = _view_condition(grid, request)
        del view["conditions"][col]
        book.bump()
    return ok({})


# -- v3: float images ---------------------------------------------------------------------------


def _image_fields(book: Workbook, grid: Grid, body: dict[str, Any], image: dict[str, Any]) -> None:
    if body.get("range") is not None:
        target = _on_sheet(book, grid, body["range"])
        if not target.bounded or (target.rows, target.columns) != (1, 1):
            raise _bad_range("a float image sits on one cell, e.g. <sheet_id>!A1:A1")
        image["range"] = target.text
    for key, low in (
        ("width", MIN_IMAGE_SIZE),
        ("height", MIN_IMAGE_SIZE),
        ("offset_x", 0),
        ("offset_y", 0),
    ):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
            raise _bad_body(f"{key} must be a number of pixels, {low} or more")
        image[key] = float(value)
    if body.get("float_image_token") is not None:
        if not isinstance(body["float_image_token"], str) or not body["float_image_token"]:
            raise _bad_body("float_image_token must be a media token")
        image["float_image_token"] = body["float_image_token"]


def _image(grid: Grid, request: Request) -> dict[str, Any]:
    image = grid.float_images.get(request.path_params["image_id"])
    if image is None:
        raise FeishuError(91402, "NOTEXIST: float image", http_status=404)
    return image


async def create_float_image(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    if not body.get("float_image_token") or not body.get("range"):
        raise _bad_body("float_image_token and range are required")
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        image_id = body.get("float_image_id") or new_object_id()
        if not isinstance(image_id, str) or not re.fullmatch(r"[A-Za-z0-9]{10}", image_id):
            raise _bad_body("float_image_id must be 10 letters or digits")
        if image_id in grid.float_images:
            raise _bad_body(f"float image {image_id} exists")
        image: dict[str, Any] = {
            "float_image_id": image_id,
            "width": 100.0,
            "height": 100.0,
            "offset_x": 0.0,
            "offset_y": 0.0,
        }
        _image_fields(book, grid, body, image)
        grid.float_images[image_id] = image
        book.bump()
        return ok({"float_image": dict(image)})


async def query_float_images(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        _, grid = _sheet_path(request, state, caller)
        return ok({"items": [dict(i) for i in grid.float_images.values()]})


async def get_float_image(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        _, grid = _sheet_path(request, state, caller)
        return ok({"float_image": dict(_image(grid, request))})


async def patch_float_image(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    body = await read_json(request, code=90201, msg="Wrong Request Json")
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        image = _image(grid, request)
        changed = dict(image)
        _image_fields(book, grid, body, changed)
        image.update(changed)
        book.bump()
        return ok({"float_image": dict(image)})


async def delete_float_image(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=_KINDS)
    with state.lock:
        book, grid = _sheet_path(request, state, caller)
        _image(grid, request)
        del grid.float_images[request.path_params["image_id"]]
        book.bump()
    return ok({})


_SHEET = V3 + "/{token}/sheets/{sheet_id}"


ROUTE_TABLE: tuple[tuple[str, str, Any], ...] = (
    ("POST", V3, create_spreadsheet),
    ("GET", V3 + "/{token}", get_spreadsheet),
    ("PATCH", V3 + "/{token}", patch_spreadsheet),
    ("GET", V3 + "/{token}/sheets/query", query_sheets),
    ("GET", V3 + "/{token}/sheets/{sheet_id}", get_sheet),
    ("POST", _SHEET + "/find", find_cells),
    ("POST", _SHEET + "/replace", replace_cells),
    ("POST", _SHEET + "/move_dimension", move_dimension),
    ("POST", _SHEET + "/filter", create_filter),
    ("PUT", _SHEET + "/filter", update_filter),
    ("GET", _SHEET + "/filter", get_filter),
    ("DELETE", _SHEET + "/filter", delete_filter),
    ("POST", _SHEET + "/filter_views", create_filter_view),
    ("GET", _SHEET + "/filter_views/query", query_filter_views),
    ("GET", _SHEET + "/filter_views/{view_id}", get_filter_view),
    ("PATCH", _SHEET + "/filter_views/{view_id}", patch_filter_view),
    ("DELETE", _SHEET + "/filter_views/{view_id}", delete_filter_view),
    ("POST", _SHEET + "/filter_views/{view_id}/conditions", create_view_condition),
    ("GET", _SHEET + "/filter_views/{view_id}/conditions/query", query_view_conditions),
    ("GET", _SHEET + "/filter_views/{view_id}/conditions/{condition_id}", get_view_condition),
    ("PUT", _SHEET + "/filter_views/{view_id}/conditions/{condition_id}", update_view_condition),
    (
        "DELETE",
        _SHEET + "/filter_views/{view_id}/conditions/{condition_id}",
        delete_view_condition,
    ),
    ("POST", _SHEET + "/float_images", create_float_image),
    ("GET", _SHEET + "/float_images/query", query_float_images),
    ("GET", _SHEET + "/float_images/{image_id}", get_float_image),
    ("PATCH", _SHEET + "/float_images/{image_id}", patch_float_image),
    ("DELETE", _SHEET + "/float_images/{image_id}", delete_float_image),
    ("GET", V2 + "/metainfo", metainfo),
    ("GET", V2 + "/values/{range}", read_values),
    ("PUT", V2 + "/values", write_values),
    ("GET", V2 + "/values_batch_get", read_values_batch),
    ("POST", V2 + "/values_batch_update", write_values_batch),
    ("POST", V2 + "/values_append", append_values),
    ("POST", V2 + "/values_prepend", prepend_values),
    ("PUT", V2 + "/style", set_style),
    ("PUT", V2 + "/styles_batch_update", set_styles),
    ("POST", V2 + "/merge_cells", merge_cells),
    ("POST", V2 + "/unmerge_cells", unmerge_cells),
    ("POST", V2 + "/dimension_range", add_dimension),
    ("PUT", V2 + "/dimension_range", update_dimension),
    ("DELETE", V2 + "/dimension_range", delete_dimension),
    ("POST", V2 + "/insert_dimension_range", insert_dimension),
    ("POST", V2 + "/sheets_batch_update", sheets_batch_update),
)
"""``(method, path, handler)`` of every Sheets endpoint."""


def routes(state: EmulatorState) -> list[BaseRoute]:
    """Sheets endpoints (v3 and v2). ``state`` is found on the app by each handler."""
    del state
    return [Route(path, handler, methods=[method]) for method, path, handler in ROUTE_TABLE]

"""Sheets: the official client against the emulator.

v3 (declared by lark_oapi 1.7.5): what the SDK sends must be accepted and the answers must
parse into its models. v2 is absent from the SDK: it is driven through the SDK's raw
``client.request(BaseRequest)`` with the shapes of ``openapi-reference.md`` §8, and the
answers are checked against that reference (and the shapes ``client.sheets`` reads).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from lark_service.testing.emulator.server import Emulator
from lark_service.testing.emulator.sheets_state import sheets_state


def _app_id(client: Any) -> str:
    return str(client._config.app_id)


@pytest.fixture
def book(official: Callable[..., Any], lark_emulator: Emulator) -> tuple[Any, str, str]:
    """(official client, spreadsheet token, first sheet id)."""
    client = official()
    made = sheets_state(lark_emulator).create("Conf", owner_app=_app_id(client))
    return client, made.token, made.sheets[0].sheet_id


def test_create_get_patch_spreadsheet(
    official: Callable[..., Any], lark_emulator: Emulator
) -> None:
    from lark_oapi.api.sheets.v3 import (
        CreateSpreadsheetRequest,
        GetSpreadsheetRequest,
        PatchSpreadsheetRequest,
        Spreadsheet,
        UpdateSpreadsheetProperties,
    )

    client = official()
    created = client.sheets.v3.spreadsheet.create(
        CreateSpreadsheetRequest.builder()
        .request_body(Spreadsheet.builder().title("Budget").folder_token("fld_conf").build())
        .build()
    )
    assert created.success(), (created.code, created.msg)
    sheet = created.data.spreadsheet
    assert sheet.title == "Budget" and sheet.folder_token == "fld_conf"
    assert sheet.spreadsheet_token and sheet.url
    token = sheet.spreadsheet_token

    got = client.sheets.v3.spreadsheet.get(
        GetSpreadsheetRequest.builder().spreadsheet_token(token).user_id_type("open_id").build()
    )
    assert got.success(), (got.code, got.msg)
    assert got.data.spreadsheet.token == token and got.data.spreadsheet.title == "Budget"
    assert got.data.spreadsheet.owner_id and got.get_log_id()

    patched = client.sheets.v3.spreadsheet.patch(
        PatchSpreadsheetRequest.builder()
        .spreadsheet_token(token)
        .request_body(UpdateSpreadsheetProperties.builder().title("Budget 2").build())
        .build()
    )
    assert patched.success(), (patched.code, patched.msg)
    assert sheets_state(lark_emulator).workbooks[token].title == "Budget 2"

    missing = client.sheets.v3.spreadsheet.get(
        GetSpreadsheetRequest.builder().spreadsheet_token("shtcn_nope").build()
    )
    assert missing.code == 91402


def test_query_and_get_sheet(book: tuple[Any, str, str], lark_emulator: Emulator) -> None:
    from lark_oapi.api.sheets.v3 import GetSpreadsheetSheetRequest, QuerySpreadsheetSheetRequest

    client, token, sheet_id = book
    grid = sheets_state(lark_emulator).workbooks[token].sheets[0]
    grid.frozen_rows, grid.merges = 1, [(1, 1, 2, 3)]
    queried = client.sheets.v3.spreadsheet_sheet.query(
        QuerySpreadsheetSheetRequest.builder().spreadsheet_token(token).build()
    )
    assert queried.success(), (queried.code, queried.msg)
    (sheet,) = queried.data.sheets
    assert (sheet.sheet_id, sheet.title, sheet.index, sheet.hidden) == (
        sheet_id,
        "Sheet1",
        0,
        False,
    )
    assert sheet.grid_properties.frozen_row_count == 1
    assert sheet.grid_properties.row_count == 200 and sheet.grid_properties.column_count == 20
    merge = sheet.merges[0]
    assert (merge.start_row_index, merge.end_row_index) == (0, 1)
    assert (merge.start_column_index, merge.end_column_index) == (0, 2)

    one = client.sheets.v3.spreadsheet_sheet.get(
        GetSpreadsheetSheetRequest.builder().spreadsheet_token(token).sheet_id(sheet_id).build()
    )
    assert one.success() and one.data.sheet.sheet_id == sheet_id
    unknown = client.sheets.v3.spreadsheet_sheet.get(
        GetSpreadsheetSheetRequest.builder().spreadsheet_token(token).sheet_id("zzzzzz").build()
    )
    assert unknown.code == 90215


def _raw(
    lark: Any, client: Any, method: str, uri: str, token: str, body: Any = None, **query: str
) -> dict[str, Any]:
    """A v2 call through the SDK's raw request; the parsed envelope."""
    builder = (
        lark.BaseRequest.builder()
        .http_method(getattr(lark.HttpMethod, method))
        .uri("/open-apis/sheets/v2/spreadsheets/:spreadsheetToken" + uri)
        .paths({"spreadsheetToken": token})
        .token_types({lark.AccessTokenType.TENANT})
    )
    if query:
        builder = builder.queries(list(query.items()))
    if body is not None:
        builder = builder.body(body)
    response = client.request(builder.build())
    envelope: dict[str, Any] = json.loads(response.raw.content)
    return envelope


def test_v2_values_against_the_reference(lark: Any, book: tuple[Any, str, str]) -> None:
    client, token, sid = book
    wrote = _raw(
        lark,
        client,
        "PUT",
        "/values",
        token,
        {"valueRange": {"range": f"{sid}!A1:B2", "values": [["a", 1], ["b", 2]]}},
    )
    assert wrote["code"] == 0, wrote
    assert {
        "revision",
        "spreadsheetToken",
        "updatedRange",
        "updatedRows",
        "updatedColumns",
        "updatedCells",
    } <= set(wrote["data"])
    assert wrote["data"]["updatedRange"] == f"{sid}!A1:B2"

    read = _raw(lark, client, "GET", f"/values/{sid}!A1:B2", token, valueRenderOption="ToString")
    assert read["code"] == 0
    assert read["data"]["valueRange"]["values"] == [["a", "1"], ["b", "2"]]
    assert read["data"]["valueRange"]["range"] == f"{sid}!A1:B2"

    batch = _raw(
        lark,
        client,
        "POST",
        "/values_batch_update",
        token,
        {"valueRanges": [{"range": f"{sid}!C1:C1", "values": [["c"]]}]},
    )
    assert batch["code"] == 0 and batch["data"]["responses"][0]["updatedCells"] == 1
    both = _raw(lark, client, "GET", "/values_batch_get", token, ranges=f"{sid}!A1:A1,{sid}!C1:C1")
    assert [v["values"] for v in both["data"]["valueRanges"]] == [[["a"]], [["c"]]]

    appended = _raw(
        lark,
        client,
        "POST",
        "/values_append",
        token,
        {"valueRange": {"range": f"{sid}!A1:B1", "values": [["z", 9]]}},
        insertDataOption="INSERT_ROWS",
    )
    assert appended["data"]["updates"]["updatedRange"] == f"{sid}!A3:B3"
    prepended = _raw(
        lark,
        client,
        "POST",
        "/values_prepend",
        token,
        {"valueRange": {"range": f"{sid}!A1:B1", "values": [["top", 0]]}},
    )
    assert prepended["data"]["updates"]["updatedRows"] == 1

    # the write limits: a 5,001-row write and a 50,001-character cell are refused
    too_many = _raw(
        lark,
        client,
        "PUT",
        "/values",
        token,
        {"valueRange": {"range": f"{sid}!A1", "values": [[1]] * 5001}},
    )
    assert too_many["code"] == 90226
    too_long = _raw(
        lark,
        client,
        "PUT",
        "/values",
        token,
        {"valueRange": {"range": f"{sid}!A1", "values": [["x" * 50_001]]}},
    )
    assert too_long["code"] == 90222
    mismatch = _raw(
        lark,
        client,
        "PUT",
        "/values",
        token,
        {"valueRange": {"range": f"{sid}!A1:A2", "values": [[1]]}},
    )
    assert mismatch["code"] == 90202


def test_v2_styles_merges_dimensions_sheets(
    lark: Any, book: tuple[Any, str, str], lark_emulator: Emulator
) -> None:
    client, token, sid = book
    grid = sheets_state(lark_emulator).workbooks[token].sheets[0]
    styled = _raw(
        lark,
        client,
        "PUT",
        "/style",
        token,
        {
            "appendStyle": {
                "range": f"{sid}!A1:B1",
                "style": {"font": {"bold": True}, "backColor": "#21d11f"},
            }
        },
    )
    assert styled["code"] == 0 and styled["data"]["updates"]["updatedCells"] == 2
    batch = _raw(
        lark,
        client,
        "PUT",
        "/styles_batch_update",
        token,
        {"data": [{"ranges": [f"{sid}!C1:C2"], "style": {"hAlign": 1}}]},
    )
    assert batch["code"] == 0 and grid.styles[(2, 3)] == {"hAlign": 1}
    merged = _raw(
        lark,
        client,
        "POST",
        "/merge_cells",
        token,
        {"range": f"{sid}!A1:B2", "mergeType": "MERGE_ALL"},
    )
    assert merged["code"] == 0 and grid.merges == [(1, 1, 2, 2)]
    assert (
        _raw(lark, client, "POST", "/unmerge_cells", token, {"range": f"{sid}!A1:B2"})["code"] == 0
    )
    added = _raw(
        lark,
        client,
        "POST",
        "/dimension_range",
        token,
        {"dimension": {"sheetId": sid, "majorDimension": "ROWS", "length": 10}},
    )
    assert added["data"] == {"addCount": 10, "majorDimension": "ROWS"}
    inserted = _raw(
        lark,
        client,
        "POST",
        "/insert_dimension_range",
        token,
        {
            "dimension": {"sheetId": sid, "majorDimension": "ROWS", "startIndex": 0, "endIndex": 2},
            "inheritStyle": "AFTER",
        },
    )
    assert inserted["code"] == 0 and grid.styles[(3, 1)]["backColor"] == "#21d11f"
    updated = _raw(
        lark,
        client,
        "PUT",
        "/dimension_range",
        token,
        {
            "dimension": {
                "sheetId": sid,
                "majorDimension": "COLUMNS",
                "startIndex": 1,
                "endIndex": 2,
            },
            "dimensionProperties": {"visible": True, "fixedSize": 88},
        },
    )
    assert updated["code"] == 0 and grid.column_sizes == {1: 88, 2: 88}
    deleted = _raw(
        lark,
        client,
        "DELETE",
        "/dimension_range",
        token,
        {"dimension": {"sheetId": sid, "majorDimension": "ROWS", "startIndex": 1, "endIndex": 2}},
    )
    assert deleted["data"] == {"delCount": 2, "majorDimension": "ROWS"}
    ops = _raw(
        lark,
        client,
        "POST",
        "/sheets_batch_update",
        token,
        {
            "requests": [
                {"addSheet": {"properties": {"title": "New", "index": 1}}},
                {
                    "updateSheet": {
                        "properties": {"sheetId": sid, "frozenRowCount": 1, "frozenColCount": 1}
                    }
                },
            ]
        },
    )
    assert ops["code"] == 0
    new = ops["data"]["replies"][0]["addSheet"]["properties"]
    assert new["title"] == "New" and new["index"] == 1 and new["sheetId"]
    assert (grid.frozen_rows, grid.frozen_columns) == (1, 1)
    copied = _raw(
        lark,
        client,
        "POST",
        "/sheets_batch_update",
        token,
        {
            "requests": [
                {"copySheet": {"source": {"sheetId": sid}, "destination": {"title": "Copy"}}}
            ]
        },
    )
    copy_id = copied["data"]["replies"][0]["copySheet"]["properties"]["sheetId"]
    removed = _raw(
        lark,
        client,
        "POST",
        "/sheets_batch_update",
        token,
        {"requests": [{"deleteSheet": {"sheetId": copy_id}}]},
    )
    assert removed["data"]["replies"][0]["deleteSheet"] == {"result": True, "sheetId": copy_id}
    meta = _raw(lark, client, "GET", "/metainfo", token)
    assert [s["title"] for s in meta["data"]["sheets"]] == ["Sheet1", "New"]


# -- v3 endpoints beyond spreadsheets and sheets (declared by lark_oapi 1.7.5) ----------------


def _filled(lark_emulator: Emulator, token: str, sid: str) -> None:
    grid = sheets_state(lark_emulator).workbooks[token].sheet(sid)
    assert grid is not None
    for r, row in enumerate([["name", "score"], ["ann", 90], ["ben", 75], ["cat", 82]], start=1):
        for c, value in enumerate(row, start=1):
            grid.cells[(r, c)] = value


def test_find_replace_move_dimension(book: tuple[Any, str, str], lark_emulator: Emulator) -> None:
    from lark_oapi.api.sheets.v3 import (
        Dimension,
        Find,
        FindCondition,
        FindSpreadsheetSheetRequest,
        MoveDimension,
        MoveDimensionSpreadsheetSheetRequest,
        Replace,
        ReplaceSpreadsheetSheetRequest,
    )

    client, token, sid = book
    _filled(lark_emulator, token, sid)
    grid = sheets_state(lark_emulator).workbooks[token].sheets[0]
    condition = (
        FindCondition.builder()
        .range(f"{sid}!A1:B4")
        .match_case(False)
        .match_entire_cell(False)
        .search_by_regex(False)
        .include_formulas(False)
        .build()
    )
    found = client.sheets.v3.spreadsheet_sheet.find(
        FindSpreadsheetSheetRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .request_body(Find.builder().find_condition(condition).find("an").build())
        .build()
    )
    assert found.success(), (found.code, found.msg)
    result = found.data.find_result
    assert result.matched_cells == ["A2"] and result.rows_count == 1
    assert result.matched_formula_cells == []

    replaced = client.sheets.v3.spreadsheet_sheet.replace(
        ReplaceSpreadsheetSheetRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .request_body(
            Replace.builder().find_condition(condition).find("ann").replacement("amy").build()
        )
        .build()
    )
    assert replaced.success(), (replaced.code, replaced.msg)
    assert replaced.data.replace_result.matched_cells == ["A2"]
    assert grid.cells[(2, 1)] == "amy"

    moved = client.sheets.v3.spreadsheet_sheet.move_dimension(
        MoveDimensionSpreadsheetSheetRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .request_body(
            MoveDimension.builder()
            .source(Dimension.builder().major_dimension("ROWS").start_index(3).end_index(3).build())
            .destination_index(1)
            .build()
        )
        .build()
    )
    assert moved.success(), (moved.code, moved.msg)
    assert [grid.cells[(r, 1)] for r in range(1, 5)] == ["name", "cat", "amy", "ben"]

    bad = client.sheets.v3.spreadsheet_sheet.find(
        FindSpreadsheetSheetRequest.builder()
        .spreadsheet_token(token)
        .sheet_id("zzzzzz")
        .request_body(Find.builder().find_condition(condition).find("x").build())
        .build()
    )
    assert bad.code == 90215


def test_filter(book: tuple[Any, str, str], lark_emulator: Emulator) -> None:
    from lark_oapi.api.sheets.v3 import (
        Condition,
        CreateSheetFilter,
        CreateSpreadsheetSheetFilterRequest,
        DeleteSpreadsheetSheetFilterRequest,
        GetSpreadsheetSheetFilterRequest,
        UpdateSheetFilter,
        UpdateSpreadsheetSheetFilterRequest,
    )

    client, token, sid = book
    _filled(lark_emulator, token, sid)
    over_80 = (
        Condition.builder().filter_type("number").compare_type("greater").expected(["80"]).build()
    )
    created = client.sheets.v3.spreadsheet_sheet_filter.create(
        CreateSpreadsheetSheetFilterRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .request_body(
            CreateSheetFilter.builder().range(f"{sid}!A1:B4").col("B").condition(over_80).build()
        )
        .build()
    )
    assert created.success(), (created.code, created.msg)

    def get() -> Any:
        got = client.sheets.v3.spreadsheet_sheet_filter.get(
            GetSpreadsheetSheetFilterRequest.builder()
            .spreadsheet_token(token)
            .sheet_id(sid)
            .build()
        )
        assert got.success(), (got.code, got.msg)
        return got.data.sheet_filter_info

    info = get()
    assert info.range == f"{sid}!A1:B4" and info.filtered_out_rows == [3]
    assert info.filter_infos[0].col == "B"
    assert info.filter_infos[0].conditions[0].expected == ["80"]

    updated = client.sheets.v3.spreadsheet_sheet_filter.update(
        UpdateSpreadsheetSheetFilterRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .request_body(
            UpdateSheetFilter.builder()
            .col("A")
            .condition(Condition.builder().filter_type("hiddenValue").expected(["ann"]).build())
            .build()
        )
        .build()
    )
    assert updated.success(), (updated.code, updated.msg)
    assert get().filtered_out_rows == [2, 3]

    deleted = client.sheets.v3.spreadsheet_sheet_filter.delete(
        DeleteSpreadsheetSheetFilterRequest.builder().spreadsheet_token(token).sheet_id(sid).build()
    )
    assert deleted.success(), (deleted.code, deleted.msg)
    assert get() is None


def test_filter_views_and_conditions(book: tuple[Any, str, str]) -> None:
    from lark_oapi.api.sheets.v3 import (
        CreateSpreadsheetSheetFilterViewConditionRequest,
        CreateSpreadsheetSheetFilterViewRequest,
        DeleteSpreadsheetSheetFilterViewConditionRequest,
        DeleteSpreadsheetSheetFilterViewRequest,
        FilterView,
        FilterViewCondition,
        GetSpreadsheetSheetFilterViewConditionRequest,
        GetSpreadsheetSheetFilterViewRequest,
        PatchSpreadsheetSheetFilterViewRequest,
        QuerySpreadsheetSheetFilterViewConditionRequest,
        QuerySpreadsheetSheetFilterViewRequest,
        UpdateSpreadsheetSheetFilterViewConditionRequest,
    )

    client, token, sid = book
    views = client.sheets.v3.spreadsheet_sheet_filter_view
    created = views.create(
        CreateSpreadsheetSheetFilterViewRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .request_body(
            FilterView.builder()
            .filter_view_id("pH9hbVcCXA")
            .filter_view_name("Mine")
            .range(f"{sid}!A1:H14")
            .build()
        )
        .build()
    )
    assert created.success(), (created.code, created.msg)
    view = created.data.filter_view
    assert (view.filter_view_id, view.filter_view_name, view.range) == (
        "pH9hbVcCXA",
        "Mine",
        f"{sid}!A1:H14",
    )
    vid = view.filter_view_id

    patched = views.patch(
        PatchSpreadsheetSheetFilterViewRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .filter_view_id(vid)
        .request_body(FilterView.builder().filter_view_name("Ours").build())
        .build()
    )
    assert patched.success() and patched.data.filter_view.filter_view_name == "Ours"
    got = views.get(
        GetSpreadsheetSheetFilterViewRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .filter_view_id(vid)
        .build()
    )
    assert got.success() and got.data.filter_view.range == f"{sid}!A1:H14"
    queried = views.query(
        QuerySpreadsheetSheetFilterViewRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .build()
    )
    assert queried.success() and [v.filter_view_id for v in queried.data.items] == [vid]

    conditions = client.sheets.v3.spreadsheet_sheet_filter_view_condition
    made = conditions.create(
        CreateSpreadsheetSheetFilterViewConditionRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .filter_view_id(vid)
        .request_body(
            FilterViewCondition.builder()
            .condition_id("E")
            .filter_type("number")
            .compare_type("less")
            .expected(["6"])
            .build()
        )
        .build()
    )
    assert made.success(), (made.code, made.msg)
    assert made.data.condition.condition_id == "E" and made.data.condition.expected == ["6"]
    changed = conditions.update(
        UpdateSpreadsheetSheetFilterViewConditionRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .filter_view_id(vid)
        .condition_id("E")
        .request_body(
            FilterViewCondition.builder()
            .filter_type("text")
            .compare_type("beginsWith")
            .expected(["a"])
            .build()
        )
        .build()
    )
    assert changed.success() and changed.data.condition.filter_type == "text"
    one = conditions.get(
        GetSpreadsheetSheetFilterViewConditionRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .filter_view_id(vid)
        .condition_id("E")
        .build()
    )
    assert one.success() and one.data.condition.compare_type == "beginsWith"
    listed = conditions.query(
        QuerySpreadsheetSheetFilterViewConditionRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .filter_view_id(vid)
        .build()
    )
    assert listed.success() and [c.condition_id for c in listed.data.items] == ["E"]
    gone = conditions.delete(
        DeleteSpreadsheetSheetFilterViewConditionRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .filter_view_id(vid)
        .condition_id("E")
        .build()
    )
    assert gone.success(), (gone.code, gone.msg)

    removed = views.delete(
        DeleteSpreadsheetSheetFilterViewRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .filter_view_id(vid)
        .build()
    )
    assert removed.success(), (removed.code, removed.msg)
    missing = views.get(
        GetSpreadsheetSheetFilterViewRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .filter_view_id(vid)
        .build()
    )
    assert missing.code == 91402


def test_float_images(book: tuple[Any, str, str]) -> None:
    from lark_oapi.api.sheets.v3 import (
        CreateSpreadsheetSheetFloatImageRequest,
        DeleteSpreadsheetSheetFloatImageRequest,
        FloatImage,
        GetSpreadsheetSheetFloatImageRequest,
        PatchSpreadsheetSheetFloatImageRequest,
        QuerySpreadsheetSheetFloatImageRequest,
    )

    client, token, sid = book
    images = client.sheets.v3.spreadsheet_sheet_float_image
    created = images.create(
        CreateSpreadsheetSheetFloatImageRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .request_body(
            FloatImage.builder()
            .float_image_id("ye06SS14ph")
            .float_image_token("boxbcbQsaSqIXsxxxxx1HCPJFbh")
            .range(f"{sid}!A1:A1")
            .width(100.0)
            .height(100.0)
            .offset_x(0.0)
            .offset_y(0.0)
            .build()
        )
        .build()
    )
    assert created.success(), (created.code, created.msg)
    image = created.data.float_image
    assert image.float_image_id == "ye06SS14ph" and image.range == f"{sid}!A1:A1"
    assert image.float_image_token == "boxbcbQsaSqIXsxxxxx1HCPJFbh" and image.width == 100.0

    patched = images.patch(
        PatchSpreadsheetSheetFloatImageRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .float_image_id("ye06SS14ph")
        .request_body(FloatImage.builder().range(f"{sid}!B2:B2").offset_x(5.0).build())
        .build()
    )
    assert patched.success(), (patched.code, patched.msg)
    assert patched.data.float_image.range == f"{sid}!B2:B2"
    assert patched.data.float_image.offset_x == 5.0
    got = images.get(
        GetSpreadsheetSheetFloatImageRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .float_image_id("ye06SS14ph")
        .build()
    )
    assert got.success() and got.data.float_image.height == 100.0
    queried = images.query(
        QuerySpreadsheetSheetFloatImageRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .build()
    )
    assert queried.success() and [i.float_image_id for i in queried.data.items] == ["ye06SS14ph"]
    two_cells = images.create(
        CreateSpreadsheetSheetFloatImageRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .request_body(
            FloatImage.builder().float_image_token("boxb_x").range(f"{sid}!A1:B2").build()
        )
        .build()
    )
    assert two_cells.code == 90202
    deleted = images.delete(
        DeleteSpreadsheetSheetFloatImageRequest.builder()
        .spreadsheet_token(token)
        .sheet_id(sid)
        .float_image_id("ye06SS14ph")
        .build()
    )
    assert deleted.success(), (deleted.code, deleted.msg)

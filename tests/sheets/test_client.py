"""client.sheets against the emulator: v3 spreadsheets, values in chunks, styles, merges,
dimensions, frozen panes, sheet operations, and local checks before any request."""

from __future__ import annotations

from datetime import date

import pytest

from lark_service import AsyncLarkClient, LarkClient
from lark_service.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from lark_service.sheets import from_serial
from lark_service.testing import Emulator
from lark_service.testing.emulator.sheets_state import Workbook, sheets_state

from .conftest import sheet_calls


def test_create_get_and_list(client: LarkClient, emu: Emulator) -> None:
    created = client.sheets.create_spreadsheet("Dashboard", folder_token="fld_x")
    assert created.title == "Dashboard" and created.folder_token == "fld_x"
    assert created.spreadsheet_token.startswith("shtcn") and created.url
    got = client.sheets.get_spreadsheet(created.spreadsheet_token)
    assert got.spreadsheet_token == created.spreadsheet_token and got.title == "Dashboard"
    assert got.owner_id and got.request_id
    (sheet,) = client.sheets.list_sheets(created.spreadsheet_token)
    assert sheet.title == "Sheet1" and sheet.index == 0
    assert sheet.grid_properties is not None and sheet.grid_properties.row_count == 200
    assert client.sheets.get_sheet(created.spreadsheet_token, "Sheet1").sheet_id == sheet.sheet_id


def test_write_and_read_by_title(client: LarkClient, emu: Emulator, book: Workbook) -> None:
    sheet_id = book.sheets[0].sheet_id
    result = client.sheets.update_sheet_data(
        "shtcn_ops", "Sheet1!B2", [["name", "score"], ["ann", 90], ["ben", 75.5]]
    )
    assert result.updated_range == f"{sheet_id}!B2:C4"
    assert (result.updated_rows, result.updated_columns, result.updated_cells) == (3, 2, 6)
    assert result.calls == 1
    read = client.sheets.get_sheet_data("shtcn_ops", f"{sheet_id}!B2:C4")
    assert read.values == [["name", "score"], ["ann", 90], ["ben", 75.5]]
    as_text = client.sheets.get_sheet_data("shtcn_ops", "Sheet1!C3:C4", render="ToString")
    assert as_text.values == [["90"], ["75.5"]]
    # the title was resolved once: one list call for all of the above
    assert sheet_calls(emu, "/open-apis/sheets/v3/*/sheets/query") == 1
    both = client.sheets.get_sheet_data_batch("shtcn_ops", ["Sheet1!B2:B2", "Sheet1!C2"])
    assert [v.values for v in both] == [[["name"]], [["score"]]]


def test_big_write_is_chunked_under_5000_rows(
    client: LarkClient, emu: Emulator, book: Workbook
) -> None:
    rows = [[f"r{r}c{c}" for c in range(10)] for r in range(12_001)]
    seen: list[tuple[int, int]] = []
    result = client.sheets.update_sheet_data(
        "shtcn_ops", "Sheet1!A1", rows, progress=lambda done, total: seen.append((done, total))
    )
    assert result.calls == 3 == sheet_calls(emu, "/open-apis/sheets/v2/*/values", "PUT")
    assert seen == [(5000, 12_001), (10_000, 12_001), (12_001, 12_001)]
    assert result.updated_cells == 120_010 and result.updated_rows == 12_001
    grid = book.sheets[0]
    assert grid.cells[(12_001, 10)] == "r12000c9" and grid.cells[(5001, 1)] == "r5000c0"


def test_wide_write_is_cut_at_100_columns(
    client: LarkClient, emu: Emulator, book: Workbook
) -> None:
    rows = [list(range(150)) for _ in range(3)]
    result = client.sheets.update_sheet_data("shtcn_ops", "Sheet1!A1", rows)
    assert result.calls == 2 and result.updated_cells == 450
    assert book.sheets[0].cells[(3, 150)] == 149


def test_emulator_refuses_what_the_client_would_cut(emu: Emulator, book: Workbook) -> None:
    sheets_state(emu).max_write_rows = 2
    with LarkClient(app_id="cli_sheets_a", app_secret="secret-a", base_url=emu.url) as client:
        from lark_service.errors import QuotaExceededError

        with pytest.raises(QuotaExceededError) as info:
            client.request(
                "PUT",
                "/open-apis/sheets/v2/spreadsheets/shtcn_ops/values",
                json={
                    "valueRange": {
                        "range": f"{book.sheets[0].sheet_id}!A1:A3",
                        "values": [[1], [2], [3]],
                    }
                },
            )
        assert info.value.code == 90226


@pytest.mark.parametrize(
    ("range_", "values", "match"),
    [
        ("Sheet1!A1", [[1, 2], [3]], "ragged"),
        ("Sheet1!A1", [["x" * 50_001]], "50000"),
        ("Sheet1!A1:B1", [[1, 2], [3, 4]], "values are 2 × 2"),
        ("Sheet1!B1:A1", [[1]], "starts after"),
        ("Sheet1!", [[1]], "nothing after"),
        ("Sheet1!A1", [], "no rows"),
    ],
)
def test_local_checks_send_nothing(
    client: LarkClient,
    emu: Emulator,
    book: Workbook,
    range_: str,
    values: list[list[object]],
    match: str,
) -> None:
    client.sheets.list_sheets("shtcn_ops")  # warm the title cache
    before = sheet_calls(emu)
    with pytest.raises(ValidationError, match=match):
        client.sheets.update_sheet_data("shtcn_ops", range_, values)
    assert sheet_calls(emu) == before


def test_unknown_sheet_and_spreadsheet(client: LarkClient, emu: Emulator, book: Workbook) -> None:
    with pytest.raises(NotFoundError, match="'Sheet1'"):
        client.sheets.get_sheet_data("shtcn_ops", "Nope!A1")
    with pytest.raises(NotFoundError) as info:
        client.sheets.get_spreadsheet("shtcn_missing")
    assert info.value.code == 91402
    sheets_state(emu).create("theirs", owner_app="cli_other", token="shtcn_theirs")
    with pytest.raises(PermissionDeniedError):
        client.sheets.list_sheets("shtcn_theirs")


def test_append_and_prepend_in_chunks(client: LarkClient, emu: Emulator, book: Workbook) -> None:
    client.sheets.update_sheet_data("shtcn_ops", "Sheet1!A1", [["h1", "h2"], ["a", 1]])
    rows = [[f"x{i}", i] for i in range(7000)]
    appended = client.sheets.append_sheet_data("shtcn_ops", "Sheet1!A1:B1", rows)
    assert appended.calls == 2 and appended.updated_rows == 7000
    grid = book.sheets[0]
    assert grid.cells[(3, 1)] == "x0" and grid.cells[(7002, 1)] == "x6999"
    prepended = client.sheets.prepend_sheet_data(
        "shtcn_ops", "Sheet1!A1", [[f"p{i}", i] for i in range(6000)]
    )
    assert prepended.calls == 2
    assert grid.cells[(1, 1)] == "p0" and grid.cells[(6000, 1)] == "p5999"
    assert grid.cells[(6001, 1)] == "h1"
    # appends are not retried: a write Feishu may have applied must not run twice
    emu.inject_fault("/open-apis/sheets/v2/*/values_append", "status", status=500)
    from lark_service.errors import ServerError

    with pytest.raises(ServerError):
        client.sheets.append_sheet_data("shtcn_ops", "Sheet1!A1:B1", [["y", 1]])
    assert sheet_calls(emu, "/open-apis/sheets/v2/*/values_append") == 3


def test_dates_serial_and_formatted(client: LarkClient, book: Workbook) -> None:
    client.sheets.update_sheet_data("shtcn_ops", "Sheet1!A1", [[date(2024, 3, 5)]])
    client.sheets.set_style("shtcn_ops", "Sheet1!A1:A1", number_format="yyyy/MM/dd")
    serial = client.sheets.get_sheet_data("shtcn_ops", "Sheet1!A1:A1").values[0][0]
    assert from_serial(serial).date() == date(2024, 3, 5)
    shown = client.sheets.get_sheet_data("shtcn_ops", "Sheet1!A1:A1", dates="formatted")
    assert shown.values == [["2024/03/05"]]
    with pytest.raises(ValidationError):
        client.sheets.get_sheet_data("shtcn_ops", "Sheet1!A1", dates="iso")  # type: ignore[arg-type]


def test_styles_merges_dimensions_freeze(client: LarkClient, emu: Emulator, book: Workbook) -> None:
    grid = book.sheets[0]
    client.sheets.set_style("shtcn_ops", "Sheet1!A1:C1", bold=True, background="#FFF2CC")
    assert grid.styles[(1, 3)] == {"font": {"bold": True}, "backColor": "#FFF2CC"}
    client.sheets.set_styles("shtcn_ops", [(["Sheet1!A2:A3", "Sheet1!C2:C3"], {"hAlign": 2})])
    assert grid.styles[(3, 3)] == {"hAlign": 2}
    # a border style over 30,000 cells is cut into calls
    calls = sheet_calls(emu, "/open-apis/sheets/v2/*/style")
    result = client.sheets.set_style("shtcn_ops", "Sheet1!A1:J4000", border="full")
    assert result.calls == 2 == sheet_calls(emu, "/open-apis/sheets/v2/*/style") - calls
    with pytest.raises(ValidationError, match="unknown style keys"):
        client.sheets.set_style("shtcn_ops", "Sheet1!A1:A1", {"fontColour": "#000"})
    client.sheets.merge_cells("shtcn_ops", "Sheet1!A1:C1")
    client.sheets.merge_cells("shtcn_ops", "Sheet1!A5:B6", how="rows")
    assert grid.merges == [(1, 1, 1, 3), (5, 1, 5, 2), (6, 1, 6, 2)]
    merges = client.sheets.get_sheet("shtcn_ops", "Sheet1").merges or []
    assert (merges[0].start_row_index, merges[0].end_column_index) == (0, 2)
    client.sheets.unmerge_cells("shtcn_ops", "Sheet1!A5:B6")
    assert grid.merges == [(1, 1, 1, 3)]
    client.sheets.set_dimension("shtcn_ops", "Sheet1", columns=("A", "C"), size=120)
    client.sheets.set_dimension("shtcn_ops", "Sheet1", rows=(2, 3), visible=False)
    assert grid.column_sizes == {1: 120, 2: 120, 3: 120} and grid.hidden_rows == {2, 3}
    frozen = client.sheets.freeze("shtcn_ops", "Sheet1", rows=1, cols=2)
    assert frozen.grid_properties is not None
    assert frozen.grid_properties.frozen_row_count == 1
    (sheet,) = client.sheets.list_sheets("shtcn_ops")
    assert sheet.grid_properties is not None
    assert (sheet.grid_properties.frozen_row_count, sheet.grid_properties.frozen_column_count) == (
        1,
        2,
    )
    with pytest.raises(ValidationError):
        client.sheets.set_dimension("shtcn_ops", "Sheet1", rows=1)


def test_rows_and_columns(client: LarkClient, book: Workbook) -> None:
    grid = book.sheets[0]
    client.sheets.update_sheet_data("shtcn_ops", "Sheet1!A1", [["a"], ["b"], ["c"]])
    client.sheets.insert_rows("shtcn_ops", "Sheet1", 2, 2)
    assert [grid.cells.get((r, 1)) for r in range(1, 6)] == ["a", None, None, "b", "c"]
    client.sheets.delete_rows("shtcn_ops", "Sheet1", 2, 3)
    assert [grid.cells.get((r, 1)) for r in range(1, 4)] == ["a", "b", "c"]
    client.sheets.insert_columns("shtcn_ops", "Sheet1", "A", 1)
    assert grid.cells[(1, 2)] == "a"
    client.sheets.delete_columns("shtcn_ops", "Sheet1", "A", "A")
    assert grid.cells[(1, 1)] == "a"
    rows_before = grid.row_count
    client.sheets.add_rows("shtcn_ops", "Sheet1", 12_000)
    assert grid.row_count == rows_before + 12_000
    client.sheets.add_columns("shtcn_ops", "Sheet1", 5)
    assert grid.column_count == 25


def test_sheet_operations(client: LarkClient, book: Workbook) -> None:
    added = client.sheets.add_sheet("shtcn_ops", "Q1")
    assert added.title == "Q1" and added.index == 1
    client.sheets.update_sheet_data("shtcn_ops", "Q1!A1", [["kept"]])
    copied = client.sheets.copy_sheet("shtcn_ops", "Q1", "Q1 copy")
    assert client.sheets.get_sheet_data("shtcn_ops", "Q1 copy!A1:A1").values == [["kept"]]
    renamed = client.sheets.rename_sheet("shtcn_ops", copied.sheet_id, "Q2")
    assert renamed.title == "Q2"
    # the title cache follows the rename
    assert client.sheets.get_sheet_data("shtcn_ops", "Q2!A1:A1").values == [["kept"]]
    with pytest.raises(ConflictError):
        client.sheets.add_sheet("shtcn_ops", "Q1")
    client.sheets.delete_sheet("shtcn_ops", "Q2")
    assert [s.title for s in client.sheets.list_sheets("shtcn_ops")] == ["Sheet1", "Q1"]


@pytest.mark.anyio
async def test_async_client(aclient: AsyncLarkClient, book: Workbook) -> None:
    async with aclient:
        result = await aclient.sheets.update_sheet_data("shtcn_ops", "Sheet1!A1", [[1, 2], [3, 4]])
        assert result.updated_cells == 4
        read = await aclient.sheets.get_sheet_data("shtcn_ops", "Sheet1!A1:B2")
        assert read.values == [[1, 2], [3, 4]]

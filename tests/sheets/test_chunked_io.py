"""Reads cut into bands (5,000 rows, halved on 90221) and writes halved on 90227."""

from __future__ import annotations

import pytest

from lark_service import LarkClient
from lark_service.errors import QuotaExceededError
from lark_service.testing import Emulator
from lark_service.testing.emulator.sheets_state import Workbook, sheets_state

from .conftest import sheet_calls

READS = "/open-apis/sheets/v2/*/values/*"


def test_long_bounded_read_is_cut_into_bands(
    client: LarkClient, emu: Emulator, book: Workbook
) -> None:
    rows = [[f"r{r}", r] for r in range(12_001)]
    client.sheets.update_sheet_data("shtcn_ops", "Sheet1!A1", rows)
    before = sheet_calls(emu, READS, "GET")
    got = client.sheets.get_sheet_data("shtcn_ops", "Sheet1!A1:B12001")
    assert sheet_calls(emu, READS, "GET") - before == 3  # ceil(12,001 / 5,000)
    assert got.values == rows
    assert got.range == f"{book.sheets[0].sheet_id}!A1:B12001"
    assert got.revision == book.revision


def test_read_answered_90221_is_halved_until_it_fits(
    client: LarkClient, emu: Emulator, book: Workbook
) -> None:
    rows = [["x" * 50, r] for r in range(40)]
    client.sheets.update_sheet_data("shtcn_ops", "Sheet1!A1", rows)
    sheets_state(emu).max_read_bytes = 700  # about 10 rows per answer
    before = sheet_calls(emu, READS, "GET")
    bounded = client.sheets.get_sheet_data("shtcn_ops", "Sheet1!A1:B40")
    assert bounded.values == rows
    assert sheet_calls(emu, READS, "GET") - before > 2
    # open-ended: closed at the sheet's size, read in bands, empty rows at the bottom dropped
    opened = client.sheets.get_sheet_data("shtcn_ops", "Sheet1!A:B")
    assert opened.values == rows
    assert opened.range == f"{book.sheets[0].sheet_id}!A1:B40"


def test_one_row_too_large_to_read_raises(
    client: LarkClient, emu: Emulator, book: Workbook
) -> None:
    client.sheets.update_sheet_data("shtcn_ops", "Sheet1!A1", [["x" * 500], ["y"]])
    sheets_state(emu).max_read_bytes = 100
    with pytest.raises(QuotaExceededError) as caught:
        client.sheets.get_sheet_data("shtcn_ops", "Sheet1!A1:A2")
    assert caught.value.code == 90221


def test_write_answered_90227_is_halved(client: LarkClient, emu: Emulator, book: Workbook) -> None:
    sheets_state(emu).max_write_bytes = 2_000
    rows = [["v" * 40, r] for r in range(100)]
    result = client.sheets.update_sheet_data("shtcn_ops", "Sheet1!A1", rows)
    assert result.updated_rows == 100 and result.updated_cells == 200
    assert result.calls > 1
    grid = book.sheets[0]
    assert [grid.cells.get((r + 1, 2)) for r in range(100)] == list(range(100))
    assert grid.cells[(100, 1)] == "v" * 40
    sheets_state(emu).max_write_bytes = 50
    with pytest.raises(QuotaExceededError) as caught:
        client.sheets.update_sheet_data("shtcn_ops", "Sheet1!A1", [["z" * 100]])
    assert caught.value.code == 90227

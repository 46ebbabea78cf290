"""``lark-service sheet get|put`` against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lark_service.cli import cli
from lark_service.testing import Emulator
from lark_service.testing.emulator.sheets_state import Workbook

from .conftest import APP, sheet_calls


@pytest.fixture
def runner(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LARK_APP_ID", APP[0])
    monkeypatch.setenv("LARK_APP_SECRET", APP[1])
    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    return CliRunner()


def test_put_then_get_csv(runner: CliRunner, emu: Emulator, book: Workbook, tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    lines = ["name,score,note"] + [f"n{i},{i},x" for i in range(6000)] + ["short,1"]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    put = runner.invoke(cli, ["sheet", "put", "shtcn_ops", "Sheet1!A1", str(data)])
    assert put.exit_code == 0, put.output
    assert "6002 rows" in put.output and "2 call(s)" in put.output
    grid = book.sheets[0]
    assert grid.cells[(2, 2)] == 0 and grid.cells[(6002, 1)] == "short"
    assert (6002, 3) not in grid.cells  # the short row was padded with an empty cell
    assert sheet_calls(emu, "/open-apis/sheets/v2/*/values", "PUT") == 2

    got = runner.invoke(cli, ["sheet", "get", "shtcn_ops", "Sheet1!A1:C3", "--csv"])
    assert got.exit_code == 0, got.output
    assert got.output == "name,score,note\nn0,0,x\nn1,1,x\n"
    shown = runner.invoke(cli, ["sheet", "get", "shtcn_ops", "Sheet1!A1:B2"])
    assert shown.exit_code == 0 and "score" in shown.output


def test_errors_are_clean(runner: CliRunner, book: Workbook, tmp_path: Path) -> None:
    bad = runner.invoke(cli, ["sheet", "get", "shtcn_ops", "Sheet1!B2:A1"])
    assert bad.exit_code == 2 and "ValidationError" in bad.output
    assert "Traceback" not in bad.output
    missing = runner.invoke(cli, ["sheet", "get", "shtcn_ops", "Nope!A1"])
    assert missing.exit_code == 1 and "NotFoundError" in missing.output
    empty = tmp_path / "empty.csv"
    empty.write_text("\n", encoding="utf-8")
    result = runner.invoke(cli, ["sheet", "put", "shtcn_ops", "Sheet1!A1", str(empty)])
    assert result.exit_code == 2 and "no rows" in result.output
    huge = tmp_path / "huge.csv"
    huge.write_text("x" * 50_001 + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["sheet", "put", "shtcn_ops", "Sheet1!A1", str(huge)])
    assert result.exit_code == 2 and "50000" in result.output

"""docs/sheets.md: the dashboard example runs against the emulator and formats the sheet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lark_service.testing import Emulator
from lark_service.testing.emulator.sheets_state import sheets_state

from .conftest import APP

DOC = Path(__file__).resolve().parents[2] / "docs" / "sheets.md"


def _block(heading: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None
    return found.group(1)


def test_dashboard_example(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LARK_APP_ID", APP[0])
    monkeypatch.setenv("LARK_APP_SECRET", APP[1])
    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    exec(compile(_block("## Example: a formatted dashboard"), str(DOC), "exec"), {})
    (book,) = sheets_state(emu).workbooks.values()
    (grid,) = book.sheets
    assert grid.title == "Daily" and grid.frozen_rows == 2
    assert grid.merges == [(1, 1, 1, 3)]
    assert grid.cells[(3, 1)] == "api" and grid.cells[(5, 3)] == 1.0
    assert grid.styles[(2, 2)]["backColor"] == "#FFF2CC"
    assert grid.styles[(4, 3)]["formatter"] == "0.00%"
    assert grid.column_sizes == {1: 140, 2: 140, 3: 140}

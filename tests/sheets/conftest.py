"""Sheets fixtures: the emulator with one app and one spreadsheet, and clients on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lark_service import AsyncLarkClient, LarkClient
from lark_service.testing import Emulator
from lark_service.testing.emulator.sheets_state import Workbook, sheets_state

APP = ("cli_sheets_a", "secret-a")


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    lark_emulator.add_app(*APP, name="Sheets A")
    return lark_emulator


@pytest.fixture
def book(emu: Emulator) -> Workbook:
    """A spreadsheet ``shtcn_ops`` of the app with one sheet ``Sheet1``."""
    return sheets_state(emu).create("Ops", owner_app=APP[0], token="shtcn_ops")


@pytest.fixture
def client(emu: Emulator) -> Iterator[LarkClient]:
    with LarkClient(app_id=APP[0], app_secret=APP[1], base_url=emu.url) as made:
        yield made


@pytest.fixture
def aclient(emu: Emulator) -> AsyncLarkClient:
    return AsyncLarkClient(app_id=APP[0], app_secret=APP[1], base_url=emu.url)


def sheet_calls(emu: Emulator, path: str = "/open-apis/sheets/*", method: str | None = None) -> int:
    return len(emu.requests(path=path, method=method))

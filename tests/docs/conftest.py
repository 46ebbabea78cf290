"""Fixtures for the Docx tests: the emulator with an app, and clients of it.

``client`` runs unpaced (the pipeline's docx.edit pacing would make every test wait a third of
a second per edit); the pacing tests build their own paced client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lark_service import LarkClient
from lark_service._pacing import PacingTable
from lark_service.testing import Emulator
from lark_service.testing.emulator.docx_state import DocxState, docx_state

APP = ("cli_docs_a", "secret-a")
OTHER_APP = ("cli_docs_b", "secret-b")


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    lark_emulator.add_app(*APP, name="Docs A")
    lark_emulator.add_app(*OTHER_APP, name="Docs B")
    return lark_emulator


@pytest.fixture
def docx(emu: Emulator) -> DocxState:
    return docx_state(emu)


ClientFactory = Callable[..., LarkClient]


@pytest.fixture
def make_client(emu: Emulator, tmp_path: Any) -> Iterator[ClientFactory]:
    made: list[LarkClient] = []

    def make(app: tuple[str, str] = APP, *, paced: bool = False, **kw: Any) -> LarkClient:
        if not paced:
            kw.setdefault("pacing", PacingTable.unlimited())
        client = LarkClient(app_id=app[0], app_secret=app[1], base_url=emu.url, **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: ClientFactory) -> LarkClient:
    return make_client()

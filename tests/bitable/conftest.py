"""Fixtures for Bitable tests: the emulator with a base and a tasks table, sync and async
clients (the async one behind a loop proxy), no real sleeping."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from lark_service import AsyncLarkClient, LarkClient
from lark_service.testing import Emulator
from lark_service.testing.emulator.bitable_state import BitableState, bitable_of

APP_ID = "cli_bitabletest"
SECRET = "bitable-secret"
BASE = "bascnTestBase"
FIELDS = {
    "Name": 1,
    "Score": 2,
    "Status": 3,
    "Tags": 4,
    "Due": 5,
    "Done": 7,
    "Owner": 11,
    "Phone": 13,
    "Site": 15,
    "Files": 17,
    "Parent": 18,
}


@pytest.fixture(autouse=True)
def _no_real_sleeps(sleeps: list[float]) -> list[float]:
    return sleeps


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    lark_emulator.add_app(APP_ID, SECRET)
    lark_emulator.add_user("alice", name="Alice", email="alice@example.com")
    lark_emulator.add_user("bob", name="Bob", email="bob@example.com")
    return lark_emulator


@pytest.fixture
def base(emu: Emulator) -> BitableState:
    state = bitable_of(emu)
    state.add_base(BASE, "Ops")
    return state


@pytest.fixture
def table(base: BitableState) -> str:
    return base.add_table(BASE, "Tasks", FIELDS, options={"Status": ["Open", "Closed"]})


@pytest.fixture
def client(emu: Emulator) -> Iterator[LarkClient]:
    with LarkClient(APP_ID, SECRET, base_url=emu.url) as lark:
        yield lark


class LoopProxy:
    """Runs an async client's coroutine methods on one private loop, synchronously; pagers
    are drained with ``to_list``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, target: Any) -> None:
        self._loop = loop
        self._target = target

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **k: self._loop.run_until_complete(attr(*a, **k))
        if name == "bitable":
            return LoopProxy(self._loop, attr)
        if name in ("query_records", "list_tables"):
            return lambda *a, **k: self._loop.run_until_complete(attr(*a, **k).to_list())
        return attr


@pytest.fixture(params=["sync", "async"])
def lark(request: pytest.FixtureRequest, emu: Emulator) -> Iterator[Any]:
    """Each kind of client; ``lark.bitable.query_records(...)`` of the async one is a list."""
    if request.param == "sync":
        with LarkClient(APP_ID, SECRET, base_url=emu.url) as sync_client:
            yield sync_client
        return
    loop = asyncio.new_event_loop()

    async def make() -> AsyncLarkClient:
        return AsyncLarkClient(APP_ID, SECRET, base_url=emu.url)

    async_client = loop.run_until_complete(make())
    try:
        yield LoopProxy(loop, async_client)
    finally:
        loop.run_until_complete(async_client.aclose())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def writes(emu: Emulator) -> list[Any]:
    """Write calls to Bitable records seen by the emulator."""
    return [
        r
        for r in emu.requests()
        if "/bitable/" in r.path
        and r.method in ("POST", "PUT", "DELETE")
        and not r.path.endswith(("/search", "/batch_get"))
    ]

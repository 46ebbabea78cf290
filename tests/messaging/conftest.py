"""Fixtures for messaging tests: a seeded emulator, sync and async clients, no real sleeping."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from lark_service import AsyncLarkClient, LarkClient
from lark_service.testing import Emulator

APP_ID = "cli_msgtest"
SECRET = "msg-secret"
CHAT = "oc_team"
NOBOT_CHAT = "oc_nobot"

# Smallest files of each kind, recognised by their first bytes.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
GIF = b"GIF89a" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
TIFF = b"II*\x00" + b"\x00" * 32
BMP = b"BM" + b"\x00" * 40
ICO = b"\x00\x00\x01\x00\x01\x00" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32
OPUS = b"OggS\x00\x02" + b"\x00" * 22 + b"OpusHead\x01\x02" + b"\x00" * 16


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    """The emulator with an app, alice and bob, a team chat and a chat without the bot."""
    lark_emulator.add_app(APP_ID, SECRET)
    lark_emulator.add_user("alice", name="Alice", email="alice@example.com")
    lark_emulator.add_user("bob", name="Bob", email="bob@example.com")
    lark_emulator.add_chat(CHAT, "Team", members=["alice", "bob"])
    lark_emulator.add_chat(NOBOT_CHAT, "No bot", bot_app_ids=[])
    return lark_emulator


@pytest.fixture
def alice(emu: Emulator) -> str:
    """alice's open_id as the test app sees it."""
    return emu.open_id("alice", APP_ID)


@pytest.fixture
def bob(emu: Emulator) -> str:
    return emu.open_id("bob", APP_ID)


@pytest.fixture(autouse=True)
def _no_real_sleeps(sleeps: list[float]) -> list[float]:
    """Every messaging test records retry / pacing waits instead of sleeping (``sleeps``)."""
    return sleeps


@pytest.fixture
def client(emu: Emulator) -> Iterator[LarkClient]:
    with LarkClient(APP_ID, SECRET, base_url=emu.url) as lark:
        yield lark


class LoopProxy:
    """Runs an async client's coroutine methods on one private event loop, synchronously,
    so one test body drives both twins."""

    def __init__(self, loop: asyncio.AbstractEventLoop, target: Any) -> None:
        object.__setattr__(self, "_loop", loop)
        object.__setattr__(self, "_target", target)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **k: self._loop.run_until_complete(attr(*a, **k))
        if name in ("messaging", "cards"):
            return LoopProxy(self._loop, attr)
        return attr


@pytest.fixture(params=["sync", "async"])
def lark(request: pytest.FixtureRequest, emu: Emulator) -> Iterator[Any]:
    """A client of each kind: ``LarkClient``, or ``AsyncLarkClient`` behind a loop proxy."""
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


def sent_requests(emu: Emulator) -> list[Any]:
    """Every /open-apis/ call except token fetches."""
    return [r for r in emu.requests() if "/auth/" not in r.path]

"""Fixtures for Drive tests: the emulator with two apps, people and a chat, and clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from lark_service import AsyncLarkClient, LarkClient
from lark_service.testing import FAST_RETRY, Emulator
from lark_service.testing.emulator.state_drive import DriveState, drive_state

APP = ("cli_drive_a", "secret-a")
OTHER_APP = ("cli_drive_b", "secret-b")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 16


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    emu = lark_emulator
    emu.add_app(*APP, name="Drive A")
    emu.add_app(*OTHER_APP, name="Drive B")
    emu.add_user("alice", name="Alice", email="alice@example.com")
    emu.add_user("bob", name="Bob", email="bob@example.com")
    emu.add_chat("oc_team", "Team", members=["alice", "bob"], owner_id="alice")
    emu.add_chat("oc_nobot", "No bot", members=["alice"], owner_id="alice", bot_app_ids=[])
    return emu


@pytest.fixture
def drive(emu: Emulator) -> DriveState:
    return drive_state(emu)


@pytest.fixture
def make_client(emu: Emulator) -> Iterator[Callable[..., LarkClient]]:
    made: list[LarkClient] = []

    def make(app: tuple[str, str] = APP) -> LarkClient:
        client = LarkClient(app_id=app[0], app_secret=app[1], base_url=emu.url, retry=FAST_RETRY)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., LarkClient]) -> LarkClient:
    return make_client()


@pytest.fixture
def async_client(emu: Emulator) -> AsyncLarkClient:
    return AsyncLarkClient(app_id=APP[0], app_secret=APP[1], base_url=emu.url, retry=FAST_RETRY)

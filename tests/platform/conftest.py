"""Fixtures for the platform tests: a scripted Feishu, and the emulator with two apps (one of
them registered, so ``app_id=`` can switch between them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lark_service import LarkClient
from lark_service.testing import FAST_RETRY, Emulator

from ..unit._mock import ScriptedFeishu

APP_A = ("cli_platform_a", "secret-a")
APP_B = ("cli_platform_b", "secret-b")


@pytest.fixture
def feishu() -> ScriptedFeishu:
    return ScriptedFeishu()


@pytest.fixture
def scripted(feishu: ScriptedFeishu) -> Iterator[LarkClient]:
    """A client on the scripted Feishu (no retry waits)."""
    with LarkClient(
        APP_A[0], APP_A[1], base_url="https://feishu.test", transport=feishu.transport()
    ) as client:
        yield client


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    lark_emulator.add_app(*APP_A)
    lark_emulator.add_app(*APP_B)
    lark_emulator.add_user("alice", open_id="ou_alice")
    lark_emulator.add_chat("oc_platform", "Platform", bot_app_ids=[APP_A[0], APP_B[0]])
    return lark_emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[LarkClient]:
    """APP_A on the emulator, fast retries."""
    with LarkClient(APP_A[0], APP_A[1], base_url=emu.url, retry=FAST_RETRY) as value:
        yield value


@pytest.fixture
def registered_b(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """APP_B in the app registry (pointing at the emulator): ``app_id=APP_B[0]`` resolves."""
    from lark_service.apps import AppRegistry
    from lark_service.config import get_settings
    from lark_service.storage.crypto import generate_key

    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", generate_key())
    AppRegistry.from_settings(get_settings()).add_app(APP_B[0], APP_B[1], domain=emu.url)
    return APP_B[0]

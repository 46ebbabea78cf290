"""Fixtures: an emulator with a registered app, and a scheduler on the emulator's clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lark_service.testing import Emulator

APP = ("cli_sched", "sched-secret")


@pytest.fixture
def emu(lark_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The emulator with ``cli_sched`` in both the emulator and the app registry."""
    from lark_service.apps import AppRegistry
    from lark_service.config import get_settings
    from lark_service.storage.crypto import generate_key

    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", generate_key())
    lark_emulator.add_app(*APP, name="Scheduler bot")
    AppRegistry.from_settings(get_settings()).add_app(*APP, domain=lark_emulator.url)
    return lark_emulator


@pytest.fixture
def make_scheduler(emu: Emulator) -> Iterator[Any]:
    from lark_service.config import get_settings
    from lark_service.scheduler import build_scheduler

    made: list[Any] = []

    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("clock", emu.now)
        scheduler = build_scheduler(get_settings(), **kwargs)
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.shutdown(timeout=30)

"""Shared test fixtures: an isolated LARK_HOME and environment for every test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lark_service import _concurrency
from lark_service.credentials.locks import shared_memory_store


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Each test gets its own LARK_HOME and no LARK_* variables from the outer environment."""
    import os

    for name in list(os.environ):
        if name.startswith("LARK_") and not name.startswith("LARK_TEST_"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("lark-home")
    monkeypatch.setenv("LARK_HOME", str(home))
    monkeypatch.chdir(home)  # no stray .env from the working directory
    shared_memory_store().clear()
    yield home
    shared_memory_store().clear()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every retry / pacing wait, recorded instead of slept (it still yields, as sleep does)."""
    recorded: list[float] = []

    def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)
        time.sleep(0)

    async def fake_async_sleep(seconds: float) -> None:
        recorded.append(seconds)
        await asyncio.sleep(0)

    monkeypatch.setattr(_concurrency, "sleep", fake_sleep)
    monkeypatch.setattr(_concurrency, "async_sleep", fake_async_sleep)
    return recorded

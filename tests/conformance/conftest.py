"""Conformance: the official lark-oapi SDK (test-only) drives our emulator.

What the official client sends must be accepted, and what the emulator answers must parse into
the official response models with the expected fields. The SDK keeps a process-global token
cache keyed by app_id, so every test gets a fresh app id.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lark_service.testing.emulator.server import Emulator

_counter = itertools.count()


@pytest.fixture(scope="session")
def lark() -> Iterator[Any]:
    """The official SDK module (imported once: it takes seconds).

    Importing it creates and sets a global event loop (``lark_oapi.ws.client.loop``) that
    nothing closes; close it at the end so the run ends without a ResourceWarning.
    """
    module = pytest.importorskip("lark_oapi")
    yield module
    import asyncio

    from lark_oapi.ws import client as ws_client

    loop = getattr(ws_client, "loop", None)
    if isinstance(loop, asyncio.AbstractEventLoop) and not loop.is_running():
        loop.close()


@pytest.fixture
def official(lark: Any, lark_emulator: Emulator) -> Callable[..., Any]:
    """``official(app_id=None)`` -> an official client for a fresh app on the emulator."""

    def make(app_id: str | None = None, secret: str = "conf-secret") -> Any:
        app_id = app_id or f"cli_conf{next(_counter):04d}"
        lark_emulator.add_app(app_id, secret)
        return (
            lark.Client.builder()
            .app_id(app_id)
            .app_secret(secret)
            .domain(lark_emulator.url)
            .log_level(lark.LogLevel.ERROR)
            .build()
        )

    return make

"""Fixtures of the long-connection tests: an emulator with one app whose long connection is
tuned to short intervals, and its control."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lark_service.testing import Emulator
from lark_service.testing.emulator.longconn_state import LongConnControl

APP = "cli_lc"
SECRET = "lc-secret"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        emulator.add_app(APP, SECRET)
        yield emulator
        LongConnControl(emulator.state).close()


@pytest.fixture
def ws(emu: Emulator) -> LongConnControl:
    control = LongConnControl(emu.state)
    control.configure(
        ping_interval=0.3, reconnect_interval=0.2, reconnect_nonce=0.1, ack_timeout=3.0
    )
    return control


@pytest.fixture(autouse=True)
def _no_connection_left() -> Iterator[None]:
    """Every LongConnection thread a test started has ended when the test ends."""
    import threading
    import time

    yield
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [t.name for t in threading.enumerate() if t.name.startswith("lark-longconn")]
        if not left:
            return
        time.sleep(0.05)
    raise AssertionError(f"long-connection threads still running: {left}")

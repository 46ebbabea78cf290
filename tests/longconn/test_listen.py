"""``lark-service listen``: a listener process whose /readyz reflects the connection and that
stops gracefully on SIGTERM."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from lark_service.testing import Emulator
from lark_service.testing.emulator.longconn_state import LongConnControl

from ._listener import start_listener, stop_listener
from .conftest import APP, SECRET


def _ready(port: int) -> int:
    return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code


def _until(predicate: object, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_listen_handles_events_and_readyz_follows_the_connection(
    emu: Emulator, ws: LongConnControl, tmp_path: Path
) -> None:
    process, port = start_listener(emu.url, APP, SECRET, tmp_path)
    try:
        assert ws.wait_connections(APP, timeout=30)
        assert _until(lambda: _ready(port) == 200)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
        pushes = [ws.say(APP, f"m{i}") for i in range(5)]
        assert ws.wait_acked(pushes, 15)

        ws.refuse_handshakes(514, count=1000)  # the socket drops and cannot come back (yet)
        ws.drop(APP)
        assert _until(lambda: _ready(port) == 503)
        body = httpx.get(f"http://127.0.0.1:{port}/readyz").json()
        assert body["status"] == "unavailable"
    finally:
        stop_listener(process)
    runs = (tmp_path / "runs.log").read_text().split()
    assert sorted(runs) == sorted(p.event_id for p in pushes)


def test_sigterm_drains_and_exits_cleanly(
    emu: Emulator, ws: LongConnControl, tmp_path: Path
) -> None:
    process, _ = start_listener(emu.url, APP, SECRET, tmp_path)
    assert ws.wait_connections(APP, timeout=30)
    pushes = [ws.say(APP, f"m{i}") for i in range(50)]
    assert ws.wait_acked(pushes, 15)
    assert stop_listener(process, signal.SIGTERM) == 0
    assert not ws.domain.open_connections(APP)

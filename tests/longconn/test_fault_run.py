"""The long connection's fault run: 2,000 events pushed while the emulator drops the socket
10 times and goes half-open twice, and the listener process is SIGKILLed once and restarted.

Zero events lost (every pushed event handled at least once), zero handled twice in effect
(one effect row per event: the handler keys its side effect on ``ctx.dedup_key``), every
reconnect within its bound. Prints the counts."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from lark_service.testing import Emulator
from lark_service.testing.emulator.longconn_state import LongConnControl

from ._listener import start_listener, stop_listener
from .conftest import APP, SECRET

EVENTS = 2000
DROPS = 10
HALF_OPENS = 2
PING, RECONNECT, NONCE = 0.5, 0.5, 0.3
RATE = 200  # events/s pushed: a fault every ~0.75 s


@pytest.mark.slow
def test_fault_run(emu: Emulator, tmp_path: Path) -> None:
    ws = LongConnControl(emu.state)
    ws.configure(
        ping_interval=PING, reconnect_interval=RECONNECT, reconnect_nonce=NONCE, ack_timeout=3.0
    )
    extra = ("--handler-timeout", "1")  # a row a killed listener held is taken over in 32 s
    process, _ = start_listener(emu.url, APP, SECRET, tmp_path, *extra)
    assert ws.wait_connections(APP, timeout=60)

    pushes: list = []
    fed = threading.Event()

    def feed() -> None:
        for i in range(EVENTS):
            pushes.append(ws.say(APP, f"event {i}"))
            time.sleep(1 / RATE)
        fed.set()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    faults: list[tuple[str, float]] = []

    def wait_pushed(n: int) -> None:
        deadline = time.monotonic() + 60
        while len(pushes) < n and time.monotonic() < deadline:
            time.sleep(0.005)

    def fresh_connection(since: float) -> bool:
        """A live socket opened after the last fault (each fault hits a new socket)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            live = [
                c for c in ws.domain.open_connections(APP) if not c.half_open and c.opened > since
            ]
            if live:
                return True
            time.sleep(0.005)
        return False

    killed_at = restarted_at = 0.0
    plan = [("drop", 100 + 150 * i) for i in range(DROPS)]
    plan += [("half_open", 500), ("half_open", 1300), ("kill", 900)]
    for kind, at in sorted(plan, key=lambda p: p[1]):
        wait_pushed(at)
        assert fresh_connection(faults[-1][1] if faults else 0.0), f"no socket before {kind}"
        at_fault = time.monotonic()
        if kind == "drop":
            assert ws.drop(APP) >= 1
        elif kind == "half_open":
            assert ws.half_open(APP) >= 1
        else:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            stop_listener(process)
            killed_at = time.monotonic()
            process, _ = start_listener(emu.url, APP, SECRET, tmp_path, *extra)
            restarted_at = time.monotonic()
        faults.append((kind, at_fault))
    assert fed.wait(60)
    assert ws.wait_acked(pushes, 120), "not every event was acked"

    runs_file, effects_db = tmp_path / "runs.log", tmp_path / "effects.db"
    pushed = {p.event_id for p in pushes}

    def effects() -> set[str]:
        with sqlite3.connect(effects_db) as db:
            return {row[0] for row in db.execute("SELECT event_id FROM effects")}

    # rows the killed listener had leased are taken over once their lease runs out
    deadline = time.monotonic() + 90
    while effects() != pushed and time.monotonic() < deadline:
        time.sleep(0.2)
    stop_listener(process)

    runs = runs_file.read_text().split()
    with sqlite3.connect(effects_db) as db:
        effect_rows = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM effects"
        ).fetchone()
    lost = pushed - set(runs)
    reruns = len(runs) - len(set(runs))

    # reconnect bounds, from the emulator's connection log
    history = ws.domain.history
    opened = sorted(h["at"] for h in history if h["event"] == "opened")
    gaps: dict[str, list[float]] = {"drop": [], "half_open": [], "kill": []}
    for kind, at in faults:
        after = [t for t in opened if t > (restarted_at if kind == "kill" else at)]
        assert after, f"no reconnect after {kind}"
        gaps[kind].append(after[0] - (restarted_at if kind == "kill" else at))
    drop_bound = NONCE + PING + 1.0  # jitter, handshake (≤ ping interval), the endpoint call
    half_open_bound = 3 * PING + RECONNECT  # the bound, as configured
    print(
        f"\nlong-connection fault run: {len(pushes)} events pushed, "
        f"{sum(p.attempts for p in pushes)} pushes (re-pushes "
        f"{sum(p.attempts for p in pushes) - len(pushes)}), {len(set(runs))} handled, "
        f"lost {len(lost)}, handler runs {len(runs)} (re-runs after the SIGKILL {reruns}), "
        f"effect rows {effect_rows[0]} for {effect_rows[1]} events (twice in effect "
        f"{effect_rows[0] - effect_rows[1]}); {DROPS} drops: reconnect max "
        f"{max(gaps['drop']):.2f} s (bound {drop_bound:.1f}); {HALF_OPENS} half-opens: "
        f"replaced max {max(gaps['half_open']):.2f} s (bound {half_open_bound:.1f}); "
        f"SIGKILL: restarted process connected {gaps['kill'][0]:.2f} s after its start "
        f"(killed {restarted_at - killed_at:.2f} s before)"
    )
    assert not lost
    assert effect_rows[0] == effect_rows[1] == EVENTS
    assert max(gaps["drop"]) <= drop_bound
    assert max(gaps["half_open"]) <= half_open_bound
    assert len(gaps["drop"]) == DROPS and len(gaps["half_open"]) == HALF_OPENS

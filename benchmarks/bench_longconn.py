"""Long connection: events/s and ack latency against the emulator, ours next to the official
SDK's ``lark_oapi.ws.Client`` on the same load.

    python benchmarks/bench_longconn.py [--rate 200] [--seconds 10] [--burst 2000] [--quick]

Each client runs in a process of its own (the SDK needs its own global event loop): ours is
``lark-service listen`` (events stored in the SQLite outbox before the ack, then run by the
in-process dispatcher), the SDK's client runs its handler inline before acking (it stores
nothing). The emulator pushes ``im.message.receive_v1`` events at ``--rate`` per second for
``--seconds`` (ack latency = push sent → ack received, measured by the emulator), then a
burst of ``--burst`` events at once (events/s = events / time to the last ack).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from lark_service.callbacks import CallbackRouter

ROOT = Path(__file__).resolve().parents[1]
APP, SECRET = "cli_bench_lc", "bench-secret"

router = CallbackRouter()
"""The handlers our listener runs (``--handlers benchmarks/bench_longconn.py:router``)."""


@router.event("im.message.receive_v1")
def _on_message(event: Any) -> None:
    return None


SDK_CLIENT = textwrap.dedent(
    """
    import sys
    import lark_oapi as lark
    from lark_oapi.ws import Client

    handler = (
        lark.EventDispatcherHandler.builder("", "")
        .register_p2_im_message_receive_v1(lambda data: None)
        .build()
    )
    Client(sys.argv[2], sys.argv[3], event_handler=handler, domain=sys.argv[1],
           log_level=lark.LogLevel.ERROR).start()
    """
)


def _start(kind: str, url: str, home: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LARK_HOME": home,
        "LARK_APP_ID": APP,
        "LARK_APP_SECRET": SECRET,
        "LARK_BASE_URL": url,
        "LARK_LOG_LEVEL": "ERROR",
        "PYTHONWARNINGS": "ignore",
    }
    if kind == "ours":
        cmd = [
            sys.executable,
            "-m",
            "lark_service",
            "listen",
            "--handlers",
            f"{Path(__file__).resolve()}:router",
        ]
    else:
        cmd = [sys.executable, "-c", SDK_CLIENT, url, APP, SECRET]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _measure(ws: Any, rate: float, seconds: float, burst: int) -> dict[str, float]:
    from lark_service.callbacks.simulate import message_event_payload

    pushes = []
    interval = 1 / rate
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        target = start + i * interval
        delay = target - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        pushes.append(ws.push_event(APP, message_event_payload(APP, f"paced {i}")))
    ok = ws.wait_acked(pushes, 120)
    latencies = [p.acked_at - p.first_sent_at for p in pushes if p.acked_at and p.first_sent_at]
    began = time.monotonic()
    burst_pushes = [
        ws.push_event(APP, message_event_payload(APP, f"burst {i}")) for i in range(burst)
    ]
    ok = ws.wait_acked(burst_pushes, 300) and ok
    last = max((p.acked_at or 0.0) for p in burst_pushes) if burst_pushes else began
    return {
        "ok": float(ok),
        "paced": len(pushes),
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99": _pct(latencies, 99) * 1000,
        "max": max(latencies) * 1000 if latencies else float("nan"),
        "repushes": sum(p.attempts - 1 for p in pushes + burst_pushes),
        "burst_rate": burst / (last - began) if burst and last > began else float("nan"),
    }


def run(kind: str, rate: float, seconds: float, burst: int) -> dict[str, float]:
    from lark_service.testing import Emulator
    from lark_service.testing.emulator.longconn_state import LongConnControl

    with tempfile.TemporaryDirectory() as home, Emulator() as emu:
        emu.add_app(APP, SECRET)
        ws = LongConnControl(emu.state)
        ws.configure(ping_interval=30, reconnect_interval=5, reconnect_nonce=1, ack_timeout=60)
        process = _start(kind, emu.url, home)
        try:
            if not ws.wait_connections(APP, timeout=120):
                raise RuntimeError(f"the {kind} client did not connect")
            # warm up (imports, the outbox's first write)
            from lark_service.callbacks.simulate import message_event_payload

            warm = [ws.push_event(APP, message_event_payload(APP, "warm")) for _ in range(20)]
            ws.wait_acked(warm, 60)
            return _measure(ws, rate, seconds, burst)
        finally:
            process.kill()
            process.wait(30)
            ws.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--quick", action="store_true")
    args, _ = parser.parse_known_args(argv)
    if args.quick or os.environ.get("LARK_BENCH_QUICK"):
        args.seconds, args.burst = 3.0, 500
    rows = []
    for kind in ("ours", "sdk"):
        try:
            rows.append((kind, run(kind, args.rate, args.seconds, args.burst)))
        except Exception as exc:  # the SDK missing, say
            print(f"{kind}: {type(exc).__name__}: {exc}")
    print(
        f"\nlong connection, {args.rate:.0f} events/s for {args.seconds:.0f} s, then a burst "
        f"of {args.burst} (emulator on 127.0.0.1; ack latency = push -> ack)"
    )
    print(
        f"{'client':<28}{'acked':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'re-push':>9}{'burst ev/s':>12}"
    )
    names = {
        "ours": "lark-service listen",
        "sdk": "lark_oapi.ws.Client 1.7.5",
    }
    for kind, r in rows:
        print(
            f"{names[kind]:<28}{'all' if r['ok'] else 'NO':>7}{r['p50']:>9.1f}{r['p99']:>9.1f}"
            f"{r['max']:>9.1f}{int(r['repushes']):>9}{r['burst_rate']:>12.0f}"
        )
    threading.Event().wait(0)
    return 0 if all(r["ok"] for _, r in rows) else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    raise SystemExit(main())

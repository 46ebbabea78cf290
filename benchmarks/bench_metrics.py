"""What the Prometheus metrics subscriber costs: CPU per call on the pipeline and per callback.

Three measurements, each with ``lark_service.metrics`` unsubscribed ("without") and subscribed
("with"), in alternating rounds (best round of each reported, so other work on a shared
machine does not decide the comparison):

- **pipeline, sync sequential**: ``LarkClient.messaging.send_text_message`` against
  :mod:`_server` (a local Feishu in another process, HTTP on loopback), local pacing off
  (one receiver would otherwise be held to Feishu's per-receiver rate: wall time, not CPU).
  CPU per call is this process's ``time.process_time()`` over the measured calls. Target:
  under 5 % added.
- **pipeline, 16 async tasks**: the same with ``AsyncLarkClient``.
- **callback events**: the subscriber alone, fed the events one stored and handled callback
  emits (received, verified, stored, dispatched, handled): µs per callback, compared with the
  callback benchmark's per-callback CPU (``bench_callbacks.py``).

``--quick`` runs short rounds; ``--write-docs`` rewrites ``## Metrics subscriber`` in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (
    Result,
    best_of,
    format_table,
    machine_line,
    quick,
    run_async,
    run_sync,
    update_doc_section,
    verdict,
)
from _server import APP_ID, APP_SECRET, LocalFeishu

from lark_service import PacingTable, instrumentation
from lark_service.instrumentation import Event

RECEIVER = "ou_bench00000000000000000000001"
TEXT = "hello from the metrics benchmark"
TARGET = 5.0  # percent of CPU per call the subscriber may add

WITHOUT = "lark-service, metrics off"
WITH = "lark-service, metrics on"


def _metrics() -> Any:
    from lark_service import metrics

    return metrics.METRICS


def _set(on: bool) -> None:
    subscriber = _metrics()
    if on:
        instrumentation.subscribe(subscriber)
    else:
        instrumentation.unsubscribe(subscriber)


def pipeline_sync(url: str, rounds: int, calls: int) -> tuple[Result, Result]:
    from lark_service import LarkClient

    results: dict[bool, list[Result]] = {False: [], True: []}
    with LarkClient(APP_ID, APP_SECRET, base_url=url, pacing=PacingTable.unlimited()) as client:

        def call() -> Any:
            return client.messaging.send_text_message(RECEIVER, TEXT)

        for _ in range(rounds):
            for on in (False, True):
                _set(on)
                results[on].append(run_sync(WITH if on else WITHOUT, call, calls=calls, warmup=50))
    _set(True)
    return best_of(results[False]), best_of(results[True])


def pipeline_async(url: str, rounds: int, calls: int) -> tuple[Result, Result]:
    from lark_service import AsyncLarkClient

    async def make_call() -> tuple[Any, Any]:
        client = AsyncLarkClient(APP_ID, APP_SECRET, base_url=url, pacing=PacingTable.unlimited())

        async def call() -> Any:
            return await client.messaging.send_text_message(RECEIVER, TEXT)

        return call, client.aclose

    results: dict[bool, list[Result]] = {False: [], True: []}
    for _ in range(rounds):
        for on in (False, True):
            _set(on)
            results[on].append(
                run_async(
                    WITH if on else WITHOUT, make_call, calls=calls, concurrency=16, warmup=64
                )
            )
    _set(True)
    return best_of(results[False]), best_of(results[True])


def callback_events(count: int) -> float:
    """µs of subscriber CPU per callback (the five events of one stored, handled callback)."""
    subscriber = _metrics()
    now = time.time()
    events = [
        Event("callback.received", "cli_bench", {"kind": "event"}, now),
        Event("callback.verified", "cli_bench", {"kind": "event"}, now),
        Event(
            "callback.stored",
            "cli_bench",
            {"kind": "event", "event_type": "im.message.receive_v1"},
            now,
        ),
        Event(
            "callback.dispatched",
            "cli_bench",
            {"kind": "event", "event_type": "im.message.receive_v1", "dispatcher": "inprocess"},
            now,
        ),
        Event(
            "callback.handled",
            "cli_bench",
            {"event_type": "im.message.receive_v1", "duration": 0.001, "outcome": "ok"},
            now,
        ),
    ]
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _ in range(count):
            for event in events:
                subscriber(event)
        best = min(best, time.process_time() - started)
    return best / count * 1e6


def per_event(count: int) -> list[tuple[str, float]]:
    """µs of subscriber CPU per event, for the events a call emits."""
    subscriber = _metrics()
    now = time.time()
    request = {"method": "POST", "path": "/open-apis/im/v1/messages", "family": "im"}
    events = [
        Event("request.started", "cli_bench", {**request, "attempt": 1, "request_id": "r"}, now),
        Event(
            "request.finished",
            "cli_bench",
            {**request, "status": 200, "code": 0, "outcome": "ok", "duration": 0.01},
            now,
        ),
        Event(
            "pacing.waited",
            "cli_bench",
            {"family": "im", "key": "receiver", "delay": 0.2, "stage": "reserve"},
            now,
        ),
        Event(
            "token.expiry",
            "cli_bench",
            {"kind": "tenant", "subject": "tenant", "expires_in": 7000.0},
            now,
        ),
    ]
    out = []
    for event in events:
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            for _ in range(count):
                subscriber(event)
            best = min(best, time.process_time() - started)
        out.append((event.name, best / count * 1e6))
    return out


def events_per_call(url: str) -> dict[str, float]:
    """How many events of each name one sync send emits (averaged over 20 calls)."""
    from collections import Counter

    from lark_service import LarkClient

    with LarkClient(APP_ID, APP_SECRET, base_url=url, pacing=PacingTable.unlimited()) as client:
        client.messaging.send_text_message(RECEIVER, TEXT)
        with instrumentation.EventRecorder() as recorder:
            for _ in range(20):
                client.messaging.send_text_message(RECEIVER, TEXT)
    return {name: n / 20 for name, n in Counter(recorder.names()).items()}


def added(without: Result, with_: Result) -> float:
    base = without.cpu_us_per_call
    return (with_.cpu_us_per_call - base) / base * 100 if base else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    args, _ = parser.parse_known_args(argv)
    short = args.quick or quick(argv)
    rounds, calls = (2, 400) if short else (5, 2000)
    logging.getLogger("lark_service").setLevel(logging.WARNING)
    _metrics()  # import prometheus_client and register before measuring
    rows: list[Result] = []
    lines: list[str] = []
    with LocalFeishu() as feishu:
        for label, measure in (
            ("sync sequential", pipeline_sync),
            ("16 async tasks", pipeline_async),
        ):
            print(f"pipeline, {label}: {rounds} rounds of {calls} calls each way", flush=True)
            without, with_ = measure(feishu.url, rounds, calls)
            rows += [without, with_]
            pct = added(without, with_)
            lines.append(
                f"- pipeline, {label}: {without.cpu_us_per_call:.0f} -> "
                f"{with_.cpu_us_per_call:.0f} µs CPU per call, {pct:+.1f} % "
                f"(target < {TARGET:g} %) {verdict(pct < TARGET)}"
            )
        emitted_once = events_per_call(feishu.url)
    per_callback = callback_events(2_000 if short else 20_000)
    lines.append(f"- callback path: {per_callback:.1f} µs of subscriber CPU per callback")
    costs = dict(per_event(20_000 if short else 200_000))
    for name, micros in costs.items():
        lines.append(f"- one `{name}` event: {micros:.2f} µs")
    emitted = emitted_once
    estimate = sum(costs.get(name, 0.0) * n for name, n in emitted.items())
    share = estimate / rows[0].cpu_us_per_call * 100
    lines.append(
        f"- a call emits {dict(emitted)}: {estimate:.1f} µs of subscriber CPU, "
        f"{share:.1f} % of a sync call (the measured difference above also carries noise)"
    )
    table = format_table(rows)
    print()
    print(table)
    print()
    print("\n".join(lines))
    if args.write_docs and not short:
        body = (
            f"{machine_line()}\n\n`python benchmarks/bench_metrics.py`: the Prometheus "
            "subscriber (`lark_service.metrics`) off and on, alternating rounds, best round "
            f"each.\n\n{table}\n\n" + "\n".join(lines)
        )
        update_doc_section("## Metrics subscriber", body)
        print("\nwrote ## Metrics subscriber in docs/performance.md")
    worst = max(added(rows[i], rows[i + 1]) for i in range(0, len(rows), 2))
    return 0 if worst < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

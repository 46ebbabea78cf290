"""send_batch to 1,000 receivers: wall time against Feishu's 50/s ideal and naive loops.

The emulator answers every send 20 ms late (a ``latency`` fault) and enforces Feishu's limits
(50 sends per second per app, 5 per receiver; over them it answers 99991400 / 230020 with
``x-ogw-ratelimit-reset``). 1,000 distinct users receive one text message each.

Scenarios:

- **ideal**: 1,000 / 50 s — no client can be faster without being throttled;
- **lark-service send_batch** (sync, 20 threads; async, 20 tasks): paced by the client-side
  limiter, every send with its own uuid;
- **lark-service, naive loop**: ``send_text_message`` one after another;
- **lark-oapi, naive loop**: the official client's ``im.v1.message.create`` one after another;
- **lark-oapi, 20 threads**: the same, unpaced, to show what the limits do to it.

Reported: wall time, messages per second, wall time over the ideal, rate-limit answers, and
messages stored (a throttled send that nobody retried is a lost notification).

``--quick`` sends to 200 receivers; ``--receivers N`` any number; ``--write-docs`` rewrites
``## Messaging`` in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from _harness import machine_line, quick, update_doc_section

APP_SECRET = "bench-msg-secret"
LATENCY_MS = 20
PER_APP, PER_RECEIVER = 50, 5
CONCURRENCY = 20
MESSAGES = "/open-apis/im/v1/messages"


@dataclass
class Run:
    name: str
    wall: float
    receivers: int
    stored: int
    rate_limited: int
    failed: int

    @property
    def per_second(self) -> float:
        return self.stored / self.wall if self.wall else 0.0


def _fresh(emulator: Any, receivers: int, app_id: str) -> list[str]:
    """Reset the emulator: a new app (lark-oapi caches tokens per app id process-wide and
    never drops a revoked one), ``receivers`` users, latency and Feishu's limits."""
    from lark_service.testing.emulator.routes_im import im_state

    emulator.reset()
    emulator.add_app(app_id, APP_SECRET, name="Bench")
    ids = [f"u{n:05d}" for n in range(receivers)]
    for user_id in ids:
        emulator.add_user(user_id, name=user_id)
    emulator.inject_fault(MESSAGES, "latency", count=None, ms=LATENCY_MS)
    im_state(emulator).set_rate_limits(
        per_app=PER_APP, per_receiver=PER_RECEIVER, window=1.0, per_app_per_minute=1000
    )
    return ids


def _measure(name: str, emulator: Any, receivers: int, wall: float, failed: int) -> Run:
    limited = len(emulator.requests(path=MESSAGES, code=99991400)) + len(
        emulator.requests(path=MESSAGES, code=230020)
    )
    result = Run(name, wall, receivers, len(emulator.messages()), limited, failed)
    print(
        f"  {name}: {wall:.1f} s, {result.stored} stored, {limited} rate-limited answers, "
        f"{failed} failed",
        flush=True,
    )
    return result


def lark_batch_sync(emulator: Any, app_id: str, ids: list[str]) -> int:
    from lark_service import LarkClient

    with LarkClient(app_id, APP_SECRET, base_url=emulator.url) as client:
        result = client.messaging.send_batch(
            ids, "benchmark notice", receive_id_type="user_id", concurrency=CONCURRENCY
        )
    return len(result.failed)


def lark_batch_async(emulator: Any, app_id: str, ids: list[str]) -> int:
    from lark_service import AsyncLarkClient

    async def run() -> int:
        async with AsyncLarkClient(app_id, APP_SECRET, base_url=emulator.url) as client:
            result = await client.messaging.send_batch(
                ids, "benchmark notice", receive_id_type="user_id", concurrency=CONCURRENCY
            )
        return len(result.failed)

    return asyncio.run(run())


def lark_loop(emulator: Any, app_id: str, ids: list[str]) -> int:
    from lark_service import LarkClient, errors

    failed = 0
    with LarkClient(app_id, APP_SECRET, base_url=emulator.url) as client:
        for user_id in ids:
            try:
                client.messaging.send_text_message(user_id, "benchmark notice")
            except errors.LarkError:
                failed += 1
    return failed


def _official_client(emulator: Any, app_id: str) -> Any:
    import lark_oapi as lark

    return (
        lark.Client.builder()
        .app_id(app_id)
        .app_secret(APP_SECRET)
        .domain(emulator.url)
        .log_level(lark.LogLevel.ERROR)
        .build()
    )


def _official_send(client: Any, user_id: str) -> bool:
    from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody

    response = client.im.v1.message.create(
        CreateMessageRequest.builder()
        .receive_id_type("user_id")
        .request_body(
            CreateMessageRequestBody.builder()
            .receive_id(user_id)
            .msg_type("text")
            .content(json.dumps({"text": "benchmark notice"}))
            .build()
        )
        .build()
    )
    return bool(response.success())


def official_loop(emulator: Any, app_id: str, ids: list[str]) -> int:
    client = _official_client(emulator, app_id)
    return sum(not _official_send(client, user_id) for user_id in ids)


def official_threads(emulator: Any, app_id: str, ids: list[str]) -> int:
    client = _official_client(emulator, app_id)
    _official_send(client, ids[0])  # the token, fetched once before the threads start
    lock = threading.Lock()
    failed = [0]

    def one(user_id: str) -> None:
        if not _official_send(client, user_id):
            with lock:
                failed[0] += 1

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, ids[1:]))
    return failed[0]


def report(runs: list[Run], ideal: float) -> str:
    rows = [
        "| scenario | wall s | messages/s | × ideal | rate-limited answers | stored | failed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| ideal (Feishu's {PER_APP}/s) | {ideal:.1f} | {PER_APP:.0f} | 1.00 | 0 | "
        f"{runs[0].receivers if runs else 0} | 0 |",
    ]
    for r in runs:
        rows.append(
            f"| {r.name} | {r.wall:.1f} | {r.per_second:.1f} | {r.wall / ideal:.2f} | "
            f"{r.rate_limited} | {r.stored} | {r.failed} |"
        )
    return "\n".join(rows)


def doc_text(table: str, receivers: int) -> str:
    return f"""\
`send_batch` of {receivers:,} text messages (one per user) against the emulator answering each
send {LATENCY_MS} ms late and enforcing Feishu's limits ({PER_APP} sends/s per app,
{PER_RECEIVER}/s per receiver, 99991400/230020 with `x-ogw-ratelimit-reset` beyond them).
The ideal is {receivers:,} / {PER_APP} s: nothing may go faster without being throttled.
`benchmarks/bench_messaging.py`; {machine_line()}.

{table}

How to read it: `send_batch` is paced by the client-side limiter — a grid of 45 sends/s per
app and 4.5/s per receiver (10 % under Feishu's limits, for network jitter), plus a check that
no second of actual sends exceeds that — so it runs near the ideal and is not throttled; a
throttled attempt would be retried after the reset header with the same uuid, never
duplicated. A naive sequential loop is bound by the round trip ({LATENCY_MS} ms plus the
client's own overhead); the official client opens a new connection per call. Unpaced threads
hit the per-app limit and, since the official client neither retries nor reads the reset
header, every throttled send is a notification lost.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--receivers", type=int, default=None)
    parser.add_argument(
        "--skip-official", action="store_true", help="without lark-oapi (it imports slowly)"
    )
    args, _ = parser.parse_known_args(argv)
    short = args.quick or quick(argv)
    receivers = args.receivers or (200 if short else 1_000)
    logging.getLogger("lark_service").setLevel(logging.ERROR)

    from lark_service.testing import Emulator

    scenarios: list[tuple[str, Callable[[Any, str, list[str]], int]]] = [
        (f"lark-service send_batch, sync ({CONCURRENCY} threads)", lark_batch_sync),
        (f"lark-service send_batch, async ({CONCURRENCY} tasks)", lark_batch_async),
        ("lark-service, naive loop", lark_loop),
    ]
    if not args.skip_official:
        scenarios += [
            ("lark-oapi, naive loop", official_loop),
            (f"lark-oapi, {CONCURRENCY} threads, unpaced", official_threads),
        ]
    ideal = receivers / PER_APP
    print(f"# messaging: {receivers:,} receivers, {LATENCY_MS} ms latency, ideal {ideal:.1f} s")
    runs: list[Run] = []
    with Emulator() as emulator:
        for number, (name, scenario) in enumerate(scenarios):
            app_id = f"cli_bench_msg{number}"
            ids = _fresh(emulator, receivers, app_id)
            started = time.perf_counter()
            failed = scenario(emulator, app_id, ids)
            runs.append(_measure(name, emulator, receivers, time.perf_counter() - started, failed))
    table = report(runs, ideal)
    print()
    print(table)
    batch = runs[0]
    ok = batch.stored == receivers and batch.wall <= ideal * 1.25 + 1
    print(f"\nsend_batch within 25 % of the ideal and every message stored: {ok}")
    if args.write_docs and not short:
        update_doc_section("## Messaging", doc_text(table, receivers))
        print("wrote ## Messaging in docs/performance.md")
    return 0 if ok or short else 1


if __name__ == "__main__":
    raise SystemExit(main())

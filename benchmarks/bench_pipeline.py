"""Send-a-text-message throughput, latency and client CPU: lark-service vs raw httpx vs lark-oapi.

Against :mod:`_server` (a minimal local Feishu in another process) on loopback, over HTTP and
HTTPS (a trustme certificate for 127.0.0.1), in four modes: sync sequential, 16 threads, async
sequential and 16 asyncio tasks. The clients:

- ``raw httpx``: one pooled ``httpx.Client`` / ``httpx.AsyncClient`` posting with a fixed
  token and reading the JSON answer, the floor any wrapper is compared to;
- ``lark-service``: ``LarkClient(app_id, secret, base_url=url).messaging.send_text_message``
  (``AsyncLarkClient`` for async), tokens fetched and cached by the library;
- ``lark-oapi``: the official SDK's ``client.im.v1.message.create`` / ``acreate``;
- async transport study: ``httpx.AsyncClient`` with ``httpx_aiohttp.AiohttpTransport``,
  ``AsyncLarkClient(http_backend="httpx")``, plain ``aiohttp``, and ``httpx`` on uvloop
  (skipped when ``httpx-aiohttp`` / ``uvloop`` are not installed).

``--quick`` runs fewer calls; ``--write-docs`` rewrites ``## Pipeline`` in docs/performance.md;
``--only https`` / ``--only http`` one protocol; ``--profile sync|async`` runs lark-service
under cProfile (HTTPS; sync sequential or 16 async tasks) and prints the hot spots.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import os
import pstats
import ssl
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _harness import (
    Result,
    best_of,
    format_table,
    loadavg,
    machine_line,
    quick,
    run_async,
    run_sync,
    update_doc_section,
    verdict,
)
from _server import APP_ID, APP_SECRET, TOKEN, LocalFeishu, restore_env, trust_env

RECEIVER = "ou_bench00000000000000000000001"
TEXT = "hello from the benchmark"
CONTENT = json.dumps({"text": TEXT})
MESSAGES = "/open-apis/im/v1/messages"

RAW = "raw httpx"
LARK = "lark-service"
LARK_QUIET = "lark-service, logs at WARNING"
OFFICIAL = "lark-oapi (official)"
RAW_AIOHTTP = "raw httpx + AiohttpTransport"
LARK_HTTPX = "lark-service, http_backend=httpx"
AIOHTTP = "raw aiohttp"
RAW_UVLOOP = "raw httpx on uvloop"

SEQ = "sync sequential"
THREADS = "16 threads"
ASEQ = "async sequential"
TASKS = "16 async tasks"

Call = Callable[[], Any]
ACall = Callable[[], Awaitable[Any]]


def _check(data: dict[str, Any]) -> str:
    if data.get("code") != 0:
        raise RuntimeError(f"Feishu answered code {data.get('code')}: {data.get('msg')}")
    return str(data["data"]["message_id"])


def _limits() -> httpx.Limits:
    return httpx.Limits(max_connections=100, max_keepalive_connections=50)


# -- sync clients: factory(url) -> (call, close) ----------------------------------------------


def raw_sync(url: str) -> tuple[Call, Call]:
    http = httpx.Client(limits=_limits())
    target = url + MESSAGES
    params = {"receive_id_type": "open_id"}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"receive_id": RECEIVER, "msg_type": "text", "content": CONTENT}

    def call() -> str:
        return _check(http.post(target, params=params, json=body, headers=headers).json())

    return call, http.close


def _unpaced() -> dict[str, Any]:
    """Local pacing off: every call goes to one receiver, which Feishu's per-receiver limit
    (5/s, paced at 4.5/s since the pipeline paces every call) would otherwise hold to 4.5
    calls/s, measuring the limit instead of the client. (Pacing's own cost per call is
    measured by bench_pacing.py.) Older versions, without pacing, take nothing."""
    try:
        from lark_service import PacingTable
    except ImportError:
        return {}
    return {"pacing": PacingTable.unlimited()}


def lark_sync(url: str) -> tuple[Call, Call]:
    from lark_service import LarkClient

    client = LarkClient(APP_ID, APP_SECRET, base_url=url, **_unpaced())

    def call() -> Any:
        return client.messaging.send_text_message(RECEIVER, TEXT)

    return call, client.close


class _QuietLogs:
    """lark-service's loggers at WARNING while a client runs (the default level is INFO)."""

    def __enter__(self) -> None:
        self.logger = logging.getLogger("lark_service")
        self.level = self.logger.level
        self.logger.setLevel(logging.WARNING)

    def __exit__(self, *exc: object) -> None:
        self.logger.setLevel(self.level)


def lark_sync_quiet(url: str) -> tuple[Call, Call]:
    quiet = _QuietLogs()
    quiet.__enter__()
    call, close = lark_sync(url)

    def close_all() -> None:
        close()
        quiet.__exit__()

    return call, close_all


def _official_client(url: str) -> Any:
    import lark_oapi as lark

    return (
        lark.Client.builder()
        .app_id(APP_ID)
        .app_secret(APP_SECRET)
        .domain(url)
        .log_level(lark.LogLevel.WARNING)
        .build()
    )


def _official_request() -> Any:
    from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody

    return (
        CreateMessageRequest.builder()
        .receive_id_type("open_id")
        .request_body(
            CreateMessageRequestBody.builder()
            .receive_id(RECEIVER)
            .msg_type("text")
            .content(CONTENT)
            .build()
        )
        .build()
    )


def _official_check(response: Any) -> Any:
    if not response.success():
        raise RuntimeError(f"lark-oapi: code {response.code}: {response.msg}")
    return response.data.message_id


def official_sync(url: str) -> tuple[Call, Call]:
    client = _official_client(url)

    def call() -> Any:
        return _official_check(client.im.v1.message.create(_official_request()))

    return call, lambda: None


# -- async clients: async factory(url) -> (acall, close) -------------------------------------


async def raw_async(
    url: str, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[ACall, Call]:
    http = httpx.AsyncClient(limits=_limits(), transport=transport)
    target = url + MESSAGES
    params = {"receive_id_type": "open_id"}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"receive_id": RECEIVER, "msg_type": "text", "content": CONTENT}

    async def call() -> str:
        response = await http.post(target, params=params, json=body, headers=headers)
        return _check(response.json())

    return call, http.aclose


async def lark_async(url: str, backend: str = "auto") -> tuple[ACall, Call]:
    from lark_service import AsyncLarkClient

    client = AsyncLarkClient(APP_ID, APP_SECRET, base_url=url, http_backend=backend, **_unpaced())

    async def call() -> Any:
        return await client.messaging.send_text_message(RECEIVER, TEXT)

    return call, client.aclose


async def lark_async_quiet(url: str) -> tuple[ACall, Call]:
    quiet = _QuietLogs()
    quiet.__enter__()
    call, close = await lark_async(url)

    async def close_all() -> None:
        await close()
        quiet.__exit__()

    return call, close_all


async def official_async(url: str) -> tuple[ACall, Call]:
    client = _official_client(url)

    async def call() -> Any:
        return _official_check(await client.im.v1.message.acreate(_official_request()))

    return call, lambda: None


def _aiohttp_transport() -> httpx.AsyncBaseTransport:
    from httpx_aiohttp import AiohttpTransport

    return AiohttpTransport(limits=_limits())  # type: ignore[no-any-return]


async def raw_async_aiohttp(url: str) -> tuple[ACall, Call]:
    return await raw_async(url, _aiohttp_transport())


async def lark_async_httpx(url: str) -> tuple[ACall, Call]:
    return await lark_async(url, "httpx")


async def aiohttp_plain(url: str) -> tuple[ACall, Call]:
    import aiohttp

    # aiohttp builds its default SSL context at import time: give it one that reads the
    # SSL_CERT_FILE set for this run, as httpx does.
    context = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE") or None)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100, ssl=context))
    target = url + MESSAGES
    params = {"receive_id_type": "open_id"}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"receive_id": RECEIVER, "msg_type": "text", "content": CONTENT}

    async def call() -> str:
        async with session.post(target, params=params, json=body, headers=headers) as response:
            return _check(json.loads(await response.read()))

    return call, session.close


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# -- the scenario matrix ----------------------------------------------------------------------


@dataclass
class Plan:
    fast_calls: int
    official_sync_calls: int
    official_async_calls: int
    warmup: int
    rounds: int


def _plan(is_quick: bool) -> Plan:
    if is_quick:
        return Plan(
            fast_calls=320, official_sync_calls=64, official_async_calls=32, warmup=16, rounds=1
        )
    return Plan(
        fast_calls=2500, official_sync_calls=320, official_async_calls=240, warmup=48, rounds=5
    )


@dataclass
class Case:
    client: str
    mode: str
    run: Callable[[], Result]
    rounds: list[Result]


def run_protocol(feishu: LocalFeishu, plan: Plan, *, progress: bool = True) -> list[Result]:
    """Every scenario against one server (HTTP or HTTPS); returns the results in order.

    The clients of one mode run interleaved, ``plan.rounds`` times each, and every metric is
    reported from its best round (:func:`_harness.best_of`): the machine is shared.
    """
    url = feishu.url
    proto = "https" if feishu.tls else "http"
    with_aiohttp = _has("httpx_aiohttp")
    with_uvloop = _has("uvloop")

    def sync_case(client: str, factory: Callable[[str], tuple[Call, Call]], conc: int) -> Case:
        calls = plan.official_sync_calls if client == OFFICIAL else plan.fast_calls
        calls //= plan.rounds
        warmup = max(conc, plan.warmup // 4) if client == OFFICIAL else plan.warmup

        def run() -> Result:
            call, close = factory(url)
            try:
                return run_sync(client, call, calls=calls, concurrency=conc, warmup=warmup)
            finally:
                close()

        return Case(client, SEQ if conc == 1 else THREADS, run, [])

    def async_case(
        client: str,
        factory: Callable[[str], Awaitable[tuple[ACall, Call]]],
        conc: int,
        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
    ) -> Case:
        calls = plan.official_async_calls if client == OFFICIAL else plan.fast_calls
        calls //= plan.rounds
        warmup = max(conc, plan.warmup // 4) if client == OFFICIAL else plan.warmup

        def run() -> Result:
            return run_async(
                client,
                lambda: factory(url),
                calls=calls,
                concurrency=conc,
                warmup=warmup,
                loop_factory=loop_factory,
            )

        return Case(client, ASEQ if conc == 1 else TASKS, run, [])

    groups: list[list[Case]] = []
    for conc in (1, 16):
        groups.append(
            [
                sync_case(RAW, raw_sync, conc),
                sync_case(LARK, lark_sync, conc),
                sync_case(LARK_QUIET, lark_sync_quiet, conc),
                sync_case(OFFICIAL, official_sync, conc),
            ]
        )
    for conc in (1, 16):
        group = [
            async_case(RAW, raw_async, conc),
            async_case(LARK, lark_async, conc),
            async_case(LARK_QUIET, lark_async_quiet, conc),
            async_case(OFFICIAL, official_async, conc),
        ]
        if with_aiohttp:
            group += [
                async_case(RAW_AIOHTTP, raw_async_aiohttp, conc),
                async_case(LARK_HTTPX, lark_async_httpx, conc),
                async_case(AIOHTTP, aiohttp_plain, conc),
            ]
        if with_uvloop and conc > 1:
            import uvloop

            group.append(async_case(RAW_UVLOOP, raw_async, conc, uvloop.new_event_loop))
        groups.append(group)

    results: list[Result] = []
    for group in groups:
        for _ in range(plan.rounds):
            for case in group:
                feishu.reset()
                result = case.run()
                stats = feishu.stats()
                # minus the stats request's own connection
                result.tags["conns"] = max(0, stats["connections"] - 1)
                case.rounds.append(result)
        for case in group:
            result = best_of(case.rounds)
            result.tags["proto"] = proto
            result.tags["conns"] = max(int(r.tags["conns"]) for r in case.rounds)
            results.append(result)
            if progress:
                print(
                    f"  {proto:5} {case.mode:17} {case.client:32} "
                    f"{result.calls_per_s:8,.0f} calls/s "
                    f"p50 {result.p50_ms:6.2f} ms p99 {result.p99_ms:7.2f} ms "
                    f"cpu {result.cpu_us_per_call:7,.0f} us/call "
                    f"conns {result.tags['conns']}"
                    + (f"  ERRORS {result.errors}: {result.first_error}" if result.errors else ""),
                    flush=True,
                )
    return results


# -- targets ----------------------------------------------------------------------------------


@dataclass
class Check:
    target: str
    value: float
    limit: float
    higher_is_better: bool
    unit: str = "x"
    primary: bool = True  # False: a what-if variant, shown but not counted

    @property
    def ok(self) -> bool:
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def row(self) -> list[str]:
        sign = ">=" if self.higher_is_better else "<="
        mark = verdict(self.ok) if self.primary else f"({verdict(self.ok).lower()}, what-if)"
        return [self.target, f"{self.value:.2f}{self.unit}", f"{sign} {self.limit:g}", mark]


def _find(results: list[Result], proto: str, mode: str, client: str) -> Result | None:
    for r in results:
        if r.tags.get("proto") == proto and r.mode == mode and r.client == client:
            return r
    return None


def checks(results: list[Result]) -> list[Check]:
    """The issue's targets as ratios of measured numbers (what-if variants not counted)."""
    out: list[Check] = []
    protos = sorted({str(r.tags["proto"]) for r in results}, reverse=True)  # https first

    def ratio(
        proto: str, mode: str, ours_name: str, base_name: str, metric: str
    ) -> tuple[float, bool] | None:
        ours, base = _find(results, proto, mode, ours_name), _find(results, proto, mode, base_name)
        if ours is None or base is None or not getattr(base, metric):
            return None
        return getattr(ours, metric) / getattr(base, metric), True

    for proto in protos:
        for mode in (SEQ, THREADS, ASEQ, TASKS):
            for ours_name, primary in ((LARK, True), (LARK_QUIET, False)):
                got = ratio(proto, mode, ours_name, RAW, "cpu_us_per_call")
                if got:
                    out.append(
                        Check(
                            f"{proto} {mode}: CPU/call {ours_name} ÷ raw httpx",
                            got[0],
                            1.3,
                            higher_is_better=False,
                            primary=primary,
                        )
                    )
    for mode in (THREADS, TASKS):
        got = ratio("https", mode, LARK, OFFICIAL, "calls_per_s")
        if got:
            out.append(
                Check(
                    f"https {mode}: calls/s lark-service ÷ lark-oapi",
                    got[0],
                    10,
                    higher_is_better=True,
                )
            )
    for proto in protos:
        for mode in (ASEQ, TASKS):
            for ours_name, base_name, primary in (
                (LARK, RAW, True),
                (LARK_HTTPX, RAW, False),
            ):
                got = ratio(proto, mode, ours_name, base_name, "calls_per_s")
                if got:
                    base_label = "raw httpx.AsyncClient"
                    out.append(
                        Check(
                            f"{proto} {mode}: calls/s {ours_name} ÷ {base_label}",
                            got[0],
                            1.0,
                            higher_is_better=True,
                            primary=primary,
                        )
                    )
    return out


def checks_table(items: list[Check]) -> str:
    rows = [["target", "measured", "goal", ""], ["---", "---:", "---:", "---"]]
    rows += [c.row() for c in items]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in rows)


def transport_table(results: list[Result]) -> str:
    """Async transports next to the sync client, 16-way, per protocol."""
    rows = [
        ["proto", "transport", "calls/s", "p50 ms", "CPU µs/call", "÷ httpx.Client threads"],
        ["---", "---", "---:", "---:", "---:", "---:"],
    ]
    for proto in sorted({str(r.tags["proto"]) for r in results}, reverse=True):
        base = _find(results, proto, THREADS, RAW)
        for mode, client, label in (
            (THREADS, RAW, "httpx.Client, 16 threads"),
            (TASKS, RAW, "httpx.AsyncClient (anyio/httpcore), 16 tasks"),
            (TASKS, RAW_UVLOOP, "httpx.AsyncClient on uvloop, 16 tasks"),
            (TASKS, RAW_AIOHTTP, "httpx.AsyncClient + AiohttpTransport, 16 tasks"),
            (TASKS, AIOHTTP, "aiohttp.ClientSession, 16 tasks"),
            (TASKS, LARK, "AsyncLarkClient (default: aiohttp transport), 16 tasks"),
            (TASKS, LARK_HTTPX, 'AsyncLarkClient(http_backend="httpx"), 16 tasks'),
        ):
            r = _find(results, proto, mode, client)
            if r is None:
                continue
            ratio = f"{r.calls_per_s / base.calls_per_s:.2f}" if base else ""
            rows.append(
                [
                    proto,
                    label,
                    f"{r.calls_per_s:,.0f}",
                    f"{r.p50_ms:.2f}",
                    f"{r.cpu_us_per_call:,.0f}",
                    ratio,
                ]
            )
    return "\n".join("| " + " | ".join(cells) + " |" for cells in rows)


# -- profiling --------------------------------------------------------------------------------


def profile(kind: str, calls: int) -> str:
    """cProfile of lark-service over HTTPS (sync sequential or 16 async tasks); top functions."""
    with LocalFeishu(tls=True) as feishu:
        previous = trust_env(feishu.ca_file)
        try:
            profiler = cProfile.Profile()
            if kind == "sync":
                call, close = lark_sync(feishu.url)
                for _ in range(50):
                    call()
                profiler.enable()
                for _ in range(calls):
                    call()
                profiler.disable()
                close()
            else:

                async def scenario() -> None:
                    call, close = await lark_async(feishu.url)
                    for _ in range(50):
                        await call()

                    async def worker() -> None:
                        for _ in range(calls // 16):
                            await call()

                    profiler.enable()
                    await asyncio.gather(*(worker() for _ in range(16)))
                    profiler.disable()
                    await close()

                asyncio.run(scenario())
        finally:
            restore_env(previous)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)
    return out.getvalue()


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls per scenario")
    parser.add_argument("--write-docs", action="store_true", help="rewrite docs/performance.md")
    parser.add_argument("--only", choices=["http", "https"], help="one protocol only")
    parser.add_argument("--profile", choices=["sync", "async"], help="cProfile lark-service")
    parser.add_argument("--profile-calls", type=int, default=3000)
    args, _unknown = parser.parse_known_args(argv)
    if args.profile:
        print(profile(args.profile, args.profile_calls))
        return 0
    plan = _plan(args.quick or quick(argv))
    print(
        f"# pipeline: send_text_message, {plan.fast_calls} calls per fast scenario, "
        f"{plan.official_sync_calls}/{plan.official_async_calls} for lark-oapi sync/async",
        flush=True,
    )
    started = f"load average {loadavg()}"
    results: list[Result] = []
    for tls in (False, True):
        if args.only and args.only != ("https" if tls else "http"):
            continue
        with LocalFeishu(tls=tls) as feishu:
            previous = trust_env(feishu.ca_file)
            try:
                results += run_protocol(feishu, plan)
            finally:
                restore_env(previous)
    protos = sorted({str(r.tags["proto"]) for r in results}, reverse=True)
    tables = []
    for proto in protos:
        rows = [r for r in results if r.tags["proto"] == proto]
        tables.append(f"### {proto.upper()}\n\n" + format_table(rows, extra=["conns"]))
    targets = checks(results)
    report = "\n\n".join(
        [
            *tables,
            "### Targets\n\n" + checks_table(targets),
            "### Async transports (16-way)\n\n" + transport_table(results),
        ]
    )
    print()
    print(report)
    counted = [c for c in targets if c.primary]
    missed = [c for c in counted if not c.ok]
    print(f"\n{len(counted) - len(missed)} targets met, {len(missed)} missed", flush=True)
    if args.write_docs and not (args.quick or quick(argv)):
        update_doc_section("## Pipeline", _doc_text(plan, report, started))
        print("wrote ## Pipeline to docs/performance.md")
    errors = sum(r.errors for r in results)
    return 1 if errors else 0


def _doc_text(plan: Plan, report: str, started: str) -> str:
    aiohttp = "installed" if _has("httpx_aiohttp") else "not installed (those rows are skipped)"
    per_round = plan.fast_calls // plan.rounds
    official = (
        f"{plan.official_sync_calls // plan.rounds} sync / "
        f"{plan.official_async_calls // plan.rounds} async for lark-oapi, which is slow"
    )
    return f"""\
`benchmarks/bench_pipeline.py`: `send_text_message` against a minimal local Feishu
(`benchmarks/_server.py`: uvicorn + uvloop + httptools in its own process) on loopback, HTTP and
HTTPS (a trustme certificate for 127.0.0.1; the clients trust certifi's bundle plus that CA, as
a deployment would). Each client runs {plan.rounds} rounds of {per_round} calls ({official})
after a warm-up (token fetched, pool warm), interleaved with the other clients of its mode; each
metric is its best round, because the machine is shared and other work only ever slows a round
down. *calls/s* is calls over the measured wall time, *p50/p99* per-call wall latency, *CPU
µs/call* the client process's `time.process_time()` over the calls (all threads; the server's
CPU is not counted), *conns* the TCP connections the server saw in a round, warm-up included.
Client and server share 2 cores, so the fastest clients are partly limited by the server, and
calls/s moves with the machine's load far more than CPU µs/call does.

Machine: {machine_line()} (at the start: {started}).
httpx-aiohttp: {aiohttp}.

Reading the rows:

- **lark-oapi** opens a connection per call (*conns* ≈ calls per round plus warm-up): its sync
  client calls `requests.request()` (no session), so each HTTPS call pays a TLS handshake and
  loads the CA bundle; its async client builds a new `httpx.AsyncClient`, and with it an SSL
  context, for every call, over HTTP too.
- **lark-service** rows run with local pacing off (`pacing=PacingTable.unlimited()`): every
  call goes to one receiver, which Feishu's 5/s per receiver would otherwise hold to 4.5
  calls/s (the pacer's own cost: `bench_pacing.py`). The metrics subscriber is on whenever
  `prometheus_client` is installed, as in the dev venv (`LARK_METRICS=off` to compare;
  `bench_metrics.py` measures it).
- **lark-service, logs at WARNING** is the same client with the `lark_service` logger at
  WARNING instead of the default INFO. With no handler configured the INFO record is not built
  at all, so the two should match; with logging configured, the INFO line is what it costs.
- **lark-service** async rows use the default transport (aiohttp, through httpx-aiohttp);
  **http_backend=httpx** is `AsyncLarkClient(http_backend="httpx")`; **raw httpx +
  AiohttpTransport** passes `httpx_aiohttp.AiohttpTransport()` to `httpx.AsyncClient`
  (aiohttp's connection pool under httpx's API); **raw aiohttp** is aiohttp's own client, the
  floor for an asyncio client here. (sniffio is a dependency: without it httpcore's `import
  sniffio` on every async request searched all of `sys.path`.)
- In *Targets*, "what-if" rows are those variants: shown, not counted.

{report}
"""


if __name__ == "__main__":
    sys.exit(main())

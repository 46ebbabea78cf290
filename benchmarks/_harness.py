"""Measuring helpers shared by the ``bench_*.py`` modules.

    result = run_sync("raw httpx", call, calls=2000, concurrency=16)      # 16 threads
    result = run_async("raw httpx", acall, calls=2000, concurrency=16)    # 16 asyncio tasks
    print(format_table([result, ...]))

Throughput is calls over the measured wall time; p50/p99 come from per-call wall latencies;
CPU per call is the ``time.process_time()`` delta of this (client) process over the measured
calls, every thread included. Warm-up calls (token fetch, connection set-up) are not measured.

``quick()`` tells whether ``--quick`` (or ``LARK_BENCH_QUICK=1``) asked for a short run;
``update_doc_section("## Pipeline", text)`` rewrites one section of ``docs/performance.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import os
import platform
import re
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DOC_PATH",
    "Result",
    "best_of",
    "format_table",
    "loadavg",
    "machine_line",
    "quick",
    "run_async",
    "run_sync",
    "update_doc_section",
    "verdict",
]

ROOT = Path(__file__).resolve().parent.parent
DOC_PATH = ROOT / "docs" / "performance.md"

_DOC_INTRO = """\
# Performance

Measured side by side by `make bench` (`benchmarks/run_all.py`, which runs every
`benchmarks/bench_*.py`; `make bench BENCH_ARGS="pipeline import"` runs a subset, `--quick` a
short pass, `--write-docs` rewrites the tables below). Each section says what it measured, on
which machine and when; numbers from a 2-core machine are for comparing clients side by side,
not absolute capacity.
"""


def quick(argv: Sequence[str] | None = None) -> bool:
    """True when a short run was asked for (``--quick`` or ``LARK_BENCH_QUICK=1``)."""
    args = sys.argv[1:] if argv is None else argv
    return "--quick" in args or os.environ.get("LARK_BENCH_QUICK", "") not in ("", "0")


@dataclass
class Result:
    """One scenario: ``calls`` measured calls of ``client`` in ``mode`` (e.g. ``16 threads``)."""

    client: str
    mode: str
    calls: int
    wall: float
    cpu: float
    latencies: list[float] = field(repr=False, default_factory=list)
    errors: int = 0
    first_error: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    rounds: list[Result] = field(repr=False, default_factory=list)

    @property
    def calls_per_s(self) -> float:
        if self.rounds:
            return max(r.calls_per_s for r in self.rounds)
        return self.calls / self.wall if self.wall > 0 else 0.0

    @property
    def cpu_us_per_call(self) -> float:
        if self.rounds:
            return min(r.cpu_us_per_call for r in self.rounds)
        return self.cpu / self.calls * 1e6 if self.calls else 0.0

    def percentile(self, q: float) -> float:
        """Latency percentile ``q`` (0-100) in milliseconds (nearest rank)."""
        if self.rounds:
            return min(r.percentile(q) for r in self.rounds)
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000

    @property
    def p50_ms(self) -> float:
        return self.percentile(50)

    @property
    def p99_ms(self) -> float:
        return self.percentile(99)


def best_of(rounds: Sequence[Result]) -> Result:
    """Several rounds of one scenario as one result reporting each metric's best round.

    On a shared machine other work only ever slows a round down, so the best round (highest
    calls/s, lowest CPU per call, lowest p50/p99) is the closest to the client's own cost.
    """
    first = rounds[0]
    if len(rounds) == 1:
        return first
    errors = [r.first_error for r in rounds if r.first_error]
    return Result(
        first.client,
        first.mode,
        calls=sum(r.calls for r in rounds),
        wall=sum(r.wall for r in rounds),
        cpu=sum(r.cpu for r in rounds),
        errors=sum(r.errors for r in rounds),
        first_error=errors[0] if errors else None,
        tags=dict(first.tags),
        rounds=list(rounds),
    )


def run_sync(
    client: str,
    call: Callable[[], Any],
    *,
    calls: int,
    concurrency: int = 1,
    warmup: int = 20,
    mode: str | None = None,
) -> Result:
    """Run ``call`` ``calls`` times, sequentially or spread over ``concurrency`` threads."""
    concurrency = max(1, concurrency)
    per_worker = max(1, calls // concurrency)
    total = per_worker * concurrency
    _warm_sync(call, warmup, concurrency)
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures: list[BaseException] = []
    barrier = threading.Barrier(concurrency + 1)

    def worker(index: int) -> None:
        own = latencies[index]
        clock = time.perf_counter
        barrier.wait()
        for _ in range(per_worker):
            started = clock()
            try:
                call()
            except Exception as exc:
                failures.append(exc)
            own.append(clock() - started)

    if concurrency == 1:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        own = latencies[0]
        clock = time.perf_counter
        for _ in range(total):
            started = clock()
            try:
                call()
            except Exception as exc:
                failures.append(exc)
            own.append(clock() - started)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    else:
        threads = [
            threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        barrier.wait()
        for thread in threads:
            thread.join()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return _result(
        client, mode or _mode("sync", concurrency), total, wall, cpu, latencies, failures
    )


def _warm_sync(call: Callable[[], Any], warmup: int, concurrency: int) -> None:
    if warmup <= 0:
        return
    call()  # the first call fetches the token alone, as in a real service
    if concurrency == 1:
        for _ in range(warmup - 1):
            call()
        return
    rounds = max(1, warmup // concurrency)

    def warm() -> None:
        for _ in range(rounds):
            call()

    threads = [threading.Thread(target=warm, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


async def _warm_async(call: Callable[[], Awaitable[Any]], warmup: int, concurrency: int) -> None:
    if warmup <= 0:
        return
    await call()
    if concurrency == 1:
        for _ in range(warmup - 1):
            await call()
        return
    rounds = max(1, warmup // concurrency)

    async def warm() -> None:
        for _ in range(rounds):
            await call()

    await asyncio.gather(*(warm() for _ in range(concurrency)))


def run_async(
    client: str,
    make_call: Callable[[], Awaitable[tuple[Callable[[], Awaitable[Any]], Callable[[], Any]]]],
    *,
    calls: int,
    concurrency: int = 1,
    warmup: int = 20,
    mode: str | None = None,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> Result:
    """Run an async call ``calls`` times in ``concurrency`` tasks on a fresh event loop.

    ``make_call`` is a coroutine function run inside that loop; it returns ``(call, close)``:
    the coroutine function to measure and a cleanup (sync or async) run after the calls.
    """
    concurrency = max(1, concurrency)
    per_worker = max(1, calls // concurrency)
    total = per_worker * concurrency

    async def scenario() -> Result:
        call, close = await make_call()
        try:
            await _warm_async(call, warmup, concurrency)
            latencies: list[list[float]] = [[] for _ in range(concurrency)]
            failures: list[BaseException] = []

            async def worker(index: int) -> None:
                own = latencies[index]
                clock = time.perf_counter
                for _ in range(per_worker):
                    started = clock()
                    try:
                        await call()
                    except Exception as exc:
                        failures.append(exc)
                    own.append(clock() - started)

            cpu0, wall0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(worker(i) for i in range(concurrency)))
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        finally:
            closed = close()
            if asyncio.iscoroutine(closed):
                await closed
        return _result(
            client, mode or _mode("async", concurrency), total, wall, cpu, latencies, failures
        )

    if loop_factory is None:
        return asyncio.run(scenario())
    loop = loop_factory()
    try:
        return loop.run_until_complete(scenario())
    finally:
        loop.close()


def _mode(kind: str, concurrency: int) -> str:
    if concurrency == 1:
        return f"{kind} sequential"
    return f"{concurrency} threads" if kind == "sync" else f"{concurrency} async tasks"


def _result(
    client: str,
    mode: str,
    total: int,
    wall: float,
    cpu: float,
    latencies: list[list[float]],
    failures: list[BaseException],
) -> Result:
    flat = [value for chunk in latencies for value in chunk]
    first = f"{type(failures[0]).__name__}: {failures[0]}"[:300] if failures else None
    return Result(client, mode, total, wall, cpu, flat, len(failures), first)


def format_table(results: Sequence[Result], *, extra: Sequence[str] = ()) -> str:
    """A Markdown table: mode, client, calls, calls/s, p50/p99 ms, CPU µs per call (+ tags)."""
    header = ["mode", "client", "calls", "calls/s", "p50 ms", "p99 ms", "CPU µs/call", *extra]
    rows = [header, ["---"] * 2 + ["---:"] * (len(header) - 2)]
    for r in results:
        row = [
            r.mode,
            r.client,
            str(r.calls),
            f"{r.calls_per_s:,.0f}",
            f"{r.p50_ms:.2f}",
            f"{r.p99_ms:.2f}",
            f"{r.cpu_us_per_call:,.0f}",
        ]
        row += [str(r.tags.get(name, "")) for name in extra]
        if r.errors:
            row[1] += f" ({r.errors} errors)"
        rows.append(row)
    return "\n".join("| " + " | ".join(cells) + " |" for cells in rows)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def machine_line() -> str:
    """``2 cores (model), Linux x86_64, CPython 3.11.7, 2025-01-01, load average 0.1 …``."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = loadavg()
    load = f", load average {load}" if load else ""
    return (
        f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{_dt.date.today().isoformat()}{load}"
    )


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages (``""`` where the OS does not say)."""
    with contextlib.suppress(OSError, AttributeError):
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    return ""


def update_doc_section(heading: str, body: str, path: Path = DOC_PATH) -> None:
    """Replace the ``heading`` section (up to the next ``## ``) of ``docs/performance.md``.

    The file is created with a short intro when missing; a missing section is appended. Other
    sections are left exactly as they are.
    """
    text = path.read_text() if path.exists() else _DOC_INTRO
    block = f"{heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^{re.escape(heading)}[ \t]*\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n")

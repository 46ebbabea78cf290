"""The scheduler's fleet election: three scheduler processes on one PostgreSQL database.

For each of ``--occurrences`` (200) simulated occurrences of one job, every process ticks
the same occurrence (the simulated clock is set to its time; a ``multiprocessing.Barrier``
lines the processes up, then each waits a random 0..``--skew-ms`` before ticking, so both
races are exercised: replicas arriving together contend for the advisory lock, a late one
finds the occurrence's claim). The job inserts ``(occurrence, pid)`` into a table of the
benchmark's own schema. Reported:

- **runs per occurrence**: must be exactly 1 for every occurrence (the benchmark exits 1
  otherwise), and how the losers learnt it (``elsewhere``: the claim or the lock);
- **election latency**: wall time of ``DatabaseElection.acquire`` (+ ``release`` for the
  winner) per replica and occurrence, p50/p95/max, for winners and losers; compared with the
  job run itself it is what the election adds to each occurrence.

Needs a PostgreSQL server (``--url``, default ``LARK_TEST_POSTGRES_URL`` or
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); runs in a fresh schema, dropped at
the end. ``--sqlite`` runs the same on a SQLite file (file lock).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

DEFAULT_URL = os.environ.get(
    "LARK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _libpq(url: str) -> str:
    _scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}"


def _replica(
    index: int,
    url: str,
    home: str,
    occurrences: list[float],
    barrier: Any,
    skew_ms: float,
    out: Any,
) -> None:
    from sqlalchemy import text

    from lark_service.scheduler import DatabaseElection, Job, JobContext, Schedule, Scheduler

    rng = random.Random(index * 7919)
    now = [0.0]
    election = DatabaseElection(url, home=Path(home), clock=lambda: now[0])
    engine = election.engine
    timings: list[tuple[str, float]] = []

    class Timed:
        def acquire(self, job: str, occurrence: float | None) -> Any:
            started = time.perf_counter()
            lease = election.acquire(job, occurrence)
            spent = time.perf_counter() - started
            if lease is None:
                timings.append(("loser", spent))
                return None

            class Lease:
                def release(self) -> None:
                    began = time.perf_counter()
                    lease.release()
                    timings.append(("winner", spent + time.perf_counter() - began))

            return Lease()

    job_times: list[float] = []

    def beat(ctx: JobContext) -> dict[str, Any]:
        began = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO bench_runs (occurrence, pid) VALUES (:o, :p)"),
                {"o": ctx.occurrence, "p": os.getpid()},
            )
        job_times.append(time.perf_counter() - began)
        return {}

    scheduler = Scheduler(
        [Job("beat", beat, Schedule(interval=60))],
        context=lambda job, occ: JobContext(
            job,
            occ,
            lambda: now[0],
            None,
            None,
            lambda: None,  # type: ignore[arg-type]
        ),
        election=Timed(),
        clock=lambda: now[0],
    )
    scheduler.plan(occurrences[0] - 1)
    reasons: dict[str, int] = {}
    for occurrence in occurrences:
        barrier.wait(60)
        if skew_ms:
            time.sleep(rng.uniform(0, skew_ms) / 1000)
        now[0] = occurrence + 0.001
        for result in scheduler.tick():
            key = result.outcome if not result.reason else f"{result.outcome}/{result.reason}"
            reasons[key] = reasons.get(key, 0) + 1
    scheduler.shutdown()
    out.put({"index": index, "timings": timings, "reasons": reasons, "job": job_times})


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--occurrences", type=int, default=200)
    parser.add_argument("--skew-ms", type=float, default=5.0)
    args = parser.parse_args()

    from sqlalchemy import create_engine, text

    tmp = tempfile.mkdtemp(prefix="lark-bench-sched-")
    schema = None
    if args.sqlite:
        url = f"sqlite:///{tmp}/state.db"
    else:
        import psycopg

        schema = f"bench_{secrets.token_hex(5)}"
        with psycopg.connect(_libpq(args.url), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        joiner = "&" if "?" in args.url else "?"
        url = f"{args.url}{joiner}options={quote(f'-csearch_path={schema}')}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_runs (occurrence DOUBLE PRECISION, pid INTEGER)"))
    from lark_service.storage.migrate import ensure_schema

    ensure_schema(url, "state")
    occurrences = [1_800_000_000.0 + 60 * i for i in range(args.occurrences)]
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(args.processes)
    out = ctx.Queue()
    started = time.perf_counter()
    procs = [
        ctx.Process(target=_replica, args=(i, url, tmp, occurrences, barrier, args.skew_ms, out))
        for i in range(args.processes)
    ]
    for p in procs:
        p.start()
    reports = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(60)
    wall = time.perf_counter() - started
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT occurrence, count(*) FROM bench_runs GROUP BY occurrence")
        ).all()
    engine.dispose()
    if schema is not None:
        import psycopg

        with psycopg.connect(_libpq(args.url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    counts = {float(o): int(n) for o, n in rows}
    per = [counts.get(o, 0) for o in occurrences]
    exact = all(n == 1 for n in per)
    winners = [s for r in reports for kind, s in r["timings"] if kind == "winner"]
    losers = [s for r in reports for kind, s in r["timings"] if kind == "loser"]
    jobs = [s for r in reports for s in r["job"]]
    reasons: dict[str, int] = {}
    for r in reports:
        for k, v in r["reasons"].items():
            reasons[k] = reasons.get(k, 0) + v
    wins = {r["index"]: r["reasons"].get("ok", 0) for r in reports}
    backend = "SQLite file lock" if args.sqlite else "PostgreSQL advisory lock"
    print(
        f"scheduler election: {args.processes} processes, {args.occurrences} occurrences, "
        f"{backend}, skew 0..{args.skew_ms:g} ms, {wall:.1f} s wall"
    )
    print(
        f"runs per occurrence: min {min(per)} max {max(per)} "
        f"({'exactly 1 each' if exact else 'NOT exactly 1'}); total runs {sum(per)}"
    )
    print(
        f"outcomes over all replicas: {dict(sorted(reasons.items()))}; wins per replica "
        f"{dict(sorted(wins.items()))}"
    )
    ms = 1000.0
    print(
        f"election, winner (acquire+release): p50 {_pct(winners, 0.5) * ms:.2f} ms, "
        f"p95 {_pct(winners, 0.95) * ms:.2f} ms, max {max(winners) * ms:.2f} ms"
    )
    print(
        f"election, loser (acquire -> none): p50 {_pct(losers, 0.5) * ms:.2f} ms, "
        f"p95 {_pct(losers, 0.95) * ms:.2f} ms, max {max(losers) * ms:.2f} ms"
    )
    print(f"the job itself (one INSERT): p50 {statistics.median(jobs) * ms:.2f} ms")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())

"""Two schedulers on one state database run each occurrence once: PostgreSQL (advisory lock)
and SQLite (file lock), on the emulator's clock."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from lark_service.scheduler import DatabaseElection, Job, JobContext, Schedule, builtin_jobs
from lark_service.testing import Emulator

from .conftest import APP


def _fleet(make_scheduler: Any, runs: Counter[Any], guard: threading.Lock, n: int = 2) -> list[Any]:
    def beat(ctx: JobContext) -> dict[str, Any]:
        with guard:
            runs[ctx.occurrence] += 1
        return {}

    replicas = []
    for _ in range(n):
        jobs = [Job("beat", beat, Schedule(interval=60)), builtin_jobs()[0]]  # + token_sweep
        replicas.append(make_scheduler(jobs=jobs))
    return replicas


def _tick_together(replicas: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(replicas))
    results: list[Any] = []
    lock = threading.Lock()

    def tick(replica: Any) -> None:
        barrier.wait(10)
        found = replica.tick()
        with lock:
            results.extend(found)

    threads = [threading.Thread(target=tick, args=(r,)) for r in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _run_occurrences(emu: Emulator, replicas: list[Any], count: int) -> list[Any]:
    for replica in replicas:
        replica.plan()
    results: list[Any] = []
    for _ in range(count):
        due = min(replicas[0].next_runs().values())
        emu.advance_clock(max(0.0, due - emu.now()) + 0.5)
        results.extend(_tick_together(replicas))
    return results


def _check(emu: Emulator, runs: Counter[Any], results: list[Any], count: int) -> None:
    dups = {o for o, n in runs.items() if n > 1}
    assert not dups, "\n".join(
        str((r.occurrence, r.outcome, r.reason, r.started_at)) for r in results if r.job == "beat"
    )
    beats = [r for r in results if r.job == "beat"]
    assert Counter(r.outcome for r in beats) == {"ok": count, "skipped": count}
    assert {r.reason for r in beats if r.outcome == "skipped"} <= {"elsewhere", "running"}
    sweeps = [r for r in results if r.job == "token_sweep" and r.outcome == "ok"]
    assert len(sweeps) >= 1
    assert emu.token_fetches(APP[0], "tenant") == 1  # one fetch for the whole fleet


@pytest.mark.postgres
def test_two_schedulers_on_one_postgresql_run_each_occurrence_once(
    emu: Emulator, make_scheduler: Any, postgres_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LARK_DATABASE_URL", postgres_schema_url)
    runs: Counter[Any] = Counter()
    replicas = _fleet(make_scheduler, runs, threading.Lock())
    assert all(r.election.is_postgres for r in replicas)
    results = _run_occurrences(emu, replicas, 12)
    _check(emu, runs, results, 12)


def test_two_schedulers_on_one_sqlite_run_each_occurrence_once(
    emu: Emulator, make_scheduler: Any
) -> None:
    runs: Counter[Any] = Counter()
    replicas = _fleet(make_scheduler, runs, threading.Lock())
    assert not any(r.election.is_postgres for r in replicas)
    results = _run_occurrences(emu, replicas, 8)
    _check(emu, runs, results, 8)


@pytest.mark.postgres
def test_a_late_replica_finds_the_claim(emu: Emulator, postgres_schema_url: str) -> None:
    first = DatabaseElection(postgres_schema_url, clock=emu.now)
    late = DatabaseElection(postgres_schema_url, clock=emu.now)
    lease = first.acquire("beat", 600.0)
    assert lease is not None
    assert late.acquire("beat", 600.0) is None  # locked: running elsewhere
    assert late.acquire("beat", None) is None  # a manual run waits its turn too
    lease.release()
    assert late.acquire("beat", 600.0) is None  # unlocked, but claimed
    assert first.claimed("beat", 600.0)
    other = late.acquire("beat", 660.0)
    assert other is not None
    other.release()
    manual = first.acquire("beat", None)
    assert manual is not None
    manual.release()


@pytest.mark.postgres
def test_the_lock_dies_with_its_session(emu: Emulator, postgres_schema_url: str) -> None:
    """A replica that dies mid-run (its connection closes) frees the job for the others."""
    first = DatabaseElection(postgres_schema_url, clock=emu.now)
    lease = first.acquire("beat", 1.0)
    assert lease is not None
    conn = lease.conn  # type: ignore[attr-defined]
    conn.invalidate()  # the process died: PostgreSQL ends the session and its locks
    conn.close()
    other = DatabaseElection(postgres_schema_url, clock=emu.now).acquire("beat", 2.0)
    assert other is not None
    other.release()


@pytest.mark.postgres
def test_user_token_watch_on_postgresql_sends_once_across_replicas(
    emu: Emulator, make_scheduler: Any, postgres_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_jobs import DAY, _store_user_token

    monkeypatch.setenv("LARK_DATABASE_URL", postgres_schema_url)
    emu.add_user("ivy", name="Ivy")
    ivy = emu.open_id("ivy", APP[0])
    _store_user_token(ivy, 2 * DAY, emu.now())
    replicas = [make_scheduler(options={"link_builder": lambda a, o: None}) for _ in range(2)]
    first = replicas[0].run_job("user_token_watch")
    second = replicas[1].run_job("user_token_watch")
    assert first.details["sent"] == {"7d": 1} and second.details["sent"] == {}
    assert len(emu.messages(app_id=APP[0])) == 1

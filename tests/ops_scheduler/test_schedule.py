"""Schedules, occurrences, the loop's missed-run policy, events, graceful stop (fake clock)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from lark_service import errors, instrumentation
from lark_service.scheduler import (
    Job,
    JobContext,
    LocalElection,
    Schedule,
    Scheduler,
    SchedulerSettings,
    builtin_jobs,
)
from lark_service.scheduler._triggers import next_after, previous_at_or_before


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _context(clock: FakeClock) -> Any:
    def make(job: str, occurrence: float | None) -> JobContext:
        return JobContext(
            job=job,
            occurrence=occurrence,
            clock=clock,
            settings=None,  # type: ignore[arg-type]
            scheduler_settings=SchedulerSettings(),
            client_factory=lambda: None,
        )

    return make


def _scheduler(jobs: list[Job], clock: FakeClock, election: Any = None) -> Scheduler:
    return Scheduler(jobs, context=_context(clock), election=election, clock=clock)


def test_interval_occurrences_are_aligned_on_the_epoch() -> None:
    every_5min = Schedule(interval=300)
    assert next_after(every_5min, 1000.0) == 1200.0
    assert next_after(every_5min, 1200.0) == 1500.0
    assert previous_at_or_before(every_5min, 1799.0, 1000.0) == 1500.0
    assert previous_at_or_before(every_5min, 1199.0, 1000.0) is None


def test_cron_occurrences_in_utc() -> None:
    daily = Schedule(cron="30 3 * * *")
    # 2023-11-14 22:13:20 UTC -> next 2023-11-15 03:30 UTC
    assert next_after(daily, 1_700_000_000.0) == 1_700_019_000.0
    assert previous_at_or_before(daily, 1_700_019_000.0 + 5, 1_700_000_000.0) == 1_700_019_000.0


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LARK_SCHEDULER_TOKEN_SWEEP_INTERVAL", "120")
    monkeypatch.setenv("LARK_SCHEDULER_HEALTH_CHECK_CRON", "*/5 * * * *")
    monkeypatch.setenv("LARK_SCHEDULER_CONTACT_SYNC_ENABLED", "false")
    settings = SchedulerSettings()
    assert settings.schedule("token_sweep") == Schedule(interval=120.0)
    assert settings.schedule("health_check") == Schedule(cron="*/5 * * * *")
    assert settings.schedule("contact_sync") == Schedule(interval=21600.0, enabled=False)
    assert settings.schedule("cleanup") == Schedule(cron="30 3 * * *")
    jobs = {j.name: j for j in builtin_jobs(settings)}
    assert list(jobs) == [
        "token_sweep",
        "contact_sync",
        "user_token_watch",
        "cleanup",
        "health_check",
    ]
    assert not jobs["contact_sync"].schedule.enabled


def test_settings_from_the_home_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import os

    home = os.environ["LARK_HOME"]
    with open(os.path.join(home, ".env"), "w") as f:
        f.write("LARK_SCHEDULER_CLEANUP_INTERVAL=3600\n")
    assert SchedulerSettings().schedule("cleanup") == Schedule(interval=3600.0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"LARK_SCHEDULER_CLEANUP_INTERVAL": "60", "LARK_SCHEDULER_CLEANUP_CRON": "* * * * *"},
            "both set",
        ),
        ({"LARK_SCHEDULER_CLEANUP_INTERVAL": "0"}, "positive"),
        ({"LARK_SCHEDULER_CLEANUP_CRON": "61 * * * *"}, "not a cron expression"),
    ],
)
def test_bad_schedules_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(errors.ConfigError, match=message):
        SchedulerSettings().schedule("cleanup")


def test_due_occurrences_run_once_and_missed_ones_coalesce() -> None:
    clock = FakeClock(1000.0)
    ran: list[float | None] = []
    job = Job("beat", lambda ctx: ran.append(ctx.occurrence) or {}, Schedule(interval=100))
    scheduler = _scheduler([job], clock)
    assert scheduler.plan() == {"beat": 1100.0}
    assert scheduler.tick() == []  # nothing due yet
    clock.now = 1100.0
    (result,) = scheduler.tick()
    assert (result.outcome, result.occurrence) == ("ok", 1100.0)
    assert scheduler.tick() == []  # the same occurrence never runs twice
    clock.now = 1450.0  # 1200, 1300, 1400 missed: one run, of the latest
    (late,) = scheduler.tick()
    assert late.occurrence == 1400.0
    assert ran == [1100.0, 1400.0]
    assert scheduler.next_runs() == {"beat": 1500.0}
    scheduler.shutdown()


def test_runs_emit_events_and_failures_are_reported() -> None:
    clock = FakeClock(0.0)

    def boom(ctx: JobContext) -> dict[str, Any]:
        raise RuntimeError("nope")

    jobs = [
        Job("good", lambda ctx: {"n": 1}, Schedule(interval=10)),
        Job("bad", boom, Schedule(interval=10)),
        Job("partial", lambda ctx: {"failed": {"cli_a": "x"}}, Schedule(interval=10)),
        Job("off", lambda ctx: {}, Schedule(interval=10, enabled=False)),
    ]
    scheduler = _scheduler(jobs, clock)
    scheduler.plan()
    clock.now = 10.0
    with instrumentation.EventRecorder(prefix="scheduler.") as events:
        results = {r.job: r for r in scheduler.tick()}
    assert set(results) == {"good", "bad", "partial"}
    assert results["good"].outcome == "ok" and results["good"].details == {"n": 1}
    assert results["bad"].outcome == "failed" and "nope" in (results["bad"].error or "")
    assert results["partial"].outcome == "failed"
    finished = {e["job"]: e for e in events.named("scheduler.job_finished")}
    assert {j: e["outcome"] for j, e in finished.items()} == {
        "good": "ok",
        "bad": "failed",
        "partial": "failed",
    }
    assert all(e["duration"] >= 0 for e in finished.values())
    assert len(events.named("scheduler.job_started")) == 3
    assert scheduler.last["bad"].outcome == "failed"
    scheduler.shutdown()


def test_two_replicas_share_an_election_and_run_each_occurrence_once() -> None:
    clock = FakeClock(0.0)
    ran: list[tuple[str, float | None]] = []
    election = LocalElection()
    replicas = []
    for name in ("a", "b"):
        job = Job(
            "beat",
            lambda ctx, name=name: ran.append((name, ctx.occurrence)) or {},
            Schedule(interval=60),
        )
        replicas.append(_scheduler([job], clock, election))
    for replica in replicas:
        replica.plan()
    outcomes = []
    for minute in range(1, 6):
        clock.now = minute * 60.0
        for replica in replicas:
            outcomes.extend(r.outcome for r in replica.tick())
    assert sorted(o for _, o in ran) == [60.0, 120.0, 180.0, 240.0, 300.0]
    assert outcomes.count("ok") == 5 and outcomes.count("skipped") == 5
    for replica in replicas:
        replica.shutdown()


def test_a_job_still_running_is_not_started_again() -> None:
    clock = FakeClock(0.0)
    release = threading.Event()
    started = threading.Event()

    def slow(ctx: JobContext) -> dict[str, Any]:
        started.set()
        assert release.wait(10)
        return {}

    scheduler = _scheduler([Job("slow", slow, Schedule(interval=10))], clock)
    scheduler.plan()
    clock.now = 10.0
    scheduler.tick(wait=False)
    assert started.wait(10)
    clock.now = 20.0
    with instrumentation.EventRecorder(prefix="scheduler.job_finished") as events:
        (second,) = scheduler.tick()
    assert (second.outcome, second.reason) == ("skipped", "running")
    assert events.named("scheduler.job_finished")[0]["reason"] == "running"
    release.set()
    assert scheduler.shutdown(timeout=10)


def test_stop_waits_for_running_jobs() -> None:
    clock = FakeClock(0.0)
    release = threading.Event()
    started = threading.Event()
    finished: list[str] = []

    def slow(ctx: JobContext) -> dict[str, Any]:
        started.set()
        assert release.wait(10)
        finished.append("done")
        return {}

    scheduler = _scheduler([Job("slow", slow, Schedule(interval=10))], clock)
    scheduler.plan()
    clock.now = 10.0
    scheduler.tick(wait=False)
    assert started.wait(10)
    stopped = threading.Event()
    result: list[bool] = []

    def stop() -> None:
        result.append(scheduler.shutdown(timeout=30))
        stopped.set()

    thread = threading.Thread(target=stop)
    thread.start()
    assert not stopped.wait(0.2)  # still waiting for the job
    release.set()
    thread.join(10)
    assert result == [True] and finished == ["done"]


def test_run_forever_returns_after_stop() -> None:
    clock = FakeClock(0.0)
    scheduler = _scheduler([Job("beat", lambda ctx: {}, Schedule(interval=3600))], clock)
    thread = threading.Thread(target=scheduler.run_forever)
    thread.start()
    scheduler.stop()
    thread.join(10)
    assert not thread.is_alive()


def test_run_job_runs_now_without_a_claim() -> None:
    clock = FakeClock(0.0)
    election = LocalElection()
    scheduler = _scheduler(
        [Job("beat", lambda ctx: {"ok": 1}, Schedule(interval=60))], clock, election
    )
    result = scheduler.run_job("beat")
    assert (result.outcome, result.occurrence) == ("ok", None)
    assert election.claims == set()
    with pytest.raises(errors.ValidationError):
        scheduler.run_job("nope")
    scheduler.shutdown()

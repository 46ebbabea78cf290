"""The scheduler loop: occurrences, the fleet election, a worker pool, graceful stop.

Occurrence times come from :mod:`._triggers` (epoch-aligned intervals, cron in UTC), read on
an injectable clock (``clock=emulator.now`` in tests; :meth:`Scheduler.tick` runs what is
due without sleeping). Each occurrence goes through the :class:`~._election.Election`; the
winner runs the job in the pool, the others record a ``skipped`` run.

Missed-run policy: occurrences are planned from the scheduler's start; earlier ones are never
run. An occurrence the loop reaches late (a paused process, a busy pool, a clock jump) still
runs, once: several missed occurrences of one job coalesce into a single run of the latest
(logged with how many were missed). A run is never started while the same job still runs
(here or on another replica): that occurrence is skipped (``reason="running"``).
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import errors, instrumentation
from ..logging import get_logger
from ._election import Election, LocalElection
from ._settings import Schedule
from ._triggers import next_after, previous_at_or_before

if TYPE_CHECKING:
    from ..config import Settings
    from ._settings import SchedulerSettings

__all__ = ["Job", "JobContext", "RunResult", "Scheduler"]

logger = get_logger("lark_service.scheduler")

MAX_SLEEP = 30.0
"""The loop looks at the clock at least this often (seconds), so a clock jump is noticed."""


@dataclass
class JobContext:
    """What a job function gets: its occurrence, the clock, settings and shared services.

    ``client()`` is the scheduler's :class:`~lark_service.LarkClient` (made on first use by
    ``client_factory``); ``options`` holds injected collaborators (``link_builder`` for
    ``user_token_watch``, ``app_ids`` to restrict the apps).
    """

    job: str
    occurrence: float | None
    clock: Callable[[], float]
    settings: Settings
    scheduler_settings: SchedulerSettings
    client_factory: Callable[[], Any]
    options: Mapping[str, Any] = field(default_factory=dict)

    def client(self) -> Any:
        return self.client_factory()

    @property
    def state_url(self) -> str:
        return self.settings.resolved_database_url


JobFunction = Callable[[JobContext], "Mapping[str, Any] | None"]


@dataclass(frozen=True)
class Job:
    """A named job function on a :class:`~._settings.Schedule`."""

    name: str
    func: JobFunction
    schedule: Schedule
    description: str = ""


@dataclass(frozen=True)
class RunResult:
    """One handled occurrence: ``outcome`` is ``ok``, ``failed`` or ``skipped``.

    ``reason`` (skipped): ``elsewhere`` (another replica claimed the occurrence) or
    ``running`` (the job still runs, here or elsewhere). ``details``: what the job returned.
    """

    job: str
    occurrence: float | None
    outcome: str
    started_at: float
    duration: float = 0.0
    reason: str | None = None
    error: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "occurrence": self.occurrence,
            "outcome": self.outcome,
            "started_at": self.started_at,
            "duration": round(self.duration, 6),
            "reason": self.reason,
            "error": self.error,
            "details": dict(self.details),
        }


class Scheduler:
    """Runs :class:`Job` occurrences once per fleet.

    ``election``: a :class:`~._election.DatabaseElection` on the state database for a fleet
    (what :func:`~lark_service.scheduler.build_scheduler` gives), a
    :class:`~._election.LocalElection` for one process. ``context``: makes the
    :class:`JobContext` of a run (job name, occurrence).
    """

    def __init__(
        self,
        jobs: Iterable[Job],
        *,
        context: Callable[[str, float | None], JobContext],
        election: Election | None = None,
        clock: Callable[[], float] = time.time,
        workers: int = 4,
        shutdown_timeout: float = 60.0,
    ) -> None:
        self.jobs: dict[str, Job] = {job.name: job for job in jobs}
        self.election: Election = election if election is not None else LocalElection()
        self.clock = clock
        self.shutdown_timeout = shutdown_timeout
        self.last: dict[str, RunResult] = {}
        """The last result of each job in this process."""
        self._context = context
        self._next: dict[str, float] = {}
        self._running: set[str] = set()
        self._inflight: set[cf.Future[RunResult]] = set()
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._pool = cf.ThreadPoolExecutor(max(1, workers), thread_name_prefix="lark-scheduler")
        self._closed = False
        self.on_shutdown: list[Callable[[], None]] = []
        """Called once after :meth:`shutdown` waited (closes the jobs' client)."""

    # -- planning ------------------------------------------------------------------------------

    def enabled_jobs(self) -> list[Job]:
        return [job for job in self.jobs.values() if job.schedule.enabled]

    def plan(self, now: float | None = None) -> dict[str, float]:
        """Plan every enabled job's next occurrence after ``now`` (the start: earlier
        occurrences are never run). Returns ``{job: next time}``."""
        now = self.clock() if now is None else now
        with self._guard:
            self._next = {job.name: next_after(job.schedule, now) for job in self.enabled_jobs()}
            return dict(self._next)

    def next_runs(self) -> dict[str, float]:
        """``{job: next planned occurrence}`` (empty before :meth:`plan`)."""
        with self._guard:
            return dict(self._next)

    def due(self, now: float | None = None) -> list[tuple[str, float]]:
        """Take the occurrences due at ``now`` (one per job: missed ones coalesce) and plan
        each job's next one."""
        now = self.clock() if now is None else now
        found: list[tuple[str, float]] = []
        with self._guard:
            if not self._next:
                self._next = {j.name: next_after(j.schedule, now) for j in self.enabled_jobs()}
                return []
            for name, planned in list(self._next.items()):
                if planned > now:
                    continue
                schedule = self.jobs[name].schedule
                latest = previous_at_or_before(schedule, now, planned - 1e-6) or planned
                missed = _count_between(schedule, planned, latest)
                if missed:
                    logger.warning(
                        "scheduler: %d occurrence(s) of %s were missed (late loop); running "
                        "the latest once",
                        missed,
                        name,
                        extra={"lark_job": name, "lark_missed": missed},
                    )
                found.append((name, latest))
                self._next[name] = next_after(schedule, now)
        return found

    # -- running -------------------------------------------------------------------------------

    def tick(self, now: float | None = None, *, wait: bool = True) -> list[RunResult]:
        """Run every occurrence due at ``now`` in the pool; with ``wait``, return their
        results (tests: move the clock, then ``tick()``)."""
        futures = [self.submit(name, occurrence) for name, occurrence in self.due(now)]
        if not wait:
            return []
        return [f.result() for f in futures]

    def submit(self, name: str, occurrence: float | None) -> cf.Future[RunResult]:
        """Run one occurrence of ``name`` in the pool (``None``: a manual run, lock only)."""
        if name not in self.jobs:
            raise errors.ValidationError(f"unknown job {name!r}", field="job")
        future = self._pool.submit(self.execute, name, occurrence)
        with self._guard:
            self._inflight.add(future)
        future.add_done_callback(self._done)
        return future

    def run_job(self, name: str) -> RunResult:
        """Run ``name`` now, in this thread (``scheduler run-job``): the fleet's job lock is
        taken (no overlap with a scheduled run), no occurrence is claimed."""
        if name not in self.jobs:
            raise errors.ValidationError(f"unknown job {name!r}", field="job")
        return self.execute(name, None)

    def execute(self, name: str, occurrence: float | None) -> RunResult:
        """Elect, run and report one occurrence (blocking; any thread)."""
        job = self.jobs[name]
        started_at = self.clock()
        began = time.perf_counter()
        instrumentation.emit("scheduler.job_started", None, job=name)
        with self._guard:
            local_busy = name in self._running
            if not local_busy:
                self._running.add(name)
        if local_busy:
            return self._finish(job, occurrence, started_at, began, "skipped", reason="running")
        try:
            try:
                lease = self.election.acquire(name, occurrence)
            except Exception as exc:
                return self._finish(
                    job, occurrence, started_at, began, "failed", error=_describe(exc)
                )
            if lease is None:
                reason = "running" if occurrence is None else "elsewhere"
                return self._finish(job, occurrence, started_at, began, "skipped", reason=reason)
            try:
                details = job.func(self._context(name, occurrence)) or {}
            except Exception as exc:
                logger.exception("scheduler: job %s failed", name, extra={"lark_job": name})
                return self._finish(
                    job, occurrence, started_at, began, "failed", error=_describe(exc)
                )
            finally:
                try:
                    lease.release()
                except Exception as exc:
                    logger.warning("scheduler: releasing %s failed: %s", name, _describe(exc))
            failed = details.get("failed") if isinstance(details, Mapping) else None
            outcome = "failed" if failed else "ok"
            error = None
            if failed:
                error = f"{len(failed)} part(s) failed" if isinstance(failed, Sequence) else None
            return self._finish(
                job, occurrence, started_at, began, outcome, error=error, details=details
            )
        finally:
            with self._guard:
                self._running.discard(name)

    def _finish(
        self,
        job: Job,
        occurrence: float | None,
        started_at: float,
        began: float,
        outcome: str,
        *,
        reason: str | None = None,
        error: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> RunResult:
        duration = time.perf_counter() - began
        result = RunResult(
            job=job.name,
            occurrence=occurrence,
            outcome=outcome,
            started_at=started_at,
            duration=duration,
            reason=reason,
            error=error,
            details=dict(details or {}),
        )
        if outcome != "skipped" or job.name not in self.last:
            self.last[job.name] = result
        fields: dict[str, Any] = {"job": job.name, "outcome": outcome, "duration": duration}
        if reason:
            fields["reason"] = reason
        instrumentation.emit("scheduler.job_finished", None, **fields)
        log = logger.info if outcome != "failed" else logger.error
        log(
            "scheduler: %s %s%s in %.3f s%s",
            job.name,
            outcome,
            f" ({reason})" if reason else "",
            duration,
            f": {error}" if error else "",
            extra={
                "lark_job": job.name,
                "lark_outcome": outcome,
                "lark_reason": reason,
                "lark_occurrence": occurrence,
                "lark_duration_ms": round(duration * 1000, 1),
            },
        )
        return result

    def _done(self, future: cf.Future[RunResult]) -> None:
        with self._guard:
            self._inflight.discard(future)

    # -- the loop ------------------------------------------------------------------------------

    def run_forever(self) -> None:
        """Tick until :meth:`stop`; then wait for running jobs (``shutdown_timeout``)."""
        self.plan()
        logger.info(
            "scheduler: started with %s",
            ", ".join(f"{j.name} ({j.schedule.describe()})" for j in self.enabled_jobs())
            or "no enabled job",
        )
        try:
            while not self._stop.is_set():
                self.tick(wait=False)
                upcoming = self.next_runs()
                delay = (min(upcoming.values()) - self.clock()) if upcoming else MAX_SLEEP
                self._stop.wait(min(MAX_SLEEP, max(0.0, delay) + 0.01))
        finally:
            self.shutdown()

    def stop(self) -> None:
        """Ask :meth:`run_forever` to return (signal-safe: sets an event)."""
        self._stop.set()

    def shutdown(self, timeout: float | None = None) -> bool:
        """Start nothing new; wait up to ``timeout`` (default ``shutdown_timeout``) seconds for
        running jobs. True when every job finished."""
        if self._closed:
            return True
        self._closed = True
        self._stop.set()
        with self._guard:
            inflight = list(self._inflight)
        if inflight:
            logger.info("scheduler: waiting for %d running job(s)", len(inflight))
        _, pending = cf.wait(
            inflight, timeout=self.shutdown_timeout if timeout is None else timeout
        )
        self._pool.shutdown(wait=not pending, cancel_futures=True)
        if pending:
            logger.warning("scheduler: %d job(s) still running at shutdown", len(pending))
        for hook in self.on_shutdown:
            try:
                hook()
            except Exception as exc:
                logger.warning("scheduler: a shutdown hook failed: %s", _describe(exc))
        logger.info("scheduler: stopped%s", "" if not pending else " (jobs still running)")
        return not pending


def _count_between(schedule: Schedule, first: float, latest: float) -> int:
    """How many occurrences from ``first`` up to (not including) ``latest``."""
    if schedule.interval:
        return max(0, round((latest - first) / schedule.interval))
    count = 0
    t = first
    while t < latest and count < 10_000:
        count += 1
        t = next_after(schedule, t)
    return count


def _describe(exc: BaseException) -> str:
    if isinstance(exc, errors.LarkError):
        return f"{type(exc).__name__}: {exc.msg}"
    detail = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__

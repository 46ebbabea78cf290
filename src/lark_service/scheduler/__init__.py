"""Periodic jobs, run once per fleet: ``lark-service scheduler run`` (or ``serve --scheduler``).

```python
from lark_service.scheduler import build_scheduler

scheduler = build_scheduler()          # the five jobs, LARK_SCHEDULER_* schedules,
scheduler.run_forever()                # elected on the state database
```

Every replica computes the same occurrences (intervals aligned on the Unix epoch, cron in
UTC); an election on the state database (PostgreSQL advisory lock, SQLite file lock, plus a
claim row per occurrence) lets exactly one replica run each. Runs emit
``scheduler.job_started`` / ``scheduler.job_finished`` (job, outcome, duration, reason) and
are logged. See docs/scheduler.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._core import Job, JobContext, RunResult, Scheduler
from ._election import CLAIM_TTL, DatabaseElection, Election, Lease, LocalElection, claim_key
from ._settings import (
    DEFAULT_SCHEDULES,
    JOB_NAMES,
    Schedule,
    SchedulerSettings,
    load_scheduler_settings,
)
from .jobs import builtin_jobs

if TYPE_CHECKING:
    from ..config import Settings

__all__ = [
    "CLAIM_TTL",
    "DEFAULT_SCHEDULES",
    "JOB_NAMES",
    "DatabaseElection",
    "Election",
    "Job",
    "JobContext",
    "Lease",
    "LocalElection",
    "RunResult",
    "Schedule",
    "Scheduler",
    "SchedulerSettings",
    "build_scheduler",
    "builtin_jobs",
    "claim_key",
    "load_scheduler_settings",
]


def build_scheduler(
    settings: Settings | None = None,
    *,
    scheduler_settings: SchedulerSettings | None = None,
    jobs: Iterable[Job] | None = None,
    election: Election | None = None,
    clock: Callable[[], float] = time.time,
    client_factory: Callable[[], Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Scheduler:
    """A :class:`Scheduler` with the built-in jobs (or ``jobs``), elected on the state
    database of ``settings`` (or ``election``).

    ``client_factory``: makes the :class:`~lark_service.LarkClient` jobs call Feishu with
    (default: ``LarkClient(settings=settings, clock=clock)``, made once). ``options``: given
    to every job (``link_builder``, ``app_ids``, ``contact_root``).
    """
    import threading

    from ..config import get_settings

    settings = settings or get_settings()
    sched = scheduler_settings or load_scheduler_settings()
    job_list = list(jobs) if jobs is not None else builtin_jobs(sched)
    if election is None:
        election = DatabaseElection(settings.resolved_database_url, home=settings.home, clock=clock)
    made: list[Any] = []
    guard = threading.Lock()

    def default_client() -> Any:
        with guard:
            if not made:
                from .. import LarkClient

                made.append(LarkClient(settings=settings, clock=clock))
            return made[0]

    factory = client_factory or default_client
    shared = dict(options or {})

    def context(job: str, occurrence: float | None) -> JobContext:
        return JobContext(
            job=job,
            occurrence=occurrence,
            clock=clock,
            settings=settings,
            scheduler_settings=sched,
            client_factory=factory,
            options=shared,
        )

    scheduler = Scheduler(
        job_list,
        context=context,
        election=election,
        clock=clock,
        workers=sched.workers,
        shutdown_timeout=sched.shutdown_timeout,
    )

    def close_client() -> None:
        with guard:
            while made:
                made.pop().close()

    scheduler.on_shutdown.append(close_client)
    return scheduler

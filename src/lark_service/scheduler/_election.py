"""Who runs an occurrence: one replica of the fleet, elected per job occurrence.

An occurrence is a job name and its scheduled time (identical on every replica: intervals
are aligned on the Unix epoch, cron times are absolute). To run it, a replica must

1. take the job's lock without waiting: a session-level PostgreSQL advisory lock
   (``pg_try_advisory_lock``, the mechanism the token store's ``pg_advisory_xact_lock`` and
   the migrations use; it also spans hosts), or for SQLite a file lock under
   ``$LARK_HOME/locks`` (as the token store's); a replica that cannot take it skips the
   occurrence (another replica is running the job), and
2. claim the occurrence in the state database's ``processed_events`` table (the callback
   dedup table; keys ``scheduler:<job>:<time>``, kept for a week, purged by ``cleanup``):
   a replica whose clock or loop is late, arriving after the winner finished, finds the claim
   and skips.

The lock is held for the whole run (no two replicas run one job at once, even when a run is
longer than the interval) and released when the run ends or its process dies. The claim is
committed before the job starts: an occurrence runs at most once, and a run that crashed
half-way is not retried; the next occurrence does the work (every job is an idempotent
sweep).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..logging import get_logger

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = [
    "CLAIM_TTL",
    "DatabaseElection",
    "Election",
    "Lease",
    "LocalElection",
    "claim_key",
]

CLAIM_TTL = 7 * 86400.0
"""Seconds an occurrence's claim is kept (then ``cleanup`` purges it)."""

logger = get_logger("lark_service.scheduler")


def claim_key(job: str, occurrence: float) -> str:
    """The dedup key of one occurrence (``scheduler:<job>:<epoch seconds, ms precision>``)."""
    return f"scheduler:{job}:{occurrence:.3f}"


class Lease(Protocol):
    def release(self) -> None: ...


class Election(Protocol):
    """``acquire(job, occurrence)``: a :class:`Lease` when this replica runs it, else None.

    ``occurrence=None`` (``scheduler run-job``): take the job's lock only, no claim.
    """

    def acquire(self, job: str, occurrence: float | None) -> Lease | None: ...


@dataclass
class _LocalLease:
    release_fn: Any

    def release(self) -> None:
        self.release_fn()


@dataclass
class LocalElection:
    """Replicas in one process only (tests, and a scheduler without a state database)."""

    claims: set[str] = field(default_factory=set)
    _running: set[str] = field(default_factory=set)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, job: str, occurrence: float | None) -> Lease | None:
        with self._guard:
            if job in self._running:
                return None
            if occurrence is not None:
                key = claim_key(job, occurrence)
                if key in self.claims:
                    return None
                self.claims.add(key)
            self._running.add(job)

        def release() -> None:
            with self._guard:
                self._running.discard(job)

        return _LocalLease(release)


class DatabaseElection:
    """The fleet's election on the state database at ``url`` (PostgreSQL or SQLite).

    ``home``: where SQLite's file locks go (``$LARK_HOME/locks``). ``clock``: the claim's
    timestamps (the scheduler's clock).
    """

    def __init__(
        self,
        url: str,
        *,
        home: Path | None = None,
        clock: Any = time.time,
        claim_ttl: float = CLAIM_TTL,
    ) -> None:
        self.url = url
        self.home = home
        self.clock = clock
        self.claim_ttl = claim_ttl
        self._engine: Engine | None = None

    def __repr__(self) -> str:
        return f"DatabaseElection({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from ..storage.migrate import ensure_schema

            self._engine = ensure_schema(self.url, "state")
        return self._engine

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def acquire(self, job: str, occurrence: float | None) -> Lease | None:
        if self.is_postgres:
            return self._acquire_pg(job, occurrence)
        return self._acquire_file(job, occurrence)

    # -- claims ------------------------------------------------------------------------------

    def _claim(self, job: str, occurrence: float) -> bool:
        """Insert the occurrence's row; False when another replica claimed it first."""
        from ..storage.tables import processed_events as p

        engine = self.engine
        if engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(p)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(p)
        now = self.clock()
        stmt = stmt.values(
            dedup_key=claim_key(job, occurrence),
            app_id="",
            processed_at=now,
            expires_at=max(now, occurrence) + self.claim_ttl,
        ).on_conflict_do_nothing(index_elements=["dedup_key"])
        # RETURNING, not rowcount: psycopg reports -1 rows for a statement like this one
        stmt = stmt.returning(p.c.dedup_key)
        with engine.begin() as conn:
            return conn.execute(stmt).first() is not None

    def claimed(self, job: str, occurrence: float) -> bool:
        """Whether the occurrence was claimed (by any replica)."""
        from sqlalchemy import select

        from ..storage.tables import processed_events as p

        with self.engine.connect() as conn:
            row = conn.execute(
                select(p.c.dedup_key).where(p.c.dedup_key == claim_key(job, occurrence))
            ).first()
        return row is not None

    # -- PostgreSQL --------------------------------------------------------------------------

    def _acquire_pg(self, job: str, occurrence: float | None) -> Lease | None:
        from sqlalchemy import func, select

        conn = self.engine.connect()
        key = _advisory_key(job)
        try:
            got = conn.execute(select(func.pg_try_advisory_lock(key))).scalar()
            conn.commit()
            if not got:
                conn.close()
                return None
            if occurrence is not None and not self._claim(job, occurrence):
                _pg_unlock(conn, key)
                return None
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        return _PgLease(conn, key)

    # -- SQLite: a file lock -----------------------------------------------------------------

    def _acquire_file(self, job: str, occurrence: float | None) -> Lease | None:
        from filelock import FileLock, Timeout

        directory = self._lock_dir()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = FileLock(
            directory / f"scheduler-{job}.lock", timeout=0, mode=0o600, thread_local=False
        )
        try:
            lock.acquire()
        except Timeout:
            return None
        try:
            if occurrence is not None and not self._claim(job, occurrence):
                lock.release()
                return None
        except BaseException:
            lock.release()
            raise
        return _LocalLease(lock.release)

    def _lock_dir(self) -> Path:
        if self.home is not None:
            return self.home.expanduser() / "locks"
        from ..storage.engine import sqlite_path

        path = sqlite_path(self.url)
        if path is not None:
            return path.expanduser().resolve().parent / "locks"
        return Path(os.environ.get("LARK_HOME", Path.home() / ".lark-service")) / "locks"


@dataclass
class _PgLease:
    """The session (connection) holding the job's advisory lock."""

    conn: Connection
    key: int

    def release(self) -> None:
        _pg_unlock(self.conn, self.key)


def _pg_unlock(conn: Connection, key: int) -> None:
    from sqlalchemy import func, select

    try:
        conn.execute(select(func.pg_advisory_unlock(key)))
        conn.commit()
    except Exception as exc:  # the session ends below; PostgreSQL drops its locks then
        logger.warning("could not release the scheduler lock (%s)", type(exc).__name__)
        conn.invalidate()
    finally:
        conn.close()


def _advisory_key(job: str) -> int:
    """A signed 64-bit advisory lock key for the job (namespaced like the token store's)."""
    text = "lark-service/scheduler\x1f" + job
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big", signed=True)

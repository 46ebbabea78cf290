"""The user cache: contact lookups kept per app in the state database.

Rows live in ``user_cache`` (primary key ``(app_id, open_id)``, every id and profile field,
``expires_at`` = cached time + TTL) and ``user_cache_negative`` (emails and mobiles Feishu did
not know, for a shorter TTL). Every query names the app, so one app never reads another's
rows: the same person has one ``union_id`` but a different ``open_id`` per app.

The cache is blocking SQLAlchemy; async callers run it in a worker thread
(``_concurrency.async_blocking``). Time comes from an injectable ``clock`` (epoch seconds), so
tests expire entries by moving a clock, not by sleeping. The database is opened (and migrated
with :func:`lark_service.storage.ensure_schema`) on first use.

Settings: ``LARK_CONTACT_CACHE_TTL`` (seconds, default 86400; ``0`` turns the cache off) and
``LARK_CONTACT_NEGATIVE_TTL`` (default 600).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ._ids import LookupField, normalize_email, normalize_mobile
from .models import User

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = [
    "DEFAULT_NEGATIVE_TTL",
    "DEFAULT_TTL",
    "CacheCounters",
    "CacheStats",
    "UserCache",
]

DEFAULT_TTL = 24 * 3600.0
"""Seconds a cached user is served before it is fetched again (``LARK_CONTACT_CACHE_TTL``)."""
DEFAULT_NEGATIVE_TTL = 600.0
"""Seconds an "unknown email/mobile" answer is remembered (``LARK_CONTACT_NEGATIVE_TTL``)."""

_IN_CHUNK = 500  # values per IN (...) clause
_PROFILE_EXCLUDE = {"request_id", "log_id", "from_cache"}


@dataclass
class CacheCounters:
    """What this process's cache object answered.

    ``hits`` / ``misses``: lookups found / not found among live user rows; ``negative_hits``:
    misses answered by the negative cache (no call to Feishu either); ``writes``: rows stored.
    """

    hits: int = 0
    misses: int = 0
    negative_hits: int = 0
    writes: int = 0

    @property
    def hit_rate(self) -> float:
        """Hits (positive and negative) over all lookups; 0.0 before the first."""
        total = self.hits + self.misses
        return (self.hits + self.negative_hits) / total if total else 0.0


@dataclass(frozen=True)
class CacheStats:
    """Rows in the cache, per app, and this process's counters."""

    database: str
    ttl: float
    negative_ttl: float
    rows: int
    live: int
    negative: int
    apps: dict[str, dict[str, int]] = field(default_factory=dict)
    counters: CacheCounters = field(default_factory=CacheCounters)

    @property
    def expired(self) -> int:
        """Rows past their TTL (ignored by lookups, overwritten by the next fetch)."""
        return self.rows - self.live


def normalize(field_name: LookupField, value: str) -> str:
    """The form a value is stored and looked up in (emails lower-case, mobiles with +cc)."""
    if field_name == "email":
        return normalize_email(value)
    if field_name == "mobile":
        return normalize_mobile(value)
    return value


def _lenient(field_name: LookupField, value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalize(field_name, value)
    except ValidationError:
        return value


class UserCache:
    """Per-app cache of :class:`~lark_service.contact.User` rows in the state database.

    ``UserCache(settings.resolved_database_url, ttl=86400, negative_ttl=600, clock=time.time)``.
    Thread-safe; share one per process and database.
    """

    def __init__(
        self,
        url: str,
        *,
        ttl: float = DEFAULT_TTL,
        negative_ttl: float = DEFAULT_NEGATIVE_TTL,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.url = url
        self.ttl = float(ttl)
        self.negative_ttl = float(negative_ttl)
        self.clock: Callable[[], float] = clock or time.time
        self.counters = CacheCounters()
        self._guard = threading.Lock()
        self._engine_value: Engine | None = None
        self._reader_value: Engine | None = None

    @property
    def enabled(self) -> bool:
        """False when ``ttl <= 0``: every lookup misses and nothing is stored."""
        return self.ttl > 0

    # -- reads --------------------------------------------------------------------------------

    def get(self, app_id: str, field_name: LookupField, value: str) -> User | None:
        """The live cached user of ``app_id`` whose ``field_name`` is ``value``, or None."""
        return self.get_many(app_id, field_name, [value]).get(normalize(field_name, value))

    def get_many(
        self, app_id: str, field_name: LookupField, values: Iterable[str]
    ) -> dict[str, User]:
        """Live cached users of ``app_id`` by ``field_name``, keyed by the normalized value
        (the newest row wins when two rows share an email or mobile)."""
        wanted = list(dict.fromkeys(normalize(field_name, v) for v in values))
        if not wanted:
            return {}
        found: dict[str, User] = {}
        if self.enabled:
            from sqlalchemy import select

            from ..storage.tables import user_cache as t

            column = t.c[field_name]
            now = self.clock()
            with self._reader() as conn:
                for start in range(0, len(wanted), _IN_CHUNK):
                    part = wanted[start : start + _IN_CHUNK]
                    rows = conn.execute(
                        select(t)
                        .where(t.c.app_id == app_id, column.in_(part), t.c.expires_at > now)
                        .order_by(t.c.cached_at)
                    ).mappings()
                    for row in rows:
                        found[row[field_name]] = _user_from_row(row)
        with self._guard:
            self.counters.hits += len(found)
            self.counters.misses += len(wanted) - len(found)
        return found

    def negatives(self, app_id: str, kind: str, values: Iterable[str]) -> set[str]:
        """Which of ``values`` (normalized emails or mobiles) are cached as unknown."""
        wanted = list(dict.fromkeys(values))
        if not wanted or not self.enabled or self.negative_ttl <= 0:
            return set()
        from sqlalchemy import select

        from ..storage.tables import user_cache_negative as n

        now = self.clock()
        hits: set[str] = set()
        with self._reader() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                part = wanted[start : start + _IN_CHUNK]
                hits.update(
                    conn.execute(
                        select(n.c.value).where(
                            n.c.app_id == app_id,
                            n.c.kind == kind,
                            n.c.value.in_(part),
                            n.c.expires_at > now,
                        )
                    ).scalars()
                )
        with self._guard:
            self.counters.negative_hits += len(hits)
        return hits

    # -- writes -------------------------------------------------------------------------------

    def put_many(self, app_id: str, users: Iterable[User]) -> int:
        """Insert or refresh ``users`` for ``app_id`` in one transaction; return how many.

        Their emails and mobiles leave the negative cache.
        """
        now = self.clock()
        rows = _unique_rows(app_id, users, now, now + self.ttl)
        if not rows or not self.enabled:
            return 0
        from sqlalchemy import delete

        from ..storage.tables import user_cache as t
        from ..storage.tables import user_cache_negative as n

        engine = self._engine()
        insert = _insert_for(engine.dialect.name)
        stmt = insert(t)
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.app_id, t.c.open_id],
            set_={
                c.name: stmt.excluded[c.name] for c in t.c if c.name not in ("app_id", "open_id")
            },
        )
        emails = [r["email"] for r in rows if r["email"]]
        mobiles = [r["mobile"] for r in rows if r["mobile"]]
        with engine.begin() as conn:
            conn.execute(stmt, rows)
            for kind, values in (("email", emails), ("mobile", mobiles)):
                for start in range(0, len(values), _IN_CHUNK):
                    conn.execute(
                        delete(n).where(
                            n.c.app_id == app_id,
                            n.c.kind == kind,
                            n.c.value.in_(values[start : start + _IN_CHUNK]),
                        )
                    )
        with self._guard:
            self.counters.writes += len(rows)
        return len(rows)

    def put_negative(self, app_id: str, kind: str, values: Iterable[str]) -> None:
        """Remember that Feishu knows no user with these emails / mobiles (normalized)."""
        wanted = list(dict.fromkeys(values))
        if not wanted or not self.enabled or self.negative_ttl <= 0:
            return
        from ..storage.tables import user_cache_negative as n

        engine = self._engine()
        insert = _insert_for(engine.dialect.name)
        stmt = insert(n)
        stmt = stmt.on_conflict_do_update(
            index_elements=[n.c.app_id, n.c.kind, n.c.value],
            set_={"expires_at": stmt.excluded.expires_at},
        )
        expires = self.clock() + self.negative_ttl
        with engine.begin() as conn:
            conn.execute(
                stmt,
                [
                    {"app_id": app_id, "kind": kind, "value": v, "expires_at": expires}
                    for v in wanted
                ],
            )

    def forget(self, app_id: str, field_name: LookupField, values: Iterable[str]) -> int:
        """Drop ``app_id``'s rows (positive and negative) for these values; return rows dropped."""
        wanted = list(dict.fromkeys(normalize(field_name, v) for v in values))
        if not wanted or not self.enabled:
            return 0
        from sqlalchemy import delete

        from ..storage.tables import user_cache as t
        from ..storage.tables import user_cache_negative as n

        dropped = 0
        with self._engine().begin() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                part = wanted[start : start + _IN_CHUNK]
                result = conn.execute(
                    delete(t).where(t.c.app_id == app_id, t.c[field_name].in_(part))
                )
                dropped += result.rowcount or 0
                if field_name in ("email", "mobile"):
                    conn.execute(
                        delete(n).where(
                            n.c.app_id == app_id, n.c.kind == field_name, n.c.value.in_(part)
                        )
                    )
        return dropped

    def clear(self, app_id: str | None = None, *, expired_only: bool = False) -> int:
        """Delete cached rows (of one app, or all; only expired ones with ``expired_only``);
        return how many user rows went. Negative entries go with them."""
        from sqlalchemy import delete

        from ..storage.tables import user_cache as t
        from ..storage.tables import user_cache_negative as n

        now = self.clock()
        with self._engine().begin() as conn:
            removed = 0
            for table in (t, n):
                stmt = delete(table)
                if app_id is not None:
                    stmt = stmt.where(table.c.app_id == app_id)
                if expired_only:
                    stmt = stmt.where(table.c.expires_at <= now)
                count = conn.execute(stmt).rowcount or 0
                if table is t:
                    removed = count
        return removed

    def stats(self, app_id: str | None = None) -> CacheStats:
        """Row counts (all, live, negative) overall and per app, with this process's counters."""
        from sqlalchemy import case, func, select
        from sqlalchemy.engine import make_url

        from ..storage.tables import user_cache as t
        from ..storage.tables import user_cache_negative as n

        now = self.clock()
        live = func.sum(case((t.c.expires_at > now, 1), else_=0))
        per_app = select(t.c.app_id, func.count(), live).group_by(t.c.app_id)
        neg = select(n.c.app_id, func.count()).where(n.c.expires_at > now).group_by(n.c.app_id)
        if app_id is not None:
            per_app = per_app.where(t.c.app_id == app_id)
            neg = neg.where(n.c.app_id == app_id)
        apps: dict[str, dict[str, int]] = {}
        with self._reader() as conn:
            for app, rows, alive in conn.execute(per_app):
                apps[app] = {"rows": int(rows), "live": int(alive or 0), "negative": 0}
            for app, count in conn.execute(neg):
                apps.setdefault(app, {"rows": 0, "live": 0, "negative": 0})["negative"] = int(count)
        with self._guard:
            counters = CacheCounters(**vars(self.counters))
        return CacheStats(
            database=make_url(self.url).render_as_string(hide_password=True),
            ttl=self.ttl,
            negative_ttl=self.negative_ttl,
            rows=sum(a["rows"] for a in apps.values()),
            live=sum(a["live"] for a in apps.values()),
            negative=sum(a["negative"] for a in apps.values()),
            apps=dict(sorted(apps.items())),
            counters=counters,
        )

    # -- internals ----------------------------------------------------------------------------

    def _engine(self) -> Engine:
        engine = self._engine_value
        if engine is None:
            from ..storage import ensure_schema

            engine = self._engine_value = ensure_schema(self.url, "state")
        return engine

    def _reader(self) -> Any:
        """A connection for reads (a plain deferred BEGIN on SQLite: no write lock)."""
        reader = self._reader_value
        if reader is None:
            reader = self._reader_value = self._engine().execution_options(sqlite_begin="DEFERRED")
        return reader.connect()

    def __repr__(self) -> str:
        return f"UserCache(ttl={self.ttl:g}, negative_ttl={self.negative_ttl:g})"


def _insert_for(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _unique_rows(
    app_id: str, users: Iterable[User], now: float, expires_at: float
) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for user in users:
        if not user.open_id:
            continue
        raw = user.model_dump(mode="json", exclude=_PROFILE_EXCLUDE, exclude_none=True)
        rows[user.open_id] = {
            "app_id": app_id,
            "open_id": user.open_id,
            "user_id": user.user_id,
            "union_id": user.union_id,
            "email": _lenient("email", user.email),
            "mobile": _lenient("mobile", user.mobile),
            "name": user.name,
            "en_name": user.en_name,
            "avatar": user.avatar.url if user.avatar else None,
            "department_ids": list(user.department_ids),
            "job_title": user.job_title,
            "employee_no": user.employee_no,
            "status": user.status.model_dump(mode="json") if user.status else None,
            "raw": raw,
            "cached_at": now,
            "expires_at": expires_at,
        }
    return list(rows.values())


def _user_from_row(row: Mapping[str, Any]) -> User:
    raw = row["raw"] if isinstance(row["raw"], dict) else {}
    data: dict[str, Any] = dict(raw)
    data.update(
        open_id=row["open_id"],
        user_id=row["user_id"],
        union_id=row["union_id"],
        name=row["name"],
        en_name=row["en_name"],
        email=raw.get("email") or row["email"],
        mobile=raw.get("mobile") or row["mobile"],
        department_ids=row["department_ids"] or [],
        job_title=row["job_title"],
        employee_no=row["employee_no"],
        status=row["status"],
        from_cache=True,
    )
    return User.model_validate(data)

"""The five built-in jobs. Each takes a :class:`~._core.JobContext` and returns a summary
dict (``failed``: the parts that failed, which makes the run's outcome ``failed``).

- ``token_sweep``: every active app's tenant token refreshed ahead of expiry (less than
  ``LARK_SCHEDULER_TOKEN_HORIZON`` seconds left, or none stored), through the shared token
  store and its cross-process lock, so request paths never wait for a fetch.
- ``contact_sync``: every active app's department tree and members (from the root ``0``,
  recursively) into the contact cache, paced by the request pipeline.
- ``user_token_watch``: user refresh tokens (token store, kind ``user``) expiring within 30
  days, 7 days, or expired: a Feishu message to the user with a re-authorization link; each
  level is sent once per refresh token. Emits ``token.refresh_expiry`` per app.
- ``cleanup``: expired tokens (user tokens only once their refresh token expired too),
  expired auth sessions, expired dedup rows (and scheduler claims), done outbox rows past
  ``LARK_SCHEDULER_RETENTION_DAYS``, expired contact cache rows.
- ``health_check``: state and config databases, broker, Redis, Feishu's token endpoint.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .. import instrumentation
from ..logging import get_logger
from ._core import Job, JobContext
from ._settings import JOB_NAMES, SchedulerSettings

if TYPE_CHECKING:
    from ..config import Settings

__all__ = [
    "DAY",
    "WATCH_LEVELS",
    "LinkBuilder",
    "active_app_ids",
    "builtin_jobs",
    "cleanup",
    "contact_sync",
    "health_check",
    "token_sweep",
    "user_token_watch",
]

logger = get_logger("lark_service.scheduler")

DAY = 86400.0
WATCH_LEVELS: tuple[tuple[str, float], ...] = (("expired", 0.0), ("7d", 7 * DAY), ("30d", 30 * DAY))
"""user_token_watch's levels, most urgent first: (name, seconds left at or below which)."""

LinkBuilder = Callable[[str, str], "str | None"]
"""``(app_id, open_id) -> URL`` of the re-authorization page (None: no link)."""


def active_app_ids(ctx: JobContext) -> list[str]:
    """The apps jobs work for: ``options["app_ids"]`` when given, else the registry's active
    apps plus ``LARK_APP_ID`` (when ``LARK_APP_SECRET`` is set)."""
    given = ctx.options.get("app_ids")
    if given is not None:
        return list(given)
    return _active_apps(ctx.settings)


def _active_apps(settings: Settings) -> list[str]:
    from ..apps import open_registry

    found: list[str] = []
    if settings.app_id and settings.app_secret is not None:
        found.append(settings.app_id)
    registry = open_registry(settings)
    if registry is not None:
        for app_id in registry.active_app_ids():
            if app_id not in found:
                found.append(app_id)
    return found


# -- token_sweep -----------------------------------------------------------------------------


def token_sweep(ctx: JobContext) -> dict[str, Any]:
    """Refresh each active app's tenant token that has less than the horizon left."""
    from ..credentials import CredentialPool, TokenKey

    client = ctx.client()
    horizon = ctx.scheduler_settings.token_horizon
    now = ctx.clock()
    refreshed: list[str] = []
    fresh: list[str] = []
    failed: dict[str, str] = {}
    store = client.credentials.store
    # refresh_fraction=1: a token the pool finds is refreshed now (and waited for below)
    pool = CredentialPool(store, clock=ctx.clock, refresh_fraction=1.0)
    for app_id in active_app_ids(ctx):
        try:
            app = client.resolve_app(app_id)
            key = TokenKey(app.app_id, app.fingerprint, "tenant")
            record = store.load(key)
            if record is not None and record.remaining(now) > horizon:
                fresh.append(app_id)
                continue

            def fetch(k: TokenKey, app_id: str = app_id) -> Any:
                return client.check_credentials(k.kind, app_id=app_id)

            pool.get_token(key, fetch)
            pool.background.wait()
            after = store.load(key)
            if after is None or after.remaining(ctx.clock()) <= horizon:
                failed[app_id] = "the refreshed token was not stored or is still short-lived"
            else:
                refreshed.append(app_id)
        except Exception as exc:
            failed[app_id] = _describe(exc)
    return {"refreshed": refreshed, "fresh": fresh, "failed": failed}


# -- contact_sync ----------------------------------------------------------------------------


def contact_sync(ctx: JobContext) -> dict[str, Any]:
    """The whole directory (from the root department, recursively) into the contact cache."""
    client = ctx.client()
    root = str(ctx.options.get("contact_root", "0"))
    synced: dict[str, int] = {}
    failed: dict[str, str] = {}
    for app_id in active_app_ids(ctx):
        try:
            tree = client.contact.get_department_tree(root, app_id=app_id)
            users = client.contact.get_department_users(root, recursive=True, app_id=app_id)
            synced[app_id] = len(users)
            logger.info(
                "contact_sync: %d users of %d departments of %s cached",
                len(users),
                _count_departments(tree),
                app_id,
                extra={"lark_app_id": app_id},
            )
        except Exception as exc:
            failed[app_id] = _describe(exc)
    return {"users": synced, "failed": failed}


def _count_departments(tree: Any) -> int:
    return 1 + sum(_count_departments(c) for c in (getattr(tree, "children", None) or []))


# -- user_token_watch ------------------------------------------------------------------------


def default_link_builder(ctx: JobContext) -> LinkBuilder | None:
    """Where re-authorization links come from, first that exists:

    1. ``options["link_builder"]`` (an injected function);
    2. ``LARK_SCHEDULER_REAUTH_URL``, a template with ``{app_id}`` and ``{open_id}`` (a
       durable page of yours that starts the authorization when the user opens it);
    3. ``client.auth.authorization_url(app_id=, user=)`` (user OAuth): a consent link whose
       session lasts 10 minutes, so the message says until when it works; needs
       ``LARK_OAUTH_REDIRECT_URL`` (without it, no link, logged once per run);
    4. none: the message asks the user to contact an administrator.
    """
    injected = ctx.options.get("link_builder")
    if injected is not None:
        return injected  # type: ignore[no-any-return]
    template = ctx.scheduler_settings.reauth_url
    if template:
        return lambda app_id, open_id: template.format(app_id=app_id, open_id=open_id)
    client = ctx.client()
    try:
        auth = client.auth
    except AttributeError:
        return None
    build = getattr(auth, "authorization_url", None)
    if not callable(build):
        return None
    warned: list[str] = []

    def from_auth(app_id: str, open_id: str) -> str | None:
        from .. import errors

        try:
            link = build(app_id=app_id, user=open_id)
        except (errors.ValidationError, errors.ConfigError) as exc:
            if not warned:
                warned.append(app_id)
                logger.warning(
                    "user_token_watch: no re-authorization link (%s); set "
                    "LARK_OAUTH_REDIRECT_URL or LARK_SCHEDULER_REAUTH_URL",
                    getattr(exc, "msg", exc),
                )
            return None
        expires = getattr(link, "expires_at", None)
        url = str(getattr(link, "url", link))
        if expires is None:
            return url
        until = time.strftime("%H:%M UTC", time.gmtime(float(expires)))
        return f"{url} (valid until {until})"

    return from_auth


def _level(remaining: float) -> str | None:
    for name, limit in WATCH_LEVELS:
        if remaining <= limit:
            return name
    return None


def _message(level: str, app_id: str, remaining: float, link: str | None) -> str:
    if level == "expired":
        head = f"Your authorization of the app {app_id} has expired"
    else:
        days = max(1, math.ceil(remaining / DAY))
        head = f"Your authorization of the app {app_id} expires in {days} day(s)"
    tail = (
        f"Please authorize it again: {link}"
        if link
        else "Ask your administrator for a new authorization link."
    )
    return f"{head}; until then it cannot act on your behalf. {tail}"


def user_token_watch(ctx: JobContext) -> dict[str, Any]:
    """Warn users whose refresh token expires in 30 d / 7 d / now, once per level."""
    client = ctx.client()
    store = getattr(client.credentials.store, "store", client.credentials.store)
    records = getattr(store, "records", None)
    if not callable(records):
        return {"skipped": "the token store keeps no user tokens (no persistent store)"}
    apps = set(active_app_ids(ctx))
    now = ctx.clock()
    link_for = default_link_builder(ctx)
    engine = _state_engine(ctx)
    sent: dict[str, int] = {}
    failed: dict[str, str] = {}
    soonest: dict[str, float] = {}
    for token in records(kind="user"):
        if token.app_id not in apps or token.refresh_expires_at is None or not token.subject:
            continue
        expires = float(token.refresh_expires_at)
        remaining = expires - now
        soonest[token.app_id] = min(soonest.get(token.app_id, remaining), remaining)
        level = _level(remaining)
        if level is None:
            continue
        key = f"user-token-watch:{token.app_id}:{token.subject}:{level}:{expires:.0f}"
        if not _remember(engine, key, token.app_id, now, expires + 60 * DAY):
            continue
        try:
            link = link_for(token.app_id, token.subject) if link_for else None
            client.messaging.send_text_message(
                token.subject, _message(level, token.app_id, remaining, link), app_id=token.app_id
            )
        except Exception as exc:
            _forget(engine, key)  # the next run tries again
            failed[f"{token.app_id}/{level}"] = _describe(exc)
            continue
        sent[level] = sent.get(level, 0) + 1
    for app_id, remaining in soonest.items():
        instrumentation.emit(
            "token.refresh_expiry", app_id, kind="user", subject="user", expires_in=remaining
        )
    return {"sent": sent, "failed": failed, "links": link_for is not None}


def _state_engine(ctx: JobContext) -> Any:
    from ..storage.migrate import ensure_schema

    return ensure_schema(ctx.state_url, "state")


def _remember(engine: Any, key: str, app_id: str, now: float, expires: float) -> bool:
    from ..storage.tables import processed_events as p

    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(p)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(p)
    stmt = stmt.values(
        dedup_key=key[:255], app_id=app_id, processed_at=now, expires_at=expires
    ).on_conflict_do_nothing(index_elements=["dedup_key"])
    stmt = stmt.returning(p.c.dedup_key)  # rowcount is -1 under psycopg here
    with engine.begin() as conn:
        return conn.execute(stmt).first() is not None


def _forget(engine: Any, key: str) -> None:
    from sqlalchemy import delete

    from ..storage.tables import processed_events as p

    with engine.begin() as conn:
        conn.execute(delete(p).where(p.c.dedup_key == key[:255]))


# -- cleanup ---------------------------------------------------------------------------------


def cleanup(ctx: JobContext) -> dict[str, Any]:
    """Delete what has expired in the state database."""
    from sqlalchemy import delete, inspect, or_

    from ..callbacks.store import OutboxStore
    from ..contact.cache import UserCache
    from ..storage.tables import auth_sessions, tokens

    now = ctx.clock()
    engine = _state_engine(ctx)
    removed: dict[str, int] = {}
    with engine.begin() as conn:
        removed["tokens"] = int(
            conn.execute(
                delete(tokens).where(
                    tokens.c.expires_at <= now,
                    or_(tokens.c.refresh_expires_at.is_(None), tokens.c.refresh_expires_at <= now),
                )
            ).rowcount
            or 0
        )
        if inspect(conn).has_table("auth_sessions"):
            removed["auth_sessions"] = int(
                conn.execute(
                    delete(auth_sessions).where(auth_sessions.c.expires_at <= now)
                ).rowcount
                or 0
            )
    retention = ctx.scheduler_settings.retention_days * DAY
    removed["dedup_and_outbox"] = OutboxStore(ctx.state_url, clock=ctx.clock).purge(
        done_older_than=retention
    )
    cache = UserCache(ctx.state_url, clock=ctx.clock)
    removed["contact_cache"] = cache.clear(expired_only=True)
    return {"removed": removed}


# -- health_check ----------------------------------------------------------------------------


def health_check(ctx: JobContext) -> dict[str, Any]:
    """Databases, broker, Redis and Feishu's token endpoint reachable."""
    from .. import doctor

    checks = doctor.health_checks(ctx.settings, timeout=float(ctx.options.get("timeout", 5.0)))
    return {
        "checks": {c.name: c.status for c in checks},
        "failed": {c.name: c.detail for c in checks if c.status == "fail"},
    }


# -- the set ---------------------------------------------------------------------------------

_FUNCTIONS: Mapping[str, tuple[Callable[[JobContext], Mapping[str, Any]], str]] = {
    "token_sweep": (token_sweep, "refresh active apps' tenant tokens ahead of expiry"),
    "contact_sync": (contact_sync, "department tree and members into the contact cache"),
    "user_token_watch": (user_token_watch, "warn users whose authorization expires"),
    "cleanup": (cleanup, "expired tokens, sessions, dedup rows, old outbox rows"),
    "health_check": (health_check, "databases, broker, Feishu token endpoint"),
}


def builtin_jobs(settings: SchedulerSettings | None = None) -> list[Job]:
    """The five jobs on the schedules ``settings`` give (``LARK_SCHEDULER_*``)."""
    if settings is None:
        from ._settings import load_scheduler_settings

        settings = load_scheduler_settings()
    return [
        Job(name, _FUNCTIONS[name][0], settings.schedule(name), _FUNCTIONS[name][1])
        for name in JOB_NAMES
    ]


def _describe(exc: BaseException) -> str:
    from ._core import _describe as describe

    return describe(exc)

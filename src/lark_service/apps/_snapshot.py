"""The hot, read-only side of the app registry: what clients consult on every call.

:class:`RegistrySnapshot` is the :class:`~lark_service.apps.AppSource` clients resolve app ids
against. Reads are served from an in-memory snapshot that is re-validated at most every
``max_age`` seconds with one cheap query (the newest audit row, the number of apps and their
newest ``updated_at``), so a change made by the CLI or another process reaches running
clients within ``max_age`` without a restart. The administrative side (CRUD, audit, key
rotation) is :class:`~lark_service.apps.AppRegistry` in ``_admin.py``, built on this class.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .. import errors
from ..logging import get_logger
from ._types import AppCredentials, AppInfo, _info

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from ..config import Settings
    from ..storage.breaker import StoreBreaker
    from ..storage.crypto import SecretBox

__all__ = ["RegistrySnapshot"]

logger = get_logger("lark_service.apps")

_R = TypeVar("_R", bound="RegistrySnapshot")


@dataclass
class _Entry:
    info: AppInfo
    secret_enc: str
    credentials: AppCredentials | None = None
    previous: AppCredentials | None = None  # before the secret's ciphertext changed


_Version = tuple[int, int, float]


class RegistrySnapshot:
    """The apps of the config database (SQLite or PostgreSQL) as clients read them.

    ``box`` encrypts and decrypts the secrets (``LARK_CONFIG_ENCRYPTION_KEY``); without one
    the registry can list apps but not read or write a secret
    (:class:`~lark_service.errors.EncryptionKeyError`). Nothing is opened until the first
    call; the schema is migrated then if needed.
    """

    def __init__(
        self,
        url: str,
        box: SecretBox | None,
        *,
        max_age: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        actor: str | None = None,
        create: bool = True,
    ) -> None:
        """``create=False``: while the SQLite file does not exist, lookups find no apps (and
        create nothing); the file is looked for again at every re-validation."""
        self.url = url
        self.box = box
        self.max_age = max_age
        self.clock = clock
        self.actor = actor
        self.create = create
        self._guard = threading.RLock()
        self._breaker: tuple[str, StoreBreaker] | None = None
        _live.add(self)
        self._entries: dict[str, _Entry] | None = None
        self._version: _Version | None = None
        self._checked_at = float("-inf")

    @classmethod
    def from_settings(cls: type[_R], settings: Settings, **options: Any) -> _R:
        """The registry at ``settings.resolved_config_db_url`` with the configured key.

        Raises :class:`~lark_service.errors.EncryptionKeyError` for a malformed key.
        """
        from ..storage.crypto import SecretBox

        key = settings.config_encryption_key
        box = (
            SecretBox(key.get_secret_value())
            if key is not None and key.get_secret_value().strip()
            else None
        )
        return cls(settings.resolved_config_db_url, box, **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_age={self.max_age})"

    def get_app(self, app_id: str) -> AppCredentials | None:
        """The app with its decrypted secret and domain, or None when it is not registered.

        Disabled apps are returned too (the resolver refuses them). Raises
        :class:`~lark_service.errors.EncryptionKeyError` when the key does not open the
        secret, and :class:`~lark_service.errors.ConfigError` when the database cannot be
        read and nothing was read before.
        """
        entries = self._snapshot()
        entry = entries.get(app_id)
        if entry is None:
            return None
        creds = entry.credentials
        if creds is None:
            try:
                secret = self._require_box().decrypt(entry.secret_enc)
            except errors.EncryptionKeyError as exc:
                if entry.previous is None:
                    raise
                # Another process rotated the key: keep the secret read before, loudly.
                logger.error(
                    "cannot decrypt the secret of app %s (%s); using the one read before. "
                    "Restart with the new LARK_CONFIG_ENCRYPTION_KEY.",
                    app_id,
                    exc.msg,
                    extra={"lark_app_id": app_id},
                )
                secret = entry.previous.app_secret
            creds = AppCredentials(
                app_id=entry.info.app_id,
                app_secret=secret,
                base_url=entry.info.domain,
                source="registry",
                status=entry.info.status,
            )
            entry.credentials = creds
        return creds

    def active_app_ids(self) -> list[str]:
        """The ids of every active app, sorted."""
        return sorted(a for a, e in self._snapshot().items() if e.info.status == "active")

    def is_fresh(self) -> bool:
        """Whether ``get_app``/``active_app_ids`` answer from memory now, without I/O."""
        return self._entries is not None and self.clock() - self._checked_at < self.max_age

    def refresh(self) -> None:
        """Re-read the database now instead of within ``max_age``."""
        with self._guard:
            self._checked_at = float("-inf")
        self._snapshot()

    def _engine(self) -> Engine:
        from ..storage.migrate import ensure_schema

        try:
            return ensure_schema(self.url, "config")
        except errors.LarkError:
            raise
        except Exception as exc:
            raise self._unreachable(exc) from None

    def _read(self) -> Any:
        return _Transaction(self, write=False)

    def _write(self) -> Any:
        return _Transaction(self, write=True)

    def _require_box(self) -> SecretBox:
        if self.box is None:
            raise errors.EncryptionKeyError(
                "LARK_CONFIG_ENCRYPTION_KEY is not set: app secrets cannot be read or written",
                hint="Run `lark-service init` (it creates a key in $LARK_HOME/.env), or set "
                "LARK_CONFIG_ENCRYPTION_KEY.",
            )
        return self.box

    def _invalidate(self) -> None:
        with self._guard:
            self._checked_at = float("-inf")

    def _unreachable(self, exc: BaseException) -> errors.ConfigError:
        from ..storage.engine import normalize_url

        try:
            from sqlalchemy.engine import make_url

            where = make_url(normalize_url(self.url)).render_as_string(hide_password=True)
        except Exception:
            where = "the configured URL"
        orig = getattr(exc, "orig", None) or exc
        detail = (str(orig).strip().splitlines() or [""])[0][:200]
        return errors.ConfigError(
            f"the app registry at {where} failed ({type(orig).__name__}: {detail})",
            hint="Check LARK_CONFIG_DB_URL and that the database is reachable; "
            "`lark-service init` creates the default one.",
        )

    def _snapshot(self) -> dict[str, _Entry]:
        """The cached apps, re-validated when older than ``max_age``."""
        now = self.clock()
        entries = self._entries
        if entries is not None and now - self._checked_at < self.max_age:
            return entries
        with self._guard:
            if self._entries is not None and now - self._checked_at < self.max_age:
                return self._entries
            breaker = self._db_breaker()
            if breaker.is_open:
                # The database failed lately: no I/O until a background probe reaches it.
                try:
                    breaker.check(self._read_version)
                except errors.StorageUnavailableError as refused:
                    if self._entries is None:
                        raise self._unreachable(refused) from None
                    self._checked_at = now
                    return self._entries
            try:
                if not self.create and not self._exists():
                    self._entries, self._version = {}, None
                    self._checked_at = now
                    return self._entries
                version = self._read_version()
                if self._entries is None or version != self._version:
                    self._entries = self._merge(self._load_all())
                    self._version = version
            except errors.LarkError as exc:
                if isinstance(exc, errors.ConfigError) and not isinstance(
                    exc, errors.EncryptionKeyError
                ):
                    breaker.failure(exc.msg)
                if self._entries is None:
                    raise
                logger.error(
                    "app registry unreadable, using the apps read before: %s (not read again "
                    "for %.0f s; probed in the background)",
                    exc.msg,
                    breaker.retry_after,
                )
            else:
                breaker.success()
            self._checked_at = now
            return self._entries

    def _db_breaker(self) -> StoreBreaker:
        """The circuit breaker of the registry's database (one per URL and process): a
        database that fails or hangs is skipped, not waited on, until a probe reaches it."""
        cached = self._breaker
        if cached is not None and cached[0] == self.url:
            return cached[1]
        from ..storage.breaker import breaker_for
        from ..storage.engine import normalize_url

        try:
            key = normalize_url(self.url)
        except errors.ConfigError:
            key = self.url
        breaker = breaker_for(f"config:{key}", "the app registry")
        self._breaker = (self.url, breaker)
        return breaker

    def _exists(self) -> bool:
        """Whether the database is there (always, for a server database)."""
        from ..storage.engine import sqlite_path

        path = sqlite_path(self.url)
        return path is None or path.expanduser().is_file()

    def _merge(self, fresh: dict[str, _Entry]) -> dict[str, _Entry]:
        """Keep decrypted credentials of apps whose secret and domain did not change."""
        old = self._entries or {}
        for app_id, entry in fresh.items():
            before = old.get(app_id)
            if before is None or before.credentials is None:
                continue
            if (
                before.secret_enc == entry.secret_enc
                and before.info.domain == entry.info.domain
                and before.info.status == entry.info.status
            ):
                entry.credentials = before.credentials
            else:
                entry.previous = before.credentials
        return fresh

    def _read_version(self) -> _Version:
        from sqlalchemy import func, select

        from ..storage.tables import application_audit, applications

        query = select(
            select(func.coalesce(func.max(application_audit.c.id), 0)).scalar_subquery(),
            select(func.count()).select_from(applications).scalar_subquery(),
            select(func.coalesce(func.max(applications.c.updated_at), 0.0)).scalar_subquery(),
        )
        with self._read() as conn:
            row = conn.execute(query).one()
        return int(row[0]), int(row[1]), float(row[2])

    def _load_all(self) -> dict[str, _Entry]:
        from sqlalchemy import select

        from ..storage.tables import applications

        with self._read() as conn:
            rows = conn.execute(select(applications)).all()
        return {row.app_id: _Entry(info=_info(row), secret_enc=row.app_secret_enc) for row in rows}


class _Transaction:
    """``with registry._read() as conn`` / ``_write()``: one transaction, errors made clear."""

    def __init__(self, registry: RegistrySnapshot, *, write: bool) -> None:
        self._registry = registry
        self._write = write
        self._cm: Any = None

    def __enter__(self) -> Connection:
        engine = self._registry._engine()
        try:
            if self._write:
                self._cm = engine.begin()
            else:
                self._cm = engine.execution_options(sqlite_begin="DEFERRED").connect()
            conn: Connection = self._cm.__enter__()
        except Exception as exc:
            raise self._registry._unreachable(exc) from None
        return conn

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            self._cm.__exit__(exc_type, exc, tb)
        except Exception as failure:
            if exc is None:
                raise self._registry._unreachable(failure) from None
        if exc is not None and not isinstance(exc, errors.LarkError):
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(exc, SQLAlchemyError):
                raise self._registry._unreachable(exc) from None


_live: weakref.WeakSet[RegistrySnapshot] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A thread of the parent may have held a registry's guard at fork time (re-validating
    # the snapshot): every registry in the child gets a fresh one. Engines are disposed by
    # lark_service.storage.engine's own hook.
    for registry in list(_live):
        registry._guard = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

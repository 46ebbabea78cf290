"""The persisted token store: the ``tokens`` table of the state database, values encrypted.

:class:`SqlTokenStore` keeps tokens in SQLite (the embedded default, ``$LARK_HOME/state.db``)
or PostgreSQL (``LARK_DATABASE_URL``), so every process and host reuses one token. Values and
refresh tokens are Fernet-encrypted with :class:`~lark_service.storage.crypto.SecretBox`.

Its cross-process lock (what makes a cold start of many processes fetch once) is a file lock
under ``$LARK_HOME/locks`` for SQLite, and a transaction-scoped ``pg_advisory_xact_lock`` for
PostgreSQL (which also covers several hosts sharing the database); both give up after the
pool's timeout with :class:`~lark_service.errors.LockTimeoutError`.

Constructing a store does no I/O and imports no SQLAlchemy: the database is opened (and
migrated) on the first call that needs it.

A database that fails (unreachable, or hung: accepting connections and never answering) opens
a circuit breaker (:mod:`lark_service.storage.breaker`): for a short interval calls are
refused at once instead of each waiting its own timeout, and a background probe finds out when
the database is back. A row written with another encryption key (two homes sharing one
PostgreSQL with different keys) is reported once at ERROR, with the fix.

Without a configured key, :func:`open_token_store` returns a :class:`HomeTokenStore`: its
first use creates ``LARK_HOME`` and a key the way ``lark-service init`` does, so tokens persist
out of the box; where the home cannot be written, tokens stay in memory (one log line).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .. import errors
from ..logging import get_logger
from ._types import LockHandle, TokenKey, TokenRecord, TokenStore
from .locks import reset_after_fork, shared_memory_store

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, Row

    from ..config import Settings
    from ..storage.breaker import StoreBreaker
    from ..storage.crypto import SecretBox

__all__ = ["HomeTokenStore", "SqlTokenStore", "StoredToken", "open_token_store"]

T = TypeVar("T")

logger = get_logger("lark_service.credentials")

_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired
_warned_memory_only = False
_warned_foreign_key: set[str] = set()
_warn_guard = threading.Lock()


def open_token_store(settings: Settings, *, create_home: bool = True) -> TokenStore:
    """The token store ``settings`` describe, opened lazily (no I/O, no SQLAlchemy here).

    A :class:`SqlTokenStore` on ``settings.resolved_database_url`` when an encryption key is
    configured. Without one, a :class:`HomeTokenStore`: on first use it creates ``LARK_HOME``
    and a key in ``$LARK_HOME/.env`` (as ``lark-service init`` does; safe when many processes
    start together) and persists tokens there, or keeps them in memory where the home cannot
    be written. ``create_home=False`` returns the process's memory store instead (tokens are
    never written in plain text), with an INFO log line saying how to persist them. Raises
    :class:`~lark_service.errors.EncryptionKeyError` for a malformed key.
    """
    key = settings.config_encryption_key
    if key is None or not key.get_secret_value().strip():
        if create_home:
            return HomeTokenStore(settings)
        _warn_memory_only()
        return shared_memory_store()
    from ..storage.crypto import SecretBox  # cryptography: only when tokens are persisted

    return SqlTokenStore(
        settings.resolved_database_url, SecretBox(key.get_secret_value()), home=settings.home
    )


def _warn_memory_only() -> None:
    global _warned_memory_only
    with _warn_guard:
        if _warned_memory_only:
            return
        _warned_memory_only = True
    logger.info(
        "no LARK_CONFIG_ENCRYPTION_KEY: access tokens are kept in this process's memory only; "
        "run `lark-service init` to share them across processes (encrypted)"
    )


@dataclass(frozen=True)
class StoredToken:
    """One row of the token store as the CLI shows it; ``value`` is None when unreadable."""

    app_id: str
    fingerprint: str
    kind: str
    subject: str
    expires_at: float
    issued_at: float
    value: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: float | None = None

    @property
    def readable(self) -> bool:
        """Whether the configured key decrypts it."""
        return self.value is not None


class HomeTokenStore:
    """The token store of a client given no encryption key: ``LARK_HOME``'s, created on first
    use.

    The first call creates the home (0700) and a Fernet key in ``$LARK_HOME/.env`` (0600,
    atomically, under a file lock: of eight processes starting together one writes the key,
    the others read it), then delegates to a :class:`SqlTokenStore` on the state database.
    Where the home cannot be created or written (a read-only container), it delegates to the
    process's memory store and says so once, at WARNING.
    """

    blocking = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: TokenStore | None = None
        self._guard = threading.Lock()
        reset_after_fork(self)

    def __repr__(self) -> str:
        return f"HomeTokenStore({str(self.settings.home)!r})"

    @property
    def store(self) -> TokenStore:
        """The store tokens go to (opened, and the home created, on first access)."""
        store = self._store
        if store is not None:
            return store
        with self._guard:
            if self._store is None:
                self._store = self._open()
            return self._store

    def load(self, key: TokenKey) -> TokenRecord | None:
        return self.store.load(key)

    def save(self, record: TokenRecord) -> None:
        self.store.save(record)

    def delete(self, key: TokenKey, value: str | None = None) -> None:
        self.store.delete(key, value)

    def lock(self, key: TokenKey, timeout: float) -> LockHandle:
        return self.store.lock(key, timeout)

    def _after_fork(self) -> None:
        self._guard = threading.Lock()

    def _open(self) -> TokenStore:
        from filelock import Timeout

        from ..storage.crypto import SecretBox
        from ..storage.home import ensure_home_key

        home = self.settings.home.expanduser()
        try:
            key, created = ensure_home_key(home)
        except (OSError, Timeout) as exc:
            _warn_home_unwritable(home, exc)
            return shared_memory_store()
        if created:
            logger.info(
                "created %s and an encryption key in %s (as `lark-service init` does): access "
                "tokens are now stored encrypted and shared by every process using this home",
                home,
                home / ".env",
            )
        return SqlTokenStore(self.settings.resolved_database_url, SecretBox(key), home=home)


def _warn_home_unwritable(home: Path, exc: BaseException) -> None:
    global _warned_memory_only
    with _warn_guard:
        if _warned_memory_only:
            return
        _warned_memory_only = True
    logger.warning(
        "LARK_HOME %s cannot be written (%s): access tokens are kept in this process's memory "
        "only. Set LARK_HOME to a writable folder, or LARK_CONFIG_ENCRYPTION_KEY (and "
        "LARK_DATABASE_URL) to share them across processes",
        home,
        type(exc).__name__,
    )


class _FileLockHandle:
    def __init__(self, lock: Any) -> None:
        self._lock = lock

    def release(self) -> None:
        self._lock.release()


class _PgLockHandle:
    """Holds the transaction whose ``pg_advisory_xact_lock`` ends when it commits."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def release(self) -> None:
        try:
            self._conn.commit()
        finally:
            self._conn.close()


class SqlTokenStore:
    """Tokens in the ``tokens`` table (SQLite or PostgreSQL), encrypted at rest.

    Rows are keyed by app_id, the secret's fingerprint, kind and subject: a client holding a
    different secret for the same app never reads the token. A row that does not decrypt or
    parse is deleted and reported as a miss (logged at ERROR). ``updated_at`` holds the time
    the token was issued, on the clock of the pool that fetched it, so a token's lifetime
    survives a restart.
    """

    blocking = True

    def __init__(
        self,
        url: str,
        box: SecretBox,
        *,
        lock_dir: Path | None = None,
        home: Path | None = None,
    ) -> None:
        """``lock_dir``: where SQLite's file locks go (default: ``home/locks`` when the database
        file is under ``home``, i.e. ``$LARK_HOME/locks``, else a ``locks`` folder beside it)."""
        self.url = url
        self.box = box
        self._lock_dir = lock_dir
        self._home = home
        self._sqlite: bool | None = None
        self._breaker: StoreBreaker | None = None

    def __repr__(self) -> str:
        from ..storage.engine import normalize_url

        try:
            from sqlalchemy.engine import make_url

            shown = make_url(normalize_url(self.url)).render_as_string(hide_password=True)
        except errors.ConfigError:
            shown = "<malformed url>"
        return f"SqlTokenStore({shown!r})"

    # -- the TokenStore protocol ----------------------------------------------------------

    def load(self, key: TokenKey) -> TokenRecord | None:
        """The stored record for ``key``; None when absent or unreadable (then deleted; a row
        written with another encryption key is reported once at ERROR, with the fix)."""
        return self._guarded(self._load, key)

    def save(self, record: TokenRecord) -> None:
        """Insert or replace the record for ``record.key`` (values encrypted)."""
        self._guarded(self._save, record)

    def delete(self, key: TokenKey, value: str | None = None) -> None:
        """Delete the record; with ``value``, only if it still holds that token."""
        self._guarded(self._delete, key, value)

    def lock(self, key: TokenKey, timeout: float) -> LockHandle:
        """Take the cross-process lock of ``key`` (waits at most ``timeout`` seconds).

        Raises :class:`~lark_service.errors.LockTimeoutError` when another process holds it
        that long, and :class:`~lark_service.errors.StorageUnavailableError` when the store
        is unreachable.
        """
        if self._is_sqlite():
            return self._guarded(self._file_lock, key, timeout)
        return self._guarded(self._pg_lock, key, timeout)

    def breaker(self) -> StoreBreaker:
        """The circuit breaker of this store's database (shared by every store on it)."""
        if self._breaker is None:
            from ..storage.breaker import breaker_for
            from ..storage.engine import normalize_url

            self._breaker = breaker_for(normalize_url(self.url), f"the token store {self!r}")
        return self._breaker

    def _guarded(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` unless the breaker is open; a failure opens it.

        Refused calls and failures raise :class:`~lark_service.errors.StorageUnavailableError`
        (``short_circuited`` tells a refusal, or a failure another call reported already,
        from the failure that opened the breaker).
        """
        breaker = self.breaker()
        breaker.check(self._probe)
        try:
            result = fn(*args)
        except errors.LarkError:
            raise
        except Exception as exc:
            reason = _describe(exc)
            opened = breaker.failure(reason)
            error = errors.StorageUnavailableError(
                f"{self!r} is unreachable ({reason}); tokens are kept in memory and fetched "
                f"from Feishu, the database is probed again in the background every "
                f"{breaker.retry_after:.0f} s",
                hint="Check that the state database (LARK_DATABASE_URL) answers.",
            )
            error.short_circuited = not opened  # type: ignore[attr-defined]
            raise error from exc
        breaker.success()
        return result

    def _probe(self) -> None:
        from sqlalchemy import text

        engine = self._engine().execution_options(sqlite_begin="DEFERRED")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def _load(self, key: TokenKey) -> TokenRecord | None:
        from sqlalchemy import select

        from ..storage.tables import tokens

        engine = self._engine().execution_options(sqlite_begin="DEFERRED")
        with engine.connect() as conn:
            row = conn.execute(select(tokens).where(*self._where(key))).first()
        if row is None:
            return None
        try:
            return self._record(key, row)
        except (errors.EncryptionKeyError, ValueError, TypeError) as exc:
            if isinstance(exc, errors.EncryptionKeyError) and _foreign(row.value_enc):
                # Another home's key: said once at ERROR with the fix; then dropped quietly
                # like any row this key cannot open (a token is cheap to fetch again).
                self._warn_foreign_key(key)
                self._delete_row(row.id, row.value_enc)
                return None
            reason = exc.msg if isinstance(exc, errors.LarkError) else type(exc).__name__
            logger.error(
                "stored %s token of %s is unreadable (%s); deleted it, a new one is fetched",
                key.kind,
                key.app_id,
                reason,
                extra=_extra(key, reason="unreadable row"),
            )
            self._delete_row(row.id, row.value_enc)
            return None

    def _save(self, record: TokenRecord) -> None:
        from ..storage.tables import tokens

        key = record.key
        values = {
            "app_id": key.app_id,
            "secret_fingerprint": key.fingerprint,
            "kind": key.kind,
            "subject": key.subject,
            "value_enc": self.box.encrypt(record.value),
            "expires_at": float(record.expires_at),
            "refresh_token_enc": (
                self.box.encrypt(record.refresh_token) if record.refresh_token else None
            ),
            "refresh_expires_at": record.refresh_expires_at,
            "updated_at": float(record.issued_at),
            "scopes": " ".join(record.scopes) if record.scopes is not None else None,
        }
        engine = self._engine()
        if engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(tokens).values(**values)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(tokens).values(**values)
        changed = {name: stmt.excluded[name] for name in _UPDATABLE}
        stmt = stmt.on_conflict_do_update(
            index_elements=["app_id", "secret_fingerprint", "kind", "subject"], set_=changed
        )
        with engine.begin() as conn:
            conn.execute(stmt)

    def _delete(self, key: TokenKey, value: str | None = None) -> None:
        from sqlalchemy import delete, select

        from ..storage.tables import tokens

        engine = self._engine()
        with engine.begin() as conn:
            if value is None:
                conn.execute(delete(tokens).where(*self._where(key)))
                return
            query = select(tokens.c.id, tokens.c.value_enc).where(*self._where(key))
            if engine.dialect.name == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).first()
            if row is None:
                return
            try:
                same = self.box.decrypt(row.value_enc) == value
            except errors.EncryptionKeyError:
                # Corrupt: nobody can use it either. Another home's key: that home uses it.
                same = not _foreign(row.value_enc)
            if same:
                conn.execute(delete(tokens).where(tokens.c.id == row.id))

    # -- administration (the CLI) ----------------------------------------------------------

    def records(self, app_id: str | None = None, kind: str | None = None) -> list[StoredToken]:
        """Every stored token (optionally of one app / kind), decrypted where the key allows."""
        from sqlalchemy import select

        from ..storage.tables import tokens

        query = select(tokens).order_by(tokens.c.app_id, tokens.c.kind, tokens.c.subject)
        if app_id is not None:
            query = query.where(tokens.c.app_id == app_id)
        if kind is not None:
            query = query.where(tokens.c.kind == kind)
        engine = self._engine().execution_options(sqlite_begin="DEFERRED")
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        found = []
        for row in rows:
            value = refresh = None
            try:
                value = self.box.decrypt(row.value_enc)
                if row.refresh_token_enc:
                    refresh = self.box.decrypt(row.refresh_token_enc)
            except errors.EncryptionKeyError:
                value = refresh = None
            found.append(
                StoredToken(
                    app_id=row.app_id,
                    fingerprint=row.secret_fingerprint,
                    kind=row.kind,
                    subject=row.subject,
                    expires_at=float(row.expires_at),
                    issued_at=float(row.updated_at),
                    value=value,
                    refresh_token=refresh,
                    refresh_expires_at=row.refresh_expires_at,
                )
            )
        return found

    def remove(self, app_id: str, kind: str | None = None, subject: str | None = None) -> int:
        """Delete the stored tokens of ``app_id`` (of one kind / subject); return how many."""
        from sqlalchemy import delete

        from ..storage.tables import tokens

        stmt = delete(tokens).where(tokens.c.app_id == app_id)
        if kind is not None:
            stmt = stmt.where(tokens.c.kind == kind)
        if subject is not None:
            stmt = stmt.where(tokens.c.subject == subject)
        with self._engine().begin() as conn:
            count = conn.execute(stmt).rowcount
        return int(count or 0)

    def rotate_key(self, box: SecretBox) -> tuple[int, int]:
        """Re-encrypt every token under ``box``'s first key, in one transaction.

        ``box`` must hold the new key first and the old ones after it. Rows no key opens are
        deleted (a token is cheap to fetch again). Returns (re-encrypted, deleted).
        """
        from sqlalchemy import delete, select, update

        from ..storage.tables import tokens

        rotated = dropped = 0
        with self._engine().begin() as conn:
            rows = conn.execute(
                select(tokens.c.id, tokens.c.value_enc, tokens.c.refresh_token_enc)
            ).all()
            for row in rows:
                try:
                    value_enc = box.rotate(row.value_enc)
                    refresh_enc = (
                        box.rotate(row.refresh_token_enc) if row.refresh_token_enc else None
                    )
                except errors.EncryptionKeyError:
                    conn.execute(delete(tokens).where(tokens.c.id == row.id))
                    dropped += 1
                    continue
                conn.execute(
                    update(tokens)
                    .where(tokens.c.id == row.id)
                    .values(value_enc=value_enc, refresh_token_enc=refresh_enc)
                )
                rotated += 1
        self.box = box
        return rotated, dropped

    # -- internals -------------------------------------------------------------------------

    def _engine(self) -> Engine:
        from ..storage.migrate import ensure_schema

        return ensure_schema(self.url, "state")

    def _warn_foreign_key(self, key: TokenKey) -> None:
        with _warn_guard:
            if self.url in _warned_foreign_key:
                return
            _warned_foreign_key.add(self.url)
        logger.error(
            "%r holds the %s token of %s encrypted with a different LARK_CONFIG_ENCRYPTION_KEY: "
            "another home or host shares this database with another key, so each side "
            "drops the other's token and fetches its own. Fix: give every process that uses this "
            "database the same key (copy LARK_CONFIG_ENCRYPTION_KEY from one home's .env into "
            "the others', or set it in their environment) and restart them. Calls keep working "
            "meanwhile.",
            self,
            key.kind,
            key.app_id,
            extra=_extra(key, reason="different encryption key"),
        )

    def _is_sqlite(self) -> bool:
        if self._sqlite is None:
            from ..storage.engine import is_sqlite

            self._sqlite = is_sqlite(self.url)
        return self._sqlite

    @staticmethod
    def _where(key: TokenKey) -> list[Any]:
        from ..storage.tables import tokens

        return [
            tokens.c.app_id == key.app_id,
            tokens.c.secret_fingerprint == key.fingerprint,
            tokens.c.kind == key.kind,
            tokens.c.subject == key.subject,
        ]

    def _record(self, key: TokenKey, row: Row[Any]) -> TokenRecord:
        value = self.box.decrypt(row.value_enc)
        if not value:
            raise ValueError("empty token value")
        refresh = self.box.decrypt(row.refresh_token_enc) if row.refresh_token_enc else None
        expires_at = float(row.expires_at)
        issued_at = float(row.updated_at)
        if not issued_at <= expires_at:
            raise ValueError("issued after it expires")
        refresh_expires = row.refresh_expires_at
        return TokenRecord(
            key=key,
            value=value,
            expires_at=expires_at,
            issued_at=issued_at,
            refresh_token=refresh,
            refresh_expires_at=float(refresh_expires) if refresh_expires is not None else None,
            scopes=tuple(row.scopes.split()) if getattr(row, "scopes", None) is not None else None,
        )

    def _delete_row(self, row_id: int, value_enc: str) -> None:
        from sqlalchemy import delete

        from ..storage.tables import tokens

        try:
            with self._engine().begin() as conn:
                conn.execute(
                    delete(tokens).where(tokens.c.id == row_id, tokens.c.value_enc == value_enc)
                )
        except Exception as exc:
            logger.error("could not delete an unreadable token row: %s", type(exc).__name__)

    def _file_lock(self, key: TokenKey, timeout: float) -> LockHandle:
        from filelock import FileLock, Timeout

        directory = self._lock_dir or self._default_lock_dir()
        _private_dir(directory)
        # thread_local=False: the async pool may release from another worker thread.
        lock = FileLock(
            directory / f"token-{_digest(key)}.lock",
            timeout=max(0.0, timeout),
            mode=0o600,
            thread_local=False,
        )
        try:
            lock.acquire()
        except Timeout:
            raise _lock_timeout(key, timeout) from None
        return _FileLockHandle(lock)

    def _default_lock_dir(self) -> Path:
        from ..storage.engine import sqlite_path

        path = sqlite_path(self.url)
        home = (self._home or Path.home() / ".lark-service").expanduser().resolve()
        if path is None:  # an in-memory database lives in this process only
            return home / "locks"
        parent = path.expanduser().resolve().parent
        if parent == home or home in parent.parents:
            return home / "locks"
        return parent / "locks"

    def _pg_lock(self, key: TokenKey, timeout: float) -> LockHandle:
        from sqlalchemy import func, select, text
        from sqlalchemy.exc import DBAPIError

        conn = self._engine().connect()
        try:
            millis = max(1, int(timeout * 1000))
            conn.execute(text(f"SET LOCAL lock_timeout = '{millis}ms'"))
            conn.execute(select(func.pg_advisory_xact_lock(_advisory_key(key))))
        except DBAPIError as exc:
            conn.rollback()
            conn.close()
            if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                raise _lock_timeout(key, timeout) from None
            raise
        except BaseException:
            conn.close()
            raise
        return _PgLockHandle(conn)


_UPDATABLE = (
    "value_enc",
    "expires_at",
    "refresh_token_enc",
    "refresh_expires_at",
    "updated_at",
    "scopes",
)


def _foreign(value_enc: str) -> bool:
    """A well-formed Fernet token no configured key opens: written with another key."""
    from ..storage.crypto import looks_like_fernet

    return looks_like_fernet(value_enc)


def _describe(exc: BaseException) -> str:
    """A short description of a database failure (the driver's first line, no SQL)."""
    orig = getattr(exc, "orig", None) or exc
    detail = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"{type(orig).__name__}: {detail}" if detail else type(orig).__name__


def _reset_warnings() -> None:
    """Say the once-per-process warnings again (``reset_process_state``)."""
    global _warned_memory_only
    with _warn_guard:
        _warned_memory_only = False
        _warned_foreign_key.clear()


def _after_fork_in_child() -> None:
    global _warn_guard
    _warn_guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _digest(key: TokenKey) -> str:
    text = "\x1f".join((key.app_id, key.fingerprint, key.kind, key.subject))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _advisory_key(key: TokenKey) -> int:
    """A signed 64-bit advisory lock key for ``key`` (namespaced by a fixed prefix)."""
    text = "lark-service/token\x1f" + "\x1f".join(
        (key.app_id, key.fingerprint, key.kind, key.subject)
    )
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big", signed=True)


def _lock_timeout(key: TokenKey, timeout: float) -> errors.LockTimeoutError:
    return errors.LockTimeoutError(
        f"the {key.kind} token lock of {key.app_id} was not acquired in {timeout:.0f} s",
        hint="Another process is fetching this token and has not finished; check the "
        "token endpoint's reachability and the processes holding the lock.",
    )


def _private_dir(directory: Path) -> None:
    if directory.is_dir():
        return
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)


def _extra(key: TokenKey, **fields: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {"lark_app_id": key.app_id, "lark_token_kind": key.kind}
    extra.update({f"lark_{name}": value for name, value in fields.items()})
    return extra

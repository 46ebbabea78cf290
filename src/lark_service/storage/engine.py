"""SQLAlchemy engines, one per database URL and process, set up for SQLite or PostgreSQL.

SQLite (the embedded default): the file is created with mode 0600 (its directory 0700)
before SQLAlchemy opens it, and every connection runs with ``journal_mode=WAL``,
``busy_timeout`` 30 s and ``foreign_keys=ON``. pysqlite's own transaction handling is
replaced by an explicit ``BEGIN IMMEDIATE`` for every transaction, so a read-then-write
transaction holds the single SQLite write lock from its start and waits (up to the busy
timeout) for other threads and processes instead of failing half way with "database is
locked". A connection that only reads may ask for a plain ``BEGIN`` with the execution
option ``sqlite_begin="DEFERRED"``.

PostgreSQL: ``postgresql://`` and ``postgres://`` URLs are rewritten to the psycopg 3 driver
(``postgresql+psycopg://``); connections are pre-pinged and time out after 5 s, so an
unreachable server fails fast.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import QueuePool, StaticPool

from ..errors import ConfigError
from ..logging import get_logger

__all__ = [
    "CONNECT_TIMEOUT",
    "SQLITE_BUSY_TIMEOUT",
    "dispose_all",
    "dispose_engine",
    "get_engine",
    "is_postgresql",
    "is_sqlite",
    "normalize_url",
    "sqlite_path",
]

SQLITE_BUSY_TIMEOUT = 30.0
"""Seconds a SQLite connection waits for a lock held by another connection."""

CONNECT_TIMEOUT = 5
"""Seconds a PostgreSQL connection attempt may take."""

_FILE_MODE = 0o600
_DIR_MODE = 0o700
_SQLITE_BEGIN = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})

_log = get_logger("lark_service.storage")
_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """``url`` with PostgreSQL pointed at psycopg 3; other URLs unchanged.

    Raises :class:`~lark_service.errors.ConfigError` for a malformed URL or a database other
    than SQLite and PostgreSQL.
    """
    parsed = _parse(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"unsupported database {backend!r} in {_safe(parsed)}",
            hint="Use a sqlite:///path/to/file.db or postgresql+psycopg://user@host/db URL.",
        )
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite database."""
    return _parse(url).get_backend_name() == "sqlite"


def is_postgresql(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database."""
    return _parse(url).get_backend_name() in ("postgresql", "postgres")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database or another backend."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url`` (created on first use; thread-safe).

    Raises :class:`~lark_service.errors.ConfigError` for an unsupported URL or a missing
    driver, and ``OSError`` when a SQLite file or its directory cannot be created.
    """
    key = normalize_url(url)
    engine = _engines.get(key)
    if engine is not None:
        return engine
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create(make_url(key))
            _engines[key] = engine
        return engine


def dispose_engine(url: str) -> None:
    """Close the pooled connections of ``url``'s engine and forget it (no-op if none)."""
    with _engines_lock:
        engine = _engines.pop(normalize_url(url), None)
    if engine is not None:
        engine.dispose()


def dispose_all() -> None:
    """Close every pooled connection and forget all engines (tests, shutdown)."""
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()


# --- creation ----------------------------------------------------------------------------


def _create(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        return _create_sqlite(url)
    return _create_postgresql(url)


def _create_sqlite(url: URL) -> Engine:
    path = sqlite_path(url.render_as_string(hide_password=False))
    if path is None:
        # One shared connection, so every thread sees the same in-memory database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        _prepare_sqlite_file(path)
        engine = create_engine(
            url,
            poolclass=QueuePool,
            pool_size=8,
            max_overflow=32,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT},
        )
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transactions away from pysqlite (which would BEGIN lazily and commit before
    # DDL): SQLAlchemy's "begin" event below emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT * 1000)}")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch the database to WAL (persistent: done once per file, skipped when it is already).

    The switch needs an exclusive lock, and SQLite may answer "database is locked" at once,
    without its busy handler, when several processes open a new file together (a connection
    checkpointing or opening the WAL index at that moment). So the switch runs with the busy
    handler off and is retried here, with backoff, for up to ``SQLITE_BUSY_TIMEOUT`` seconds.
    """
    import sqlite3

    row = cursor.execute("PRAGMA journal_mode").fetchone()
    if row is not None and str(row[0]).lower() == "wal":
        return
    budget = SQLITE_BUSY_TIMEOUT
    deadline = time.monotonic() + budget
    delay = 0.01
    cursor.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if ("locked" not in text and "busy" not in text) or time.monotonic() >= deadline:
                    raise
            _sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.5)
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT * 1000)}")


def _sleep(seconds: float) -> None:  # a seam for tests
    time.sleep(seconds)


def _on_sqlite_begin(conn: Connection) -> None:
    mode = str(conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")).upper()
    if mode not in _SQLITE_BEGIN:
        raise ValueError(f"sqlite_begin must be one of {sorted(_SQLITE_BEGIN)}, not {mode!r}")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _prepare_sqlite_file(path: Path) -> None:
    """Create ``path`` (0600) and its missing directories (0700); tighten existing files."""
    _make_private_dirs(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, _FILE_MODE)
    os.close(fd)
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if name.exists() and (name.stat().st_mode & 0o777) != _FILE_MODE:
                os.chmod(name, _FILE_MODE)
        except PermissionError:
            _log.warning("cannot restrict %s to mode 0600 (not its owner)", name)


def _make_private_dirs(directory: Path) -> None:
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=_DIR_MODE)
        except FileExistsError:  # another process made it first
            continue
        os.chmod(created, _DIR_MODE)  # mkdir's mode is reduced by the umask


def _create_postgresql(url: URL) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    if "application_name" not in url.query:
        connect_args["application_name"] = "lark-service"
    try:
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except ImportError as exc:
        raise ConfigError(
            f"the PostgreSQL driver is not installed ({exc.name or exc})",
            hint="pip install 'lark-service[postgres]' (psycopg 3).",
        ) from None


# --- helpers -----------------------------------------------------------------------------


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except Exception:  # the URL may hold a password: never echo it
        raise ConfigError(
            "malformed database URL",
            hint="Expected sqlite:///path/to/file.db or postgresql+psycopg://user@host/db.",
        ) from None


def _safe(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _after_fork_in_child() -> None:
    # Pooled connections belong to the parent; the child opens its own (SQLAlchemy's fork
    # guidance: dispose(close=False) leaves the parent's sockets alone). The guard may have
    # been held by another thread of the parent at fork time: a fresh one.
    global _engines_lock
    _engines_lock = threading.Lock()
    for engine in list(_engines.values()):
        engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

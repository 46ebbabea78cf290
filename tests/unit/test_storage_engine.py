"""Engines: SQLite file modes and pragmas, write-lock behaviour, URL handling, caching."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from lark_service.errors import ConfigError
from lark_service.storage import engine as engine_module
from lark_service.storage.engine import (
    dispose_all,
    dispose_engine,
    get_engine,
    is_postgresql,
    is_sqlite,
    normalize_url,
    sqlite_path,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A permissive umask, so modes come from the code and not from the environment."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'home' / 'state.db'}"
    yield url
    dispose_engine(url)


def test_sqlite_file_is_private_and_its_new_directories_too(
    tmp_path: Path, sqlite_url: str, loose_umask: None
) -> None:
    engine = get_engine(sqlite_url)
    db = tmp_path / "home" / "state.db"
    assert db.exists(), "the file must exist before SQLAlchemy opens it"
    assert _mode(db) == 0o600
    assert _mode(db.parent) == 0o700
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    for sidecar in (db.with_name("state.db-wal"), db.with_name("state.db-shm")):
        assert sidecar.exists()
        assert _mode(sidecar) == 0o600


def test_existing_sqlite_file_is_tightened_but_existing_directory_left_alone(
    tmp_path: Path, loose_umask: None
) -> None:
    tmp_path.chmod(0o755)
    db = tmp_path / "old.db"
    db.touch(mode=0o644)
    db.chmod(0o644)
    url = f"sqlite:///{db}"
    try:
        get_engine(url)
        assert _mode(db) == 0o600
        assert _mode(tmp_path) == 0o755
    finally:
        dispose_engine(url)


def test_sqlite_pragmas(sqlite_url: str) -> None:
    with get_engine(sqlite_url).connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_engine_is_cached_per_url_across_threads(sqlite_url: str, tmp_path: Path) -> None:
    seen: list[object] = []
    barrier = threading.Barrier(8)

    def grab() -> None:
        barrier.wait()
        seen.append(get_engine(sqlite_url))

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(e) for e in seen}) == 1
    other = f"sqlite:///{tmp_path / 'other.db'}"
    try:
        assert get_engine(other) is not seen[0]
    finally:
        dispose_engine(other)


def test_dispose_all_forgets_engines(sqlite_url: str) -> None:
    first = get_engine(sqlite_url)
    dispose_all()
    assert get_engine(sqlite_url) is not first


def test_read_then_write_transactions_from_many_threads_never_see_database_locked(
    sqlite_url: str,
) -> None:
    """Each transaction reads a counter and writes it back: no lost update, no lock error."""
    engine = get_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    errors: list[BaseException] = []
    threads_n, rounds = 8, 25
    barrier = threading.Barrier(threads_n)

    def work() -> None:
        barrier.wait()
        try:
            for _ in range(rounds):
                with engine.begin() as conn:
                    n = conn.execute(text("SELECT n FROM counter")).scalar_one()
                    time.sleep(0.0005)  # widen the read-to-write window
                    conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == threads_n * rounds


def test_transaction_rollback_undoes_ddl_and_dml(sqlite_url: str) -> None:
    engine = get_engine(sqlite_url)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("boom")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name FROM sqlite_master WHERE name = 't'")).all()
    assert rows == []


def test_deferred_begin_is_available_for_readers(sqlite_url: str) -> None:
    engine = get_engine(sqlite_url)
    with engine.execution_options(sqlite_begin="DEFERRED").connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    with pytest.raises(ValueError, match="sqlite_begin"):
        with engine.execution_options(sqlite_begin="LATER").connect() as conn:
            conn.execute(text("SELECT 1"))


def test_in_memory_sqlite_is_one_database_for_all_threads() -> None:
    url = "sqlite://"
    try:
        engine = get_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        result: list[int] = []

        def count() -> None:
            with engine.connect() as conn:
                result.append(conn.execute(text("SELECT count(*) FROM t")).scalar_one())

        thread = threading.Thread(target=count)
        thread.start()
        thread.join()
        assert result == [0]
    finally:
        dispose_engine(url)


def test_url_helpers() -> None:
    assert normalize_url("postgresql://u:pw@db/lark") == "postgresql+psycopg://u:pw@db/lark"
    assert normalize_url("postgres://u@db/lark") == "postgresql+psycopg://u@db/lark"
    assert normalize_url("postgresql+psycopg://u@db/lark") == "postgresql+psycopg://u@db/lark"
    assert normalize_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert is_sqlite("sqlite:///x.db") and not is_sqlite("postgresql://db/x")
    assert is_postgresql("postgresql://db/x") and not is_postgresql("sqlite://")
    assert sqlite_path("sqlite:////tmp/x.db") == Path("/tmp/x.db")
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("postgresql://db/x") is None


def test_postgresql_urls_use_psycopg_without_connecting() -> None:
    url = "postgresql://lark@127.0.0.1:1/nowhere"
    try:
        engine = get_engine(url)
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.pool._pre_ping  # type: ignore[attr-defined]
    finally:
        dispose_engine(url)


def test_unsupported_and_malformed_urls_are_config_errors_without_the_password() -> None:
    with pytest.raises(ConfigError, match="unsupported database 'mysql'") as info:
        get_engine("mysql://root:hunter2@db/lark")
    assert "hunter2" not in str(info.value)
    with pytest.raises(ConfigError, match="malformed") as info:
        get_engine("not a url hunter2")
    assert "hunter2" not in str(info.value)


@pytest.mark.slow
def test_unresponsive_postgresql_fails_within_the_connect_timeout() -> None:
    """A server that accepts TCP but never speaks must not hang the caller."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    url = f"postgresql+psycopg://lark@127.0.0.1:{port}/lark"
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError), get_engine(url).connect():
            pass
    finally:
        dispose_engine(url)
        listener.close()
    elapsed = time.monotonic() - started
    assert engine_module.CONNECT_TIMEOUT - 1 <= elapsed < engine_module.CONNECT_TIMEOUT + 5


def test_a_new_file_locked_by_another_connection_still_switches_to_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10.22: "database is locked" at ``PRAGMA journal_mode = WAL`` when several
    processes open a new SQLite file together. The switch is retried, not fatal."""
    import sqlite3

    path = tmp_path / "new.db"
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("CREATE TABLE t (x)")
    blocker.execute("BEGIN")
    blocker.execute("SELECT * FROM t").fetchall()  # a shared lock: no WAL switch possible
    retries: list[float] = []

    def release_on_retry(seconds: float) -> None:
        retries.append(seconds)
        if blocker.in_transaction:
            blocker.execute("COMMIT")

    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT", 0.2)
    monkeypatch.setattr(engine_module, "_sleep", release_on_retry, raising=False)
    url = f"sqlite:///{path}"
    try:
        with get_engine(url).connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert retries, "the switch was retried after 'database is locked'"
    finally:
        blocker.close()
        dispose_engine(url)


def test_a_file_already_in_wal_is_not_switched_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT", 0.2)
    path = tmp_path / "wal.db"
    first = sqlite3.connect(path, isolation_level=None)
    first.execute("PRAGMA journal_mode = WAL")
    first.execute("CREATE TABLE t (x)")
    first.execute("BEGIN IMMEDIATE")  # a writer holds the lock; reading the mode needs none
    url = f"sqlite:///{path}"
    try:
        reader = get_engine(url).execution_options(sqlite_begin="DEFERRED")
        with reader.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        first.execute("ROLLBACK")
        first.close()
        dispose_engine(url)

"""Migrations on SQLite: both schemas to head, matching tables.py, idempotent, concurrent."""

from __future__ import annotations

import logging
import multiprocessing
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from filelock import FileLock
from sqlalchemy import Engine, MetaData, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from lark_service.storage import migrate
from lark_service.storage.engine import dispose_all, dispose_engine
from lark_service.storage.migrate import current, ensure_schema, head_revision, upgrade
from lark_service.storage.tables import (
    applications,
    config_metadata,
    state_metadata,
    tokens,
    user_cache,
)

CONFIG_TABLES = {"applications", "application_audit"}
STATE_TABLES = {
    "gateway_idempotency",
    "tokens",
    "user_cache",
    "user_cache_negative",
    "auth_sessions",
    "callback_outbox",
    "processed_events",
    "api_keys",
}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'lark.db'}"
    yield url
    dispose_engine(url)


def schema_diff(engine: Engine, metadata: MetaData) -> list[Any]:
    """What alembic autogenerate would change to make the database match ``metadata``."""

    def ours(name: str | None, type_: str, parent: Any) -> bool:
        return type_ != "table" or name in metadata.tables

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": ours}
        )
        return list(compare_metadata(context, metadata))


def test_both_schemas_migrate_to_head_and_match_the_tables(sqlite_url: str) -> None:
    assert current(sqlite_url, "config") is None
    ensure_schema(sqlite_url, "config")
    engine = ensure_schema(sqlite_url, "state")
    assert current(sqlite_url, "config") == head_revision("config") == "config_0001"
    assert current(sqlite_url, "state") == head_revision("state") == "state_0004"
    names = set(inspect(engine).get_table_names())
    assert names >= CONFIG_TABLES | STATE_TABLES
    assert {"lark_config_alembic_version", "lark_state_alembic_version"} <= names
    assert schema_diff(engine, config_metadata) == []
    assert schema_diff(engine, state_metadata) == []


def test_config_and_state_each_create_only_their_tables(tmp_path: Path) -> None:
    config_url = f"sqlite:///{tmp_path / 'config.db'}"
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    try:
        config_tables = set(inspect(ensure_schema(config_url, "config")).get_table_names())
        state_tables = set(inspect(ensure_schema(state_url, "state")).get_table_names())
    finally:
        dispose_engine(config_url)
        dispose_engine(state_url)
    assert config_tables == CONFIG_TABLES | {"lark_config_alembic_version"}
    assert state_tables == STATE_TABLES | {"lark_state_alembic_version"}


def test_ensure_schema_is_idempotent_and_keeps_data(sqlite_url: str) -> None:
    engine = ensure_schema(sqlite_url, "config")
    with engine.begin() as conn:
        conn.execute(
            insert(applications).values(
                app_id="cli_a1", app_secret_enc="x", created_at=1.0, updated_at=1.0
            )
        )
    dispose_all()  # a new process, as far as the schema cache knows
    for _ in range(3):
        engine = ensure_schema(sqlite_url, "config")
        upgrade(sqlite_url, "config")
    with engine.connect() as conn:
        row = conn.execute(select(applications)).one()
    assert (row.app_id, row.status, row.domain) == ("cli_a1", "active", "https://open.feishu.cn")
    assert current(sqlite_url, "config") == head_revision("config")


def test_ensure_schema_at_head_does_not_wait_for_the_migration_lock(sqlite_url: str) -> None:
    ensure_schema(sqlite_url, "state")
    dispose_all()  # forget that this process saw it at head
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    done = threading.Event()
    with FileLock(path.with_name(f"{path.name}.state-migrate.lock")):
        thread = threading.Thread(target=lambda: (ensure_schema(sqlite_url, "state"), done.set()))
        thread.start()
        assert done.wait(10), "ensure_schema waited for the lock although the schema is at head"
    thread.join()


def test_newer_database_is_used_with_a_warning(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = ensure_schema(sqlite_url, "state")
    with engine.begin() as conn:
        conn.execute(text("UPDATE lark_state_alembic_version SET version_num = 'state_9999'"))
    dispose_all()
    with caplog.at_level(logging.WARNING, logger="lark_service.storage"):
        ensure_schema(sqlite_url, "state")
    assert "newer than this lark-service knows" in caplog.text
    assert current(sqlite_url, "state") == "state_9999"


def test_tokens_key_is_unique_and_includes_the_secret_fingerprint(sqlite_url: str) -> None:
    engine = ensure_schema(sqlite_url, "state")
    row = {
        "app_id": "cli_a1",
        "secret_fingerprint": "0123456789abcdef",
        "kind": "tenant",
        "subject": "",
        "value_enc": "v" * 8192,  # values hold several KB
        "expires_at": time.time() + 7200,
        "updated_at": time.time(),
    }
    with engine.begin() as conn:
        conn.execute(insert(tokens).values(row))
        conn.execute(insert(tokens).values({**row, "secret_fingerprint": "fedcba9876543210"}))
        conn.execute(insert(tokens).values({**row, "kind": "user", "subject": "ou_1"}))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(tokens).values(row))
    with engine.connect() as conn:
        values = conn.execute(select(tokens.c.value_enc)).scalars().all()
    assert len(values) == 3 and all(len(v) == 8192 for v in values)


def test_check_constraints_guard_enumerations(sqlite_url: str) -> None:
    engine = ensure_schema(sqlite_url, "state")
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(tokens).values(
                app_id="a", kind="bogus", value_enc="v", expires_at=1.0, updated_at=1.0
            )
        )


def test_json_columns_round_trip(sqlite_url: str) -> None:
    engine = ensure_schema(sqlite_url, "state")
    with engine.begin() as conn:
        conn.execute(
            insert(user_cache).values(
                app_id="cli_a1",
                open_id="ou_1",
                email="alice@example.com",
                department_ids=["od_1", "od_2"],
                status={"is_activated": True},
                raw={"name": "爱丽丝"},
                cached_at=1.0,
                expires_at=2.0,
            )
        )
    with engine.connect() as conn:
        row = conn.execute(select(user_cache)).one()
    assert row.department_ids == ["od_1", "od_2"]
    assert row.status == {"is_activated": True}
    assert row.raw == {"name": "爱丽丝"}


def _migrate_in_child(url: str, barrier: Any) -> None:
    barrier.wait(60)
    ensure_schema(url, "state")
    ensure_schema(url, "config")
    dispose_all()


@pytest.mark.slow
def test_concurrent_ensure_schema_from_several_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared' / 'lark.db'}"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    children = [ctx.Process(target=_migrate_in_child, args=(url, barrier)) for _ in range(4)]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
    assert [child.exitcode for child in children] == [0, 0, 0, 0]
    try:
        assert current(url, "state") == head_revision("state")
        assert current(url, "config") == head_revision("config")
    finally:
        dispose_engine(url)


def test_unknown_database_name_is_rejected(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="'config' or 'state'"):
        ensure_schema(sqlite_url, "tokens")  # type: ignore[arg-type]


def test_migration_files_ship_inside_the_package() -> None:
    root = Path(migrate.__file__).parent / "migrations"
    for which in ("config", "state"):
        assert (root / which / "env.py").is_file()
        assert (root / which / "script.py.mako").is_file()
        assert list((root / which / "versions").glob(f"{which}_0001_*.py"))


def test_importing_storage_and_crypto_stays_light() -> None:
    """The package and crypto load without SQLAlchemy; engines load without Alembic."""
    code = (
        "import sys\n"
        "import lark_service.storage, lark_service.storage.crypto\n"
        "assert 'sqlalchemy' not in sys.modules, 'crypto imported sqlalchemy'\n"
        "import lark_service.storage.engine, lark_service.storage.tables\n"
        "assert 'alembic' not in sys.modules, 'engine/tables imported alembic'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

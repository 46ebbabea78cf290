"""Storage on a real PostgreSQL server, each test in its own throwaway schema."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from lark_service.storage.engine import dispose_all, dispose_engine, get_engine
from lark_service.storage.migrate import current, ensure_schema, head_revision, upgrade
from lark_service.storage.tables import (
    api_keys,
    callback_outbox,
    config_metadata,
    state_metadata,
    tokens,
    user_cache,
)

pytestmark = pytest.mark.postgres


def schema_diff(engine: Engine, metadata: MetaData) -> list[Any]:
    def ours(name: str | None, type_: str, parent: Any) -> bool:
        return type_ != "table" or name in metadata.tables

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "compare_server_default": True, "include_name": ours},
        )
        return list(compare_metadata(context, metadata))


def test_both_schemas_migrate_to_head_in_one_database(postgres_schema_url: str) -> None:
    url = postgres_schema_url
    assert current(url, "state") is None
    ensure_schema(url, "config")
    engine = ensure_schema(url, "state")
    assert current(url, "config") == head_revision("config")
    assert current(url, "state") == head_revision("state")
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    assert schema.startswith("lt_")
    names = set(inspect(engine).get_table_names(schema=schema))
    assert set(config_metadata.tables) | set(state_metadata.tables) <= names
    assert schema_diff(engine, config_metadata) == []
    assert schema_diff(engine, state_metadata) == []
    upgrade(url, "state")  # again: nothing to do
    assert current(url, "state") == head_revision("state")


def _migrate_in_child(url: str, barrier: Any) -> None:
    barrier.wait(60)
    ensure_schema(url, "state")
    ensure_schema(url, "config")
    dispose_all()


@pytest.mark.slow
def test_concurrent_migration_from_three_processes(postgres_schema_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    children = [
        ctx.Process(target=_migrate_in_child, args=(postgres_schema_url, barrier)) for _ in range(3)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
    assert [child.exitcode for child in children] == [0, 0, 0]
    assert current(postgres_schema_url, "state") == head_revision("state")
    assert current(postgres_schema_url, "config") == head_revision("config")


def test_tokens_unique_key_and_large_values(postgres_schema_url: str) -> None:
    engine = ensure_schema(postgres_schema_url, "state")
    row = {
        "app_id": "cli_a1",
        "secret_fingerprint": "0123456789abcdef",
        "kind": "tenant",
        "subject": "",
        "value_enc": "v" * 16384,
        "expires_at": time.time() + 7200,
        "updated_at": time.time(),
    }
    with engine.begin() as conn:
        conn.execute(insert(tokens).values(row))
        conn.execute(insert(tokens).values({**row, "secret_fingerprint": "fedcba9876543210"}))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(tokens).values(row))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(tokens).values({**row, "subject": "x", "kind": "bogus"}))
    with engine.connect() as conn:
        values = conn.execute(select(tokens.c.value_enc)).scalars().all()
    assert sorted(len(v) for v in values) == [16384, 16384]


def test_json_and_autoincrement_columns(postgres_schema_url: str) -> None:
    engine = ensure_schema(postgres_schema_url, "state")
    now = time.time()
    with engine.begin() as conn:
        conn.execute(
            insert(user_cache).values(
                app_id="cli_a1",
                open_id="ou_1",
                department_ids=["od_1"],
                raw={"name": "爱丽丝"},
                cached_at=now,
                expires_at=now + 86400,
            )
        )
        ids = [
            conn.execute(
                insert(callback_outbox)
                .values(
                    app_id="cli_a1",
                    kind="event",
                    payload="{}",
                    available_at=now,
                    created_at=now,
                    updated_at=now,
                )
                .returning(callback_outbox.c.id)
            ).scalar_one()
            for _ in range(2)
        ]
        conn.execute(
            insert(api_keys).values(name="k", key_hash="h", app_ids=["cli_a1"], created_at=now)
        )
    assert ids[1] > ids[0]
    with engine.connect() as conn:
        cached = conn.execute(select(user_cache)).one()
        outbox = conn.execute(select(callback_outbox).where(callback_outbox.c.id == ids[0])).one()
    assert cached.department_ids == ["od_1"] and cached.raw == {"name": "爱丽丝"}
    assert cached.expires_at == pytest.approx(now + 86400, abs=1e-3)
    assert (outbox.status, outbox.attempts) == ("pending", 0)


def test_plain_postgresql_url_is_accepted(postgres_schema_url: str) -> None:
    plain = postgres_schema_url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        engine = get_engine(plain)
        assert engine.url.drivername == "postgresql+psycopg"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        dispose_engine(plain)

"""The token store and app registry on a real PostgreSQL server (one throwaway schema each)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from lark_service import LarkClient, errors
from lark_service._app import secret_fingerprint
from lark_service.apps import AppRegistry
from lark_service.config import Settings
from lark_service.credentials import SqlTokenStore, TokenKey, TokenRecord
from lark_service.storage import dispose_all, get_engine, tokens
from lark_service.storage.crypto import SecretBox, generate_key
from lark_service.testing import Emulator

pytestmark = pytest.mark.postgres

APP, SECRET, CHAT = "cli_pg", "postgres-secret-000001", "oc_pg"
KEY = TokenKey(APP, secret_fingerprint(SECRET), "tenant")
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/test"


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    dispose_all()


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
def store(postgres_schema_url: str, key: str) -> SqlTokenStore:
    return SqlTokenStore(postgres_schema_url, SecretBox(key))


def record(value: str, key: TokenKey = KEY) -> TokenRecord:
    now = time.time()
    return TokenRecord(key=key, value=value, expires_at=now + 7200, issued_at=now)


def test_round_trip_encrypted_and_keyed_by_fingerprint(store: SqlTokenStore) -> None:
    big = "t-g" + "JWTpart." * 1200  # ~10 KB
    store.save(record(big))
    loaded = store.load(KEY)
    assert loaded is not None and loaded.value == big
    assert loaded.lifetime == pytest.approx(7200)
    assert store.load(TokenKey(APP, "another-fp", "tenant")) is None
    with get_engine(store.url).connect() as conn:
        (value_enc,) = conn.execute(select(tokens.c.value_enc)).one()
    assert big not in value_enc and value_enc.startswith("gAAAA")
    store.save(record("t-replacement-token-0001"))
    assert [r.value for r in store.records()] == ["t-replacement-token-0001"]


def test_advisory_lock_excludes_other_connections_and_times_out(
    store: SqlTokenStore, postgres_schema_url: str, key: str
) -> None:
    other_host = SqlTokenStore(postgres_schema_url, SecretBox(key))
    held = store.lock(KEY, 5)
    started = time.perf_counter()
    with pytest.raises(errors.LockTimeoutError, match=APP):
        other_host.lock(KEY, 0.3)
    assert 0.2 < time.perf_counter() - started < 5
    other_host.lock(TokenKey(APP, KEY.fingerprint, "app"), 0.3).release()  # other keys free
    held.release()
    other_host.lock(KEY, 0.3).release()


def test_corrupt_row_is_deleted(store: SqlTokenStore, caplog: pytest.LogCaptureFixture) -> None:
    store.save(record("t-soon-to-be-corrupted01"))
    with get_engine(store.url).begin() as conn:
        conn.execute(update(tokens).values(value_enc="gAAAAA-garbage"))
    with caplog.at_level(logging.ERROR, "lark_service"):
        assert store.load(KEY) is None
    assert "unreadable" in caplog.text
    assert store.records() == []


def test_rotation_on_postgresql(postgres_schema_url: str, key: str) -> None:
    registry = AppRegistry(postgres_schema_url, SecretBox(key))
    registry.add_app(APP, SECRET, encrypt_key="ek-pg")
    store = SqlTokenStore(postgres_schema_url, SecretBox(key))
    store.save(record("t-rotated-token-value-01"))
    new = generate_key()
    both = SecretBox([new, key])
    assert registry.rotate_key(both) == 1
    assert store.rotate_key(both) == (1, 0)
    assert AppRegistry(postgres_schema_url, SecretBox(new)).get_app(APP).app_secret == SECRET  # type: ignore[union-attr]
    assert SqlTokenStore(postgres_schema_url, SecretBox(new)).load(KEY).value == (  # type: ignore[union-attr]
        "t-rotated-token-value-01"
    )


def test_registry_on_postgresql_with_audit_and_live_changes(
    postgres_schema_url: str, key: str
) -> None:
    writer = AppRegistry(postgres_schema_url, SecretBox(key), actor="ops")
    reader = AppRegistry(postgres_schema_url, SecretBox(key), max_age=0.0)
    writer.add_app(APP, SECRET, name="PG app", domain="lark")
    assert reader.get_app(APP).base_url == "https://open.larksuite.com"  # type: ignore[union-attr]
    writer.disable_app(APP)
    assert reader.get_app(APP).status == "disabled"  # type: ignore[union-attr]
    assert [(e.action, e.actor) for e in writer.audit(APP)] == [("disable", "ops"), ("add", "ops")]
    with pytest.raises(errors.ValidationError, match="already registered"):
        writer.add_app(APP, SECRET)


def test_unreachable_postgresql_keeps_calls_working_and_logs_an_error(
    lark_emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lark_emulator.add_app(APP, SECRET)
    lark_emulator.add_chat(CHAT, "PG down")
    settings = Settings(
        home=tmp_path, config_encryption_key=generate_key(), database_url=UNREACHABLE
    )
    with caplog.at_level(logging.ERROR, "lark_service"):
        with LarkClient(APP, SECRET, base_url=lark_emulator.url, settings=settings) as client:
            for n in range(3):
                client.messaging.send_text_message(CHAT, f"still working {n}")
    assert len(lark_emulator.messages()) == 3
    assert lark_emulator.token_fetches(APP) == 1
    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged and all(r.lark_app_id == APP for r in logged)  # type: ignore[attr-defined]
    assert any("token store" in r.getMessage() for r in logged)

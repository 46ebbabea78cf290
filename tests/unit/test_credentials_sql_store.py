"""SqlTokenStore on SQLite: encrypted rows, fingerprint keys, corrupt rows, file locks, modes."""

from __future__ import annotations

import logging
import stat
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from lark_service import errors
from lark_service.config import Settings
from lark_service.credentials import (
    CredentialPool,
    MemoryTokenStore,
    SqlTokenStore,
    TokenKey,
    TokenRecord,
    open_token_store,
)
from lark_service.credentials.locks import shared_memory_store
from lark_service.storage import dispose_all, get_engine, tokens
from lark_service.storage.crypto import SecretBox, generate_key

KEY = TokenKey("cli_store", "fp-right", "tenant")
JWT_SIZED = "t-g" + "A1b2C3d4" * 1000  # ~8 KB, like a JWT tenant token


@pytest.fixture(autouse=True)
def _dispose_engines() -> object:
    yield
    dispose_all()


@pytest.fixture
def old_key() -> str:
    return generate_key()


@pytest.fixture
def box(old_key: str) -> SecretBox:
    return SecretBox(old_key)


@pytest.fixture
def store(tmp_path: Path, box: SecretBox) -> SqlTokenStore:
    return SqlTokenStore(f"sqlite:///{tmp_path / 'home' / 'state.db'}", box, home=tmp_path / "home")


def record(
    value: str = "t-g1value000000000000001", key: TokenKey = KEY, **kw: float
) -> TokenRecord:
    now = time.time()
    return TokenRecord(
        key=key, value=value, expires_at=kw.get("expires_at", now + 7200), issued_at=now
    )


def db_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.glob("state.db*") if p.is_file())


def test_round_trip_keeps_value_expiry_and_lifetime(store: SqlTokenStore) -> None:
    saved = record(JWT_SIZED)
    store.save(saved)
    loaded = store.load(KEY)
    assert loaded is not None
    assert loaded.value == JWT_SIZED
    assert loaded.expires_at == pytest.approx(saved.expires_at)
    assert loaded.lifetime == pytest.approx(7200)


def test_save_replaces_the_row_of_the_same_key(store: SqlTokenStore) -> None:
    store.save(record("t-first-token-value-0001"))
    store.save(record("t-second-token-value-002"))
    assert store.load(KEY).value == "t-second-token-value-002"  # type: ignore[union-attr]
    assert len(store.records()) == 1


def test_another_secret_fingerprint_is_a_different_token(store: SqlTokenStore) -> None:
    store.save(record())
    assert store.load(TokenKey("cli_store", "fp-wrong", "tenant")) is None
    assert store.load(TokenKey("cli_store", "fp-right", "app")) is None


def test_values_are_encrypted_in_the_database_file(store: SqlTokenStore, tmp_path: Path) -> None:
    store.save(record("t-g1plaintextneverondisk99"))
    dispose_all()  # flush the WAL into the file
    raw = db_bytes(tmp_path / "home")
    assert raw and b"t-g1plaintextneverondisk99" not in raw
    with get_engine(store.url).connect() as conn:
        (value_enc,) = conn.execute(select(tokens.c.value_enc)).one()
    assert value_enc.startswith("gAAAA")  # a Fernet token


def test_state_file_lock_dir_and_lock_files_are_private(
    store: SqlTokenStore, tmp_path: Path
) -> None:
    store.save(record())
    store.lock(KEY, 1).release()
    home = tmp_path / "home"
    assert stat.S_IMODE((home / "state.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "locks").stat().st_mode) == 0o700
    (lock_file,) = (home / "locks").iterdir()
    assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600


def test_a_row_that_does_not_decrypt_is_deleted_and_reported_as_a_miss(
    store: SqlTokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.save(record())
    with get_engine(store.url).begin() as conn:
        conn.execute(update(tokens).values(value_enc="gAAAAAcorrupted-not-fernet"))
    with caplog.at_level(logging.ERROR, "lark_service"):
        assert store.load(KEY) is None
    assert "unreadable" in caplog.text and "cli_store" in caplog.text
    assert store.records() == []


def test_a_row_written_under_another_key_is_dropped(tmp_path: Path, box: SecretBox) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    SqlTokenStore(url, SecretBox(generate_key())).save(record())
    assert SqlTokenStore(url, box).load(KEY) is None
    assert SqlTokenStore(url, box).records() == []


def test_a_row_that_does_not_parse_is_deleted(store: SqlTokenStore) -> None:
    store.save(record())
    with get_engine(store.url).begin() as conn:
        conn.execute(update(tokens).values(value_enc=store.box.encrypt("")))
    assert store.load(KEY) is None
    assert store.records() == []


def test_delete_with_a_value_only_removes_that_token(store: SqlTokenStore) -> None:
    store.save(record("t-current-token-value-01"))
    store.delete(KEY, "t-some-older-token-value")
    assert store.load(KEY) is not None
    store.delete(KEY, "t-current-token-value-01")
    assert store.load(KEY) is None


def test_file_lock_excludes_a_second_holder_and_times_out(store: SqlTokenStore) -> None:
    held = store.lock(KEY, 1)
    started = time.perf_counter()
    with pytest.raises(errors.LockTimeoutError) as info:
        store.lock(KEY, 0.2)
    assert time.perf_counter() - started < 5
    assert "cli_store" in str(info.value)
    store.lock(TokenKey("cli_store", "fp-right", "app"), 0.2).release()  # other keys are free
    held.release()
    store.lock(KEY, 0.2).release()


def test_lock_can_be_released_from_another_thread(store: SqlTokenStore) -> None:
    handle = store.lock(KEY, 1)
    releaser = threading.Thread(target=handle.release)
    releaser.start()
    releaser.join()
    store.lock(KEY, 0.2).release()


def test_records_remove_and_rotate(store: SqlTokenStore, old_key: str) -> None:
    store.save(record("t-tenant-token-value-001"))
    store.save(record("t-app-token-value-000001", TokenKey("cli_store", "fp-right", "app")))
    store.save(record("t-other-app-token-00001", TokenKey("cli_other", "fp-x", "tenant")))
    assert [(r.app_id, r.kind) for r in store.records()] == [
        ("cli_other", "tenant"),
        ("cli_store", "app"),
        ("cli_store", "tenant"),
    ]
    assert store.remove("cli_store", "app") == 1
    new_key = generate_key()
    rotated, dropped = store.rotate_key(SecretBox([new_key, old_key]))
    assert (rotated, dropped) == (2, 0)
    only_new = SqlTokenStore(store.url, SecretBox(new_key))
    assert only_new.load(KEY).value == "t-tenant-token-value-001"  # type: ignore[union-attr]


def test_open_token_store_uses_the_state_database_when_a_key_is_configured(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path, config_encryption_key=generate_key())
    store = open_token_store(settings)
    assert isinstance(store, SqlTokenStore)
    assert store.url == settings.resolved_database_url
    assert not (tmp_path / "state.db").exists()  # nothing opened until the first token


def test_without_a_key_tokens_stay_in_memory(tmp_path: Path) -> None:
    store = open_token_store(Settings(home=tmp_path), create_home=False)
    assert isinstance(store, MemoryTokenStore)
    assert store is shared_memory_store()


def test_malformed_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(errors.EncryptionKeyError) as info:
        open_token_store(Settings(home=tmp_path, config_encryption_key="not-a-key"))
    assert "not-a-key" not in str(info.value)


def test_unwritable_store_location_still_serves_tokens_from_memory(
    tmp_path: Path, box: SecretBox, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    store = SqlTokenStore(f"sqlite:///{blocker / 'state.db'}", box, lock_dir=tmp_path / "locks")
    pool = CredentialPool(store)
    calls: list[TokenKey] = []

    def fetch(key: TokenKey) -> TokenRecord:
        calls.append(key)
        return record("t-from-memory-only-0001")

    with caplog.at_level(logging.ERROR, "lark_service"):
        assert pool.get_token(KEY, fetch) == "t-from-memory-only-0001"
        assert pool.get_token(KEY, fetch) == "t-from-memory-only-0001"
    assert len(calls) == 1
    assert "token store" in caplog.text

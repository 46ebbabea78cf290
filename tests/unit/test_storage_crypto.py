"""SecretBox: round trips, key rotation, wrong keys, and messages that never leak secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import insert, select

from lark_service.config import Settings
from lark_service.errors import EncryptionKeyError
from lark_service.storage import reencrypt
from lark_service.storage.crypto import SecretBox, fingerprint, generate_key
from lark_service.storage.engine import dispose_engine, get_engine
from lark_service.storage.migrate import ensure_schema
from lark_service.storage.tables import applications, tokens

SECRET = "app-secret-Zz9!深圳"


def _settings(key: SecretStr | None) -> Settings:
    """Settings with only this key, whatever the environment and .env files hold."""
    return Settings.model_construct(config_encryption_key=key)


def _text_of(error: EncryptionKeyError) -> str:
    return f"{error} {error!r} {error.msg} {error.hint}"


def test_round_trip_and_fresh_ciphertext_each_time() -> None:
    box = SecretBox(generate_key())
    first, second = box.encrypt(SECRET), box.encrypt(SECRET)
    assert first != second
    assert SECRET not in first
    assert box.decrypt(first) == box.decrypt(second) == SECRET
    assert box.decrypt(box.encrypt("")) == ""


def test_rotation_with_two_keys() -> None:
    old, new = generate_key(), generate_key()
    stored = SecretBox(old).encrypt(SECRET)
    rotating = SecretBox(f"{new}, {old}")  # new key first; spaces are tolerated
    assert rotating.decrypt(stored) == SECRET
    rotated = rotating.rotate(stored)
    assert SecretBox(new).decrypt(rotated) == SECRET
    with pytest.raises(EncryptionKeyError):
        SecretBox(old).decrypt(rotated)
    with pytest.raises(EncryptionKeyError):  # the first key encrypts
        SecretBox(old).decrypt(rotating.encrypt(SECRET))


def test_sequence_of_keys_is_accepted() -> None:
    old, new = generate_key(), generate_key()
    assert SecretBox([new, old]).decrypt(SecretBox(old).encrypt(SECRET)) == SECRET


def test_wrong_key_raises_without_the_secret_or_keys() -> None:
    right, wrong = generate_key(), generate_key()
    stored = SecretBox(right).encrypt(SECRET)
    with pytest.raises(EncryptionKeyError) as info:
        SecretBox(wrong).decrypt(stored)
    text = _text_of(info.value)
    assert "could not be decrypted" in text
    for leaked in (SECRET, right, wrong, stored):
        assert leaked not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(EncryptionKeyError):
        SecretBox(wrong).rotate(stored)


@pytest.mark.parametrize("token", ["", "not-a-token", "gAAAAA" + "x" * 80, "ünïcode"])
def test_corrupt_tokens_raise_encryption_key_error(token: str) -> None:
    with pytest.raises(EncryptionKeyError):
        SecretBox(generate_key()).decrypt(token)


def test_malformed_key_names_its_position_not_its_value() -> None:
    good = generate_key()
    with pytest.raises(EncryptionKeyError, match=r"key #2 of 2") as info:
        SecretBox(f"{good},not-a-fernet-key")
    text = _text_of(info.value)
    assert "not-a-fernet-key" not in text and good not in text
    with pytest.raises(EncryptionKeyError, match="holds no key"):
        SecretBox(" , ")


def test_from_settings() -> None:
    key = generate_key()
    box = SecretBox.from_settings(_settings(SecretStr(key)))
    assert SecretBox(key).decrypt(box.encrypt(SECRET)) == SECRET


@pytest.mark.parametrize("value", [None, "", "   "])
def test_from_settings_without_a_key_says_how_to_make_one(value: str | None) -> None:
    settings = _settings(None if value is None else SecretStr(value))
    with pytest.raises(EncryptionKeyError, match="LARK_CONFIG_ENCRYPTION_KEY is not set") as info:
        SecretBox.from_settings(settings)
    assert "lark-service init" in (info.value.hint or "")


def test_from_settings_with_a_malformed_key() -> None:
    settings = _settings(SecretStr("hunter2"))
    with pytest.raises(EncryptionKeyError) as info:
        SecretBox.from_settings(settings)
    assert "hunter2" not in _text_of(info.value)
    assert "lark-service init" in (info.value.hint or "")


def test_repr_hides_keys() -> None:
    key = generate_key()
    assert key not in repr(SecretBox(f"{key},{generate_key()}"))
    assert repr(SecretBox(key)) == "SecretBox(keys=1)"


def test_fingerprint() -> None:
    value = fingerprint(SECRET)
    assert re.fullmatch(r"[0-9a-f]{16}", value)
    assert fingerprint(SECRET) == value
    assert fingerprint(SECRET + "x") != value
    assert SECRET not in value


def test_reencrypt_rewrites_every_encrypted_column_under_the_new_key(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    config_url = f"sqlite:///{tmp_path / 'config.db'}"
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    before = SecretBox(old)
    try:
        with ensure_schema(config_url, "config").begin() as conn:
            conn.execute(
                insert(applications).values(
                    app_id="cli_a1",
                    app_secret_enc=before.encrypt(SECRET),
                    encrypt_key_enc=before.encrypt("encrypt-key"),
                    verification_token_enc=None,
                    created_at=1.0,
                    updated_at=1.0,
                )
            )
        with ensure_schema(state_url, "state").begin() as conn:
            conn.execute(
                insert(tokens).values(
                    app_id="cli_a1",
                    kind="user",
                    subject="ou_1",
                    value_enc=before.encrypt("u-token"),
                    refresh_token_enc=before.encrypt("ur-token"),
                    expires_at=1.0,
                    updated_at=1.0,
                )
            )
        both = SecretBox(f"{new},{old}")
        assert reencrypt(config_url, "config", both) == 2
        assert reencrypt(state_url, "state", both) == 2
        after = SecretBox(new)  # the old key is no longer needed
        with get_engine(config_url).connect() as conn:
            app = conn.execute(select(applications)).one()
        with get_engine(state_url).connect() as conn:
            token = conn.execute(select(tokens)).one()
        assert after.decrypt(app.app_secret_enc) == SECRET
        assert after.decrypt(app.encrypt_key_enc) == "encrypt-key"
        assert app.verification_token_enc is None
        assert after.decrypt(token.value_enc) == "u-token"
        assert after.decrypt(token.refresh_token_enc) == "ur-token"

        with pytest.raises(EncryptionKeyError, match=r"applications\.app_secret_enc") as info:
            reencrypt(config_url, "config", SecretBox(generate_key()))
        assert "app_id='cli_a1'" in str(info.value) and SECRET not in str(info.value)
    finally:
        dispose_engine(config_url)
        dispose_engine(state_url)

"""The CLI for apps, tokens, keys and databases: init, app ..., token ..., key rotate, db ..."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lark_service.cli import cli
from lark_service.config import get_settings
from lark_service.storage import dispose_all
from lark_service.storage.crypto import generate_key
from lark_service.testing.emulator.server import Emulator

APP, SECRET = "cli_shell", "shell-secret-0123456789"

Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    dispose_all()


@pytest.fixture
def home(_isolated_env: Path) -> Path:
    """LARK_HOME of this test (set by the root conftest, not created yet)."""
    return _isolated_env / "lark"


@pytest.fixture
def run(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    monkeypatch.setenv("LARK_HOME", str(home))
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        dispose_all()  # each command is a fresh process in real life
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    yield invoke


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def one_clear_error(result: Result, *words: str) -> str:
    """Exit != 0, no traceback, and an ``error:`` line naming ``words``."""
    assert result.exit_code != 0, result.output
    text = result.output
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, text
    for word in words:
        assert word in text
    return text


@pytest.fixture
def initialized(run: Run, home: Path) -> Path:
    ok(run("init"))
    return home


def test_init_creates_a_private_home_a_key_and_both_databases(run: Run, home: Path) -> None:
    output = ok(run("init"))
    assert "generated a new key" in output
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    env_file = home / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    (line,) = env_file.read_text().splitlines()
    assert line.startswith("LARK_CONFIG_ENCRYPTION_KEY=")
    for name in ("config.db", "state.db"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600
    settings = get_settings()  # picks the key up from $LARK_HOME/.env
    assert settings.config_encryption_key is not None
    assert settings.config_encryption_key.get_secret_value() == line.split("=", 1)[1]
    again = ok(run("init"))  # idempotent: the key is kept
    assert "using the key from" in again
    assert env_file.read_text().splitlines() == [line]
    current = json.loads(ok(run("db", "current", "--json")))
    assert [row["up_to_date"] for row in current] == [True, True]


def test_init_keeps_a_key_from_the_environment(
    run: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", generate_key())
    assert "using the key from the environment" in ok(run("init"))
    assert not (home / ".env").exists()


def test_init_refuses_a_malformed_key(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", "not-a-fernet-key")
    text = one_clear_error(run("init"), "EncryptionKeyError")
    assert "not-a-fernet-key" not in text


def test_db_upgrade(run: Run) -> None:
    output = ok(run("db", "upgrade"))
    assert "config" in output and "state" in output
    assert "already at" in ok(run("db", "upgrade", "--which", "state"))


def test_app_lifecycle_with_json(run: Run, initialized: Path) -> None:
    added = json.loads(
        ok(
            run(
                "app",
                "add",
                APP,
                "--secret",
                SECRET,
                "--name",
                "Shell bot",
                "--domain",
                "lark",
                "--json",
            )
        )
    )
    assert added["app_id"] == APP and added["domain"] == "https://open.larksuite.com"
    # The secret is prompted for (hidden) when --secret is not given.
    ok(run("app", "add", "cli_second", "--name", "Second", input=f"{SECRET}-2\n"))
    listed = json.loads(ok(run("app", "list", "--json")))
    assert [a["app_id"] for a in listed] == ["cli_second", APP]
    assert SECRET not in ok(run("app", "list"))
    ok(run("app", "update", APP, "--description", "alerts", "--verification-token", "vt-1"))
    ok(run("app", "disable", APP))
    shown = json.loads(ok(run("app", "show", APP, "--json")))
    assert shown["status"] == "disabled" and shown["description"] == "alerts"
    assert shown["has_verification_token"] is True
    assert len(shown["secret_fingerprint"]) == 16
    assert [e["action"] for e in shown["audit"]] == ["disable", "update", "add"]
    assert shown["audit"][1]["fields"] == ["description", "verification_token"]
    table = ok(run("app", "show", APP))
    assert SECRET not in table and "vt-1" not in table and "fingerprint" in table
    ok(run("app", "enable", APP))
    ok(run("app", "remove", APP, "--yes"))
    assert [a["app_id"] for a in json.loads(ok(run("app", "list", "--json")))] == ["cli_second"]


def test_duplicate_missing_and_wrong_key_are_one_clear_line(
    run: Run, initialized: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(run("app", "add", APP, "--secret", SECRET))
    one_clear_error(run("app", "add", APP, "--secret", "x"), "already registered", APP)
    one_clear_error(run("app", "show", "cli_nope"), "AppNotFoundError", "cli_nope")
    one_clear_error(run("app", "disable", "cli_nope"), "cli_nope")
    one_clear_error(run("app", "test", "cli_nope"), "cli_nope")
    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", generate_key())
    text = one_clear_error(run("app", "show", APP), "EncryptionKeyError")
    assert SECRET not in text
    one_clear_error(run("app", "add", "cli_other", "--secret", SECRET), "EncryptionKeyError")
    one_clear_error(run("key", "rotate"), "EncryptionKeyError")


def test_app_test_fetches_a_token_and_reports_latency(
    run: Run, initialized: Path, lark_emulator: Emulator
) -> None:
    lark_emulator.add_app(APP, SECRET)
    ok(run("app", "add", APP, "--secret", SECRET, "--domain", lark_emulator.url))
    result = json.loads(ok(run("app", "test", APP, "--json")))
    assert result["ok"] is True and result["latency_ms"] >= 0
    assert result["expires_in"] > 7000
    assert "ok" in ok(run("app", "test", APP, "--kind", "app"))
    assert lark_emulator.token_fetches(APP) == 2
    ok(run("app", "update", APP, "--secret", "a-wrong-secret"))
    one_clear_error(run("app", "test", APP), "InvalidCredentialsError")
    assert lark_emulator.token_fetches(APP) == 3  # no retry
    ok(run("app", "disable", APP))
    one_clear_error(run("app", "test", APP), "AppDisabledError")
    assert lark_emulator.token_fetches(APP) == 3


def test_token_status_get_revoke_mask_values_unless_show(
    run: Run, initialized: Path, lark_emulator: Emulator
) -> None:
    lark_emulator.add_app(APP, SECRET)
    ok(run("app", "add", APP, "--secret", SECRET, "--domain", lark_emulator.url))
    assert "No stored tokens" in ok(run("token", "status"))
    masked = ok(run("token", "get", APP))
    (issued,) = lark_emulator.tokens(APP)
    assert issued.value not in masked and issued.value[:4] in masked
    assert ok(run("token", "get", APP, "--show")).strip() == issued.value
    assert lark_emulator.token_fetches(APP) == 1  # the second get read the stored token
    table = ok(run("token", "status"))
    assert APP in table and issued.value not in table
    (row,) = json.loads(ok(run("token", "status", "--json")))
    assert row["kind"] == "tenant" and row["token"] != issued.value and row["readable"]
    (shown,) = json.loads(ok(run("token", "status", APP, "--json", "--show")))
    assert shown["token"] == issued.value
    assert "deleted 1" in ok(run("token", "revoke", APP))
    assert json.loads(ok(run("token", "status", "--json"))) == []


def test_token_commands_need_a_key(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    one_clear_error(run("token", "status"), "LARK_CONFIG_ENCRYPTION_KEY")


def test_key_rotate_round_trip(
    run: Run, initialized: Path, lark_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    lark_emulator.add_app(APP, SECRET)
    ok(run("app", "add", APP, "--secret", SECRET, "--domain", lark_emulator.url))
    ok(run("token", "get", APP))
    env_file = initialized / ".env"
    old_key = env_file.read_text().strip().split("=", 1)[1]

    output = ok(run("key", "rotate", "--drop-old"))
    assert "1 app(s) and 1 token(s) re-encrypted" in output
    new_key = env_file.read_text().strip().split("=", 1)[1]
    assert new_key != old_key and "," not in new_key
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600

    # Everything reads under the new key alone: the app secret and the stored token.
    assert json.loads(ok(run("app", "show", APP, "--json")))["app_id"] == APP
    (row,) = json.loads(ok(run("token", "status", "--json")))
    assert row["readable"] is True
    ok(run("token", "get", APP))
    assert lark_emulator.token_fetches(APP) == 1
    shown = json.loads(ok(run("app", "show", APP, "--json")))
    assert shown["audit"][0]["action"] == "rotate"

    # ...and no longer under the old key.
    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", old_key)
    one_clear_error(run("app", "show", APP), "EncryptionKeyError")


def test_key_rotate_keeps_the_old_key_by_default_and_prints_env_keys(
    run: Run, initialized: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(run("app", "add", APP, "--secret", SECRET))
    env_file = initialized / ".env"
    old_key = env_file.read_text().strip().split("=", 1)[1]
    ok(run("key", "rotate"))
    keys = env_file.read_text().strip().split("=", 1)[1].split(",")
    assert len(keys) == 2 and keys[1] == old_key
    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", keys[0] + "," + keys[1])
    given = generate_key()
    output = ok(run("key", "rotate", "--new-key", given, "--drop-old"))
    assert f"LARK_CONFIG_ENCRYPTION_KEY={given}" in output  # env keys cannot be rewritten
    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", given)
    ok(run("app", "show", APP))

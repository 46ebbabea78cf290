"""``lark-service user|chat|cache`` against the emulator (SQLite and PostgreSQL state DBs)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from lark_service.cli import cli
from lark_service.testing import Emulator

from .conftest import APP, contact_calls


@pytest.fixture
def runner(emu: Emulator, db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LARK_APP_ID", APP[0])
    monkeypatch.setenv("LARK_APP_SECRET", APP[1])
    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    monkeypatch.setenv("LARK_DATABASE_URL", db_url)
    return CliRunner()


def test_user_lookup_by_email_mobile_and_id(emu: Emulator, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["user", "lookup", "alice@example.com"])
    assert result.exit_code == 0, result.output
    assert "Alice" in result.output and emu.open_id("alice", APP[0]) in result.output
    assert "Feishu (request_id" in result.output

    calls = contact_calls(emu)
    again = runner.invoke(cli, ["user", "lookup", "+8613800000001", "--json"])
    assert again.exit_code == 0, again.output
    data = json.loads(again.output)
    assert data["user_id"] == "alice" and data["from_cache"] is True
    assert contact_calls(emu) == calls

    by_id = runner.invoke(cli, ["user", "lookup", "bob", "--type", "user_id"])
    assert by_id.exit_code == 0 and "Bob" in by_id.output


def test_user_lookup_unknown_is_a_clean_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["user", "lookup", "ghost@example.com"])
    assert result.exit_code == 1
    assert "NotFoundError" in result.output and "ghost@example.com" in result.output
    assert "Traceback" not in result.output
    bad = runner.invoke(cli, ["user", "lookup", "a@b", "--type", "email"])
    assert bad.exit_code == 2 and "ValidationError" in bad.output


def test_user_sync_then_cache_stats_and_clear(emu: Emulator, runner: CliRunner) -> None:
    emu.seed_directory(users=70, departments=2, chats=0)
    result = runner.invoke(cli, ["user", "sync", "--department", "0", "--recursive"])
    assert result.exit_code == 0, result.output
    assert "cached 74 users of department 0 and its sub-departments" in result.output

    as_json = runner.invoke(
        cli,
        ["user", "sync", "--department", "eng", "--department-id-type", "department_id", "--json"],
    )
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["users"] == 0

    stats = runner.invoke(cli, ["cache", "stats", "--json"])
    assert stats.exit_code == 0, stats.output
    numbers = json.loads(stats.output)
    assert numbers["apps"][APP[0]] == {"rows": 74, "live": 74, "negative": 0}
    assert numbers["ttl"] == 86400
    table = runner.invoke(cli, ["cache", "stats"])
    assert APP[0] in table.output and "74" in table.output

    cleared = runner.invoke(cli, ["cache", "clear", "--app-id", APP[0]])
    assert cleared.exit_code == 0 and "removed 74 cached users" in cleared.output
    assert json.loads(runner.invoke(cli, ["cache", "stats", "--json"]).output)["rows"] == 0


def test_user_sync_of_a_deleted_department_fails(emu: Emulator, runner: CliRunner) -> None:
    emu.delete_department("ops")
    result = runner.invoke(
        cli, ["user", "sync", "--department", "ops", "--department-id-type", "department_id"]
    )
    assert result.exit_code == 1 and "NotFoundError" in result.output


def test_chat_find_and_list(emu: Emulator, runner: CliRunner) -> None:
    found = runner.invoke(cli, ["chat", "find", "Ops Alerts"])
    assert found.exit_code == 0, found.output
    assert "oc_demo" in found.output and "alerts" in found.output

    emu.add_chat("oc_ops2", "Ops")
    ambiguous = runner.invoke(cli, ["chat", "find", "Ops"])
    assert ambiguous.exit_code == 2
    assert "oc_ops" in ambiguous.output and "oc_ops2" in ambiguous.output

    listed = runner.invoke(cli, ["chat", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert {c["chat_id"] for c in json.loads(listed.output)} == {"oc_demo", "oc_ops", "oc_ops2"}

"""``lark-service apaas tables|query|sql`` and ``auth url|status|revoke|login``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from lark_service import LarkClient
from lark_service.cli import cli
from lark_service.testing import Emulator

from .conftest import APP_ID, SECRET, WS


@pytest.fixture
def run(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("LARK_APP_ID", APP_ID)
    monkeypatch.setenv("LARK_APP_SECRET", SECRET)
    monkeypatch.setenv("LARK_BASE_URL", emu.url)

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_apaas_commands(run: Any, client: LarkClient, user: str) -> None:
    tables = run("apaas", "tables", WS, "--user", user)
    assert tables.exit_code == 0 and "people" in tables.output and "age:integer" in tables.output
    rows = run(
        "apaas",
        "query",
        WS,
        "people",
        "--user",
        user,
        "--filter",
        "age=gt.30",
        "--select",
        "name",
        "--order",
        "name",
    )
    assert rows.exit_code == 0, rows.output
    assert [json.loads(line) for line in rows.output.splitlines()] == [
        {"name": "Ann"},
        {"name": "Cid"},
    ]
    result = run("apaas", "sql", WS, "SELECT count(*) AS n FROM people", "--user", user)
    assert json.loads(result.output) == [{"n": 4}]


def test_apaas_unknown_table_speaks_cli(run: Any, client: LarkClient, user: str) -> None:
    result = CliRunner().invoke(cli, ["apaas", "query", WS, "nope", "--user", user])
    assert result.exit_code == 1 and "its tables: orders, people" in result.output


def test_auth_commands(run: Any, client: LarkClient, user: str, emu: Emulator) -> None:
    status = run("auth", "status", user, "--json")
    assert json.loads(status.output)["authorized"] is True
    link = run("auth", "url", "--user", user, "--redirect-uri", "http://127.0.0.1:9/cb")
    assert link.output.startswith(emu.url + "/open-apis/authen/v1/authorize?")
    missing = CliRunner().invoke(cli, ["auth", "url"])
    assert missing.exit_code == 2 and "LARK_OAUTH_REDIRECT_URL" in missing.output
    assert "tokens forgotten" in run("auth", "revoke", user).output
    assert "not authorized" in run("auth", "status", user).output


def test_auth_login_device_flow(
    run: Any, emu: Emulator, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lark_service import _concurrency

    def approve(seconds: float) -> None:
        stats = httpx.get(emu.url + "/_emulator/oauth").json()
        assert stats is not None
        from lark_service.testing.emulator.oauth_state import oauth

        code = next(iter(oauth(emu.state).devices.values())).user_code
        httpx.post(f"{emu.url}/_emulator/oauth/device/{code}", json={"user_id": "alice"})

    monkeypatch.setattr(_concurrency, "sleep", approve)
    result = CliRunner().invoke(cli, ["auth", "login", "--scope", "apaas:workspace"])
    assert result.exit_code == 0, result.output
    assert f"Authorized {emu.open_id('alice', APP_ID)}" in result.output

"""The ``lark_emulator`` fixture, as a user's project sees it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from lark_service.testing import Emulator

USER_TESTS = """
import httpx

SEEN = []


def test_first(lark_emulator):
    SEEN.append(lark_emulator)
    lark_emulator.add_app("cli_mine", "secret")
    lark_emulator.advance_clock(100)
    lark_emulator.inject_fault("/open-apis/*", "reset")
    assert lark_emulator.state.get_app("cli_mine") is not None


def test_second_starts_clean_on_the_same_server(lark_emulator):
    assert lark_emulator is SEEN[0]
    assert lark_emulator.state.apps() == []
    assert lark_emulator.faults() == []
    assert lark_emulator.state.clock.offset == 0
    r = httpx.post(
        lark_emulator.url + "/open-apis/auth/v3/tenant_access_token/internal",
        json={"app_id": "cli_mine", "app_secret": "secret"},
    )
    assert r.json()["code"] == 10003
"""


def test_fixture_in_a_users_project(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_fixture_here_is_running_and_empty(lark_emulator: Emulator) -> None:
    assert lark_emulator.running
    assert lark_emulator.state.apps() == []
    assert lark_emulator.messages() == []
    assert httpx.get(lark_emulator.url + "/_emulator/health").json() == {"ok": True}

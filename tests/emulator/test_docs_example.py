"""The ``docs/emulator.md`` fixture example, run as a user's project runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from lark_service.testing import FAST_RETRY, reset_process_state

DOCS = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"

FETCHES_TOKENS_FIRST = """
from lark_service import LarkClient


def test_an_earlier_test_caches_a_token(lark_emulator):
    lark_emulator.seed_demo()
    with LarkClient("cli_demo", "demo-secret", base_url=lark_emulator.url) as client:
        client.messaging.send_text_message("oc_demo", "earlier")
    assert lark_emulator.token_fetches("cli_demo") == 1
"""


def fixture_example() -> str:
    section = DOCS.read_text(encoding="utf-8").split("## The pytest fixtures", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "no python example under 'The pytest fixtures'"
    return match.group(1)


def test_the_docs_fixture_example_passes_after_a_test_that_fetched_tokens(
    tmp_path: Path,
) -> None:
    """A token cached by an earlier test is unknown to the reset emulator: before the fixture
    emptied the process's token cache, the example saw ``[502, 400, 200]``."""
    (tmp_path / "test_a_earlier.py").write_text(textwrap.dedent(FETCHES_TOKENS_FIRST))
    (tmp_path / "test_b_docs.py").write_text(fixture_example())

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_the_docs_example_retries_without_waiting() -> None:
    assert "retry=FAST_RETRY" in fixture_example()
    assert [FAST_RETRY.backoff(n) for n in range(FAST_RETRY.max_retries)] == [0.0] * 3
    assert FAST_RETRY.rate_limit_delay == 0
    assert FAST_RETRY.max_retries == 3  # as many retries as the default policy


def test_reset_process_state_empties_the_shared_token_store() -> None:
    from lark_service.credentials import TokenKey, TokenRecord
    from lark_service.credentials.locks import shared_memory_store

    key = TokenKey("cli_x", "fp", "tenant")
    shared_memory_store().save(TokenRecord(key, "t-x", expires_at=2e9, issued_at=1e9))
    reset_process_state()
    assert shared_memory_store().load(key) is None


def test_without_lark_home_the_session_uses_a_temporary_one(tmp_path: Path) -> None:
    """Emulator tokens never land in the user's own home (``~/.lark-service``)."""
    (tmp_path / "test_a_earlier.py").write_text(textwrap.dedent(FETCHES_TOKENS_FIRST))
    (tmp_path / "test_b_docs.py").write_text(fixture_example())
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LARK_")}
    env["HOME"] = str(user_home)

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    assert list(user_home.iterdir()) == []

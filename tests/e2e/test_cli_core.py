"""The core CLI: --version, send text, demo, emulator — user mistakes exit cleanly."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

from lark_service import __version__
from lark_service.cli import cli
from lark_service.testing.emulator.server import Emulator


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_send_text_to_the_emulator(
    runner: CliRunner, lark_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    lark_emulator.add_app("cli_cli", "cli-secret")
    lark_emulator.add_chat(chat_id="oc_cli", name="CLI")
    monkeypatch.setenv("LARK_APP_SECRET", "cli-secret")
    result = runner.invoke(
        cli,
        [
            "send",
            "text",
            "--to",
            "oc_cli",
            "--app-id",
            "cli_cli",
            "--base-url",
            lark_emulator.url,
            "hi from the shell",
        ],
    )
    assert result.exit_code == 0, result.output
    (message,) = lark_emulator.messages()
    assert message.content == {"text": "hi from the shell"}
    assert message.message_id in result.output


def test_send_text_json_output(
    runner: CliRunner, lark_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    lark_emulator.add_app("cli_cli", "cli-secret")
    lark_emulator.add_chat(chat_id="oc_cli", name="CLI")
    monkeypatch.setenv("LARK_APP_ID", "cli_cli")
    monkeypatch.setenv("LARK_APP_SECRET", "cli-secret")
    monkeypatch.setenv("LARK_BASE_URL", lark_emulator.url)
    result = runner.invoke(cli, ["send", "text", "--to", "oc_cli", "--json", "hi"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["message_id"] == lark_emulator.messages()[0].message_id


def test_empty_text_is_a_clean_error_without_a_request(
    runner: CliRunner, lark_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    lark_emulator.add_app("cli_cli", "cli-secret")
    monkeypatch.setenv("LARK_APP_SECRET", "cli-secret")
    result = runner.invoke(
        cli,
        [
            "send",
            "text",
            "--to",
            "oc_cli",
            "--app-id",
            "cli_cli",
            "--base-url",
            lark_emulator.url,
            " ",
        ],
    )
    assert result.exit_code == 2
    assert "ValidationError" in result.output and "Traceback" not in result.output
    assert lark_emulator.requests() == []


def test_api_errors_print_ids_and_hint(
    runner: CliRunner, lark_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    lark_emulator.add_app("cli_cli", "cli-secret")
    lark_emulator.add_chat(chat_id="oc_nobot", name="No bot", bot_app_ids=[])
    monkeypatch.setenv("LARK_APP_SECRET", "cli-secret")
    result = runner.invoke(
        cli,
        [
            "send",
            "text",
            "--to",
            "oc_nobot",
            "--app-id",
            "cli_cli",
            "--base-url",
            lark_emulator.url,
            "x",
        ],
    )
    assert result.exit_code == 1
    assert "PermissionDeniedError" in result.output
    assert (
        "code=230002" in result.output
        and "request_id=" in result.output
        and "log_id=" in result.output
    )
    assert "hint:" in result.output and "Traceback" not in result.output


def test_no_app_configured_is_a_clean_error(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["send", "text", "--to", "ou_1", "--base-url", "http://127.0.0.1:9", "x"]
    )
    assert result.exit_code == 1
    assert "AppNotSpecifiedError" in result.output and "Traceback" not in result.output


def test_demo_runs_end_to_end(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert "What the emulator received" in result.output
    assert "Token fetches: 1" in result.output
    assert "Revenue is **up 12%** week on week." in result.output  # Markdown there and back
    assert "1200 written in 3 calls" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_emulator_command_serves_until_stopped() -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LARK_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lark_service", "emulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # poll until it accepts connections (bounded), not a fixed sleep
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/_emulator/apps", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        assert answer.status_code == 200
        assert "cli_demo" in answer.text  # seeded with the demo app by default
    finally:
        proc.terminate()
        proc.wait(timeout=10)

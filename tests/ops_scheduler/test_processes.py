"""The real processes: ``serve --scheduler`` shows its jobs on /status and stops on SIGTERM;
``scheduler run`` stops gracefully on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ..callbacks._support import free_port, wait_until

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LARK_SCHEDULER_HEALTH_CHECK_INTERVAL="1",
        LARK_SCHEDULER_TOKEN_SWEEP_ENABLED="false",
        LARK_SCHEDULER_CONTACT_SYNC_ENABLED="false",
        LARK_SCHEDULER_USER_TOKEN_WATCH_ENABLED="false",
        LARK_SCHEDULER_CLEANUP_ENABLED="false",
        LARK_BASE_URL="http://127.0.0.1:9",  # unreachable: health_check fails, quickly
    )
    return env


def _lark(*args: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "lark_service.cli", *args],
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_serve_with_scheduler(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    proc = _lark("serve", "--port", str(port), "--scheduler", log=log)
    try:

        def page() -> str | None:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/status", timeout=2)
            except httpx.HTTPError:
                return None
            return r.text if "health_check" in r.text and "failed" in r.text else None

        text = wait_until(page, timeout=30, what="health_check on /status")
        assert "<td>health_check</td>" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    # uvicorn re-raises the SIGTERM it caught once the server (and the scheduler) stopped
    assert code in (0, -signal.SIGTERM), log.read_text()
    text = log.read_text()
    assert "scheduler running health_check" in text
    assert "scheduler: stopped" in text  # stopped gracefully before the process ended


def test_scheduler_run_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "scheduler.log"
    proc = _lark("scheduler", "run", "--log-level", "INFO", log=log)
    try:
        wait_until(
            lambda: "health_check failed" in log.read_text(), timeout=30, what="a health_check"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, log.read_text()
    assert "scheduler: stopped" in log.read_text()

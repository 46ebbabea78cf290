"""``lark-service scheduler list|run-job`` and ``lark-service doctor`` against the emulator."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lark_service.cli import cli
from lark_service.testing import Emulator

from .conftest import APP


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_scheduler_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LARK_SCHEDULER_CONTACT_SYNC_ENABLED", "0")
    monkeypatch.setenv("LARK_SCHEDULER_TOKEN_SWEEP_INTERVAL", "60")
    result = _run("scheduler", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["job"]: r for r in json.loads(result.stdout)}
    assert rows["token_sweep"]["schedule"] == "every 1 min"
    assert rows["token_sweep"]["next_run"] % 60 == 0
    assert rows["contact_sync"]["enabled"] is False
    assert rows["cleanup"]["schedule"] == "cron 30 3 * * * (UTC)"
    table = _run("scheduler", "list")
    assert "health_check" in table.output and table.exit_code == 0


def test_scheduler_bad_settings_are_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LARK_SCHEDULER_CLEANUP_CRON", "every day")
    result = _run("scheduler", "list")
    assert result.exit_code == 1
    assert "LARK_SCHEDULER_CLEANUP_CRON" in result.output
    assert "Traceback" not in result.output


def test_scheduler_unparsable_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LARK_SCHEDULER_WORKERS", "many")
    result = _run("scheduler", "list")
    assert result.exit_code == 1
    assert "LARK_SCHEDULER_WORKERS" in result.output and "Traceback" not in result.output


def test_run_job(emu: Emulator) -> None:
    result = _run("scheduler", "run-job", "token_sweep", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["outcome"] == "ok" and body["details"]["refreshed"] == [APP[0]]
    assert _run("scheduler", "run-job", "cleanup").exit_code == 0
    unknown = _run("scheduler", "run-job", "nope")
    assert unknown.exit_code == 2 and "token_sweep" in unknown.output


def test_run_job_failure_exits_1(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    monkeypatch.setenv("LARK_AMQP_URL", f"amqp://127.0.0.1:{port}/")
    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    result = _run("scheduler", "run-job", "health_check")
    assert result.exit_code == 1
    assert "failed" in result.output and "broker" in result.output


def _checks(output: str) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in json.loads(output)["checks"]}


def test_doctor_healthy(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    assert _run("db", "upgrade").exit_code == 0
    result = _run("doctor", "--json")
    checks = _checks(result.stdout)
    assert result.exit_code == 0, result.output
    assert checks["encryption key"]["status"] == "ok"
    assert checks["state database"]["status"] == "ok"
    assert "state_" in checks["state database"]["detail"]
    assert checks["config database"]["status"] == "ok"
    assert checks[f"app {APP[0]}"]["status"] == "ok"
    assert checks["clock skew"]["status"] == "ok"
    assert checks["broker"]["status"] == "skip"
    table = _run("doctor")
    assert "No problem found" in table.output


def test_doctor_checks_the_clock_against_the_apps_own_host(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # LARK_BASE_URL unset (Feishu, unreachable here): the registered app's domain is the host
    monkeypatch.delenv("LARK_BASE_URL", raising=False)
    monkeypatch.setenv("LARK_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    assert _run("db", "upgrade").exit_code == 0
    checks = _checks(_run("doctor", "--json").stdout)
    assert checks["clock skew"]["status"] == "ok", checks["clock skew"]
    assert emu.url in checks["clock skew"]["detail"]


def test_doctor_reports_problems_with_fixes(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from lark_service.apps import AppRegistry
    from lark_service.config import get_settings

    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    AppRegistry.from_settings(get_settings()).add_app("cli_bad", "wrong", domain=emu.url)
    emu.add_app("cli_bad", "right")
    home = Path(os.environ["LARK_HOME"])
    os.chmod(home, 0o755)
    result = _run("doctor", "--json")
    assert result.exit_code == 1
    checks = _checks(result.stdout)
    assert checks["app cli_bad"]["status"] == "fail"
    assert "lark-service app update cli_bad" in checks["app cli_bad"]["fix"]
    assert checks[f"app {APP[0]}"]["status"] == "ok"
    assert checks["LARK_HOME"]["status"] == "fail" and "chmod 700" in checks["LARK_HOME"]["fix"]
    table = _run("doctor", "--no-apps")
    assert table.exit_code == 1 and "chmod 700" in table.output


def test_doctor_clock_skew_and_bad_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", "not-a-key")
    monkeypatch.setenv("LARK_BASE_URL", "http://127.0.0.1:9")
    result = _run("doctor", "--json", "--no-apps", "--timeout", "2")
    assert result.exit_code == 1
    checks = _checks(result.stdout)
    assert checks["encryption key"]["status"] == "fail"
    assert checks["clock skew"]["status"] == "fail"


def test_doctor_missing_extra_needed_by_the_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lark_service import doctor

    monkeypatch.setenv("LARK_REDIS_URL", "redis://127.0.0.1:6379/0")
    real = doctor._importable
    monkeypatch.setattr(doctor, "_importable", lambda m: m != "redis" and real(m))
    checks = {c.name: c for c in doctor.run_checks(apps=False, timeout=2)}
    assert checks["extra redis"].status == "fail"
    assert checks["extra redis"].fix == "pip install 'lark-service[redis]'"
    assert checks["redis"].status == "ok"  # the server itself answers PING


def test_doctor_clock_skew_against_the_date_header(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from lark_service import doctor

    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    for offset, status in ((0.0, "ok"), (20.0, "warn"), (-120.0, "fail")):
        checks = {
            c.name: c for c in doctor.run_checks(apps=False, clock=lambda o=offset: time.time() + o)
        }
        assert checks["clock skew"].status == status, (offset, checks["clock skew"])
    assert "NTP" in checks["clock skew"].fix

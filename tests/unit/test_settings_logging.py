"""Settings from the environment and .env, client arguments on top; logging setup."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lark_service import LarkClient, Settings, errors
from lark_service.config import get_settings
from lark_service.logging import configure_logging, get_logger

from ._mock import SEND_PATH, ScriptedFeishu


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LARK_BASE_URL", "https://open.larksuite.com/")
    monkeypatch.setenv("LARK_READ_TIMEOUT", "12.5")
    monkeypatch.setenv("LARK_APP_SECRET", "s")
    settings = get_settings()
    assert settings.base_url == "https://open.larksuite.com"
    assert settings.read_timeout == 12.5
    assert "s" not in repr(settings.app_secret)
    assert settings.resolved_database_url == f"sqlite:///{settings.home / 'state.db'}"


def test_dotenv_in_the_working_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("LARK_APP_ID=cli_dotenv\nLARK_LOG_LEVEL=DEBUG\n")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert (settings.app_id, settings.log_level) == ("cli_dotenv", "DEBUG")


def test_client_arguments_override_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LARK_BASE_URL", "https://wrong.example")
    monkeypatch.setenv("LARK_APP_ID", "cli_env")
    monkeypatch.setenv("LARK_APP_SECRET", "env-secret")
    feishu = ScriptedFeishu()
    client = LarkClient(
        "cli_arg", "arg-secret", base_url="https://right.example", transport=feishu.transport()
    )
    client.messaging.send_text_message("ou_1", "x")
    (send,) = feishu.calls(SEND_PATH)
    assert send.url.host == "right.example"
    assert client.resolve_app().app_id == "cli_arg"


def test_timeouts_are_explicit_and_configurable() -> None:
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"code": 0, "data": {}})

    client = LarkClient(
        "cli_t", "s", base_url="https://t.example", transport=httpx.MockTransport(handler)
    )
    client.request("GET", "/open-apis/x", token=None)
    client.request("GET", "/open-apis/x", token=None, timeout=2.0)
    assert seen[0] == {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 30.0}
    assert seen[1]["read"] == 2.0 and seen[1]["connect"] == 2.0
    custom = LarkClient(
        "cli_t",
        "s",
        base_url="https://t.example",
        timeout=9,
        connect_timeout=1,
        transport=httpx.MockTransport(handler),
    )
    custom.request("GET", "/open-apis/x", token=None)
    assert seen[2]["connect"] == 1.0 and seen[2]["read"] == 9.0


def test_http2_option_builds_a_working_client() -> None:
    feishu = ScriptedFeishu()
    client = LarkClient(
        "cli_h2", "s", base_url="https://h2.example", http2=True, transport=feishu.transport()
    )
    client.messaging.send_text_message("ou_1", "x")
    assert len(feishu.calls(SEND_PATH)) == 1


def test_app_secret_without_app_id_is_a_config_error() -> None:
    with pytest.raises(errors.ConfigError):
        LarkClient(app_secret="lonely")


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("lark_service")
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.setLevel(level)
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)


def test_json_lines_carry_fields_and_mask_secrets(
    root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", json_lines=True)
    get_logger("lark_service.test").info(
        "called with app_secret=hunter2",
        extra={"lark_request_id": "r-1", "lark_app_id": "cli_a", "lark_status": 200},
    )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["request_id"] == "r-1" and line["app_id"] == "cli_a" and line["status"] == 200
    assert line["level"] == "INFO" and "hunter2" not in line["msg"]


def test_a_client_leaves_the_library_log_level_to_the_application(
    root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the application's logging configuration decides; creating a client changes nothing
    root_logger.setLevel(logging.NOTSET)
    monkeypatch.setenv("LARK_LOG_LEVEL", "ERROR")
    LarkClient("cli_l", "s", base_url="https://l.example", transport=ScriptedFeishu().transport())
    assert root_logger.level == logging.NOTSET


def test_configure_logging_takes_the_level_from_the_environment(
    root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LARK_LOG_LEVEL", "ERROR")
    configure_logging()
    assert root_logger.level == logging.ERROR


def test_configure_logging_replaces_its_own_handler(root_logger: logging.Logger) -> None:
    configure_logging("DEBUG")
    configure_logging("WARNING")
    ours = [h for h in root_logger.handlers if getattr(h, "_lark_service", False)]
    assert len(ours) == 1 and root_logger.level == logging.WARNING

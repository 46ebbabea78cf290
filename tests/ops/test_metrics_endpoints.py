"""/metrics on `lark-service serve` and `--metrics-port` on the worker."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from lark_service.callbacks import CallbackKeys, CallbackRouter, StaticKeys
from lark_service.callbacks.simulate import message_event_payload
from lark_service.cli import cli
from lark_service.cli._metrics import start_metrics_server
from lark_service.errors import ConfigError
from lark_service.server import create_app

from ..callbacks._support import APP, EK, VT, FakeClock, free_port, serve, sign


def _sample(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.anyio
async def test_serve_answers_metrics_with_callbacks_and_the_outbox(tmp_path: Path) -> None:
    clock = FakeClock()
    keys = StaticKeys(CallbackKeys(APP, encrypt_key=EK, verification_token=VT))
    router = CallbackRouter()
    app = create_app(router, keys=keys, database_url=f"sqlite:///{tmp_path / 's.db'}", clock=clock)
    received = f'lark_callbacks_received_total{{app_id="{APP}",kind="event"}}'
    async with serve(app) as http:
        before = _sample((await http.get("/metrics")).text, received)
        headers, body = sign(
            message_event_payload(APP, "hi", event_id="evt-metrics-1", verification_token=VT), clock
        )
        r = await http.post(f"/callbacks/{APP}/event", content=body, headers=headers)
        assert r.status_code == 200
        answer = await http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert _sample(text, received) == before + 1
    assert "lark_callbacks_outbox_up 1.0" in text
    assert 'lark_callbacks_outbox_rows{status="pending"}' in text
    assert "lark_build_info" in text
    assert "evt-metrics-1" not in text


def test_worker_has_a_metrics_port_option() -> None:
    result = CliRunner().invoke(cli, ["worker", "--help"])
    assert result.exit_code == 0
    assert "--metrics-port" in result.output


def test_metrics_server_serves_the_default_registry() -> None:
    port = free_port()
    server, thread = start_metrics_server(port, "127.0.0.1")
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert "lark_build_info" in text
    assert "lark_api_requests" in text


def test_a_busy_metrics_port_is_a_cli_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ConfigError, match="port"):
            start_metrics_server(taken.getsockname()[1], "127.0.0.1")

"""The gateway mounted in the live callback server: ``/api/v1`` beside ``/healthz``, the
OpenAPI document with examples, and a bounded Schemathesis run of every operation against
the emulator (no 5xx, every answer matching its schema)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from lark_service.testing import Emulator

from .conftest import CHAT, LiveServer, bearer


def test_serve_with_the_gateway_answers_api_v1_and_keeps_the_callback_routes(
    live: LiveServer, emu: Emulator, make_key: Callable[..., str]
) -> None:
    key = make_key(scopes=("messages:send",))
    answer = httpx.post(
        live.url + "/api/v1/messages",
        json={"receive_id": CHAT, "content": "live"},
        headers=bearer(key),
    )
    assert answer.status_code == 200, answer.text
    assert httpx.get(live.url + "/healthz").json() == {"status": "ok"}
    assert [m.content["text"] for m in emu.messages()] == ["live"]


def test_the_openapi_document_lists_every_operation_with_examples(live: LiveServer) -> None:
    from lark_service.gateway import operations

    document = httpx.get(live.url + "/api/v1/openapi.json").json()
    assert document["servers"] == [{"url": "/api/v1"}]
    listed = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    for op in operations():
        assert (op.method, op.path) in listed
    assert ("GET", "/apps/{app_id}/token") in listed
    assert ("POST", "/raw/open-apis/{path}") in listed
    send = document["paths"]["/messages"]["post"]
    assert send["x-scopes"] == ["messages:send"]
    assert set(send["responses"]) >= {"200", "401", "403", "422", "429"}
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    body = document["components"]["schemas"]["SendMessageBody"]
    assert body["examples"][0]["content"] == "Build passed"
    envelope = document["components"]["schemas"]["Envelope"]
    assert [e["code"] for e in envelope["examples"]] == [0, 403]


def test_without_the_gateway_there_is_no_api(emu: Emulator) -> None:
    from lark_service.server import create_app

    server = LiveServer(create_app(dispatcher="inprocess")).start()
    try:
        assert httpx.get(server.url + "/api/v1/openapi.json").status_code == 404
    finally:
        server.stop()


def test_schemathesis_every_operation_no_5xx_and_answers_match_the_schema(
    live: LiveServer, emu: Emulator, make_key: Callable[..., str]
) -> None:
    """Property-based, bounded: a few examples per operation (about a minute in all)."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    from .conftest import APP_A

    key = make_key(apps=(APP_A[0],), scopes=("*", "raw:call", "apps:token"))
    schema = schemathesis.openapi.from_url(live.url + "/api/v1/openapi.json")
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    headers = bearer(key)
    tested = []
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        tested.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10,
            deadline=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                base_url=live.url + "/api/v1", headers=headers, checks=checks, timeout=20
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert len(tested) >= 40
    assert not failures, "\n\n".join(failures)
    assert sum(statuses.values()) >= 2 * len(tested)  # the run really called the server
    assert 200 in statuses and 422 in statuses, statuses


def test_lark_gateway_enabled_switches_it_on(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lark_service.server import create_app

    monkeypatch.setenv("LARK_GATEWAY_ENABLED", "true")
    server = LiveServer(create_app(dispatcher="inprocess")).start()
    try:
        answer = httpx.get(server.url + "/api/v1/chats")
        assert answer.status_code == 401 and answer.json()["error"]["type"] == "AuthenticationError"
        off = create_app(dispatcher="inprocess", gateway=False)
        assert getattr(off.state, "gateway", None) is None
    finally:
        server.stop()


@pytest.mark.parametrize(("flag", "on"), [(["--gateway"], True), ([], False)])
def test_serve_gateway_flag(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, flag: list[str], on: bool
) -> None:
    import uvicorn
    from click.testing import CliRunner

    from lark_service.cli import cli

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    result = CliRunner().invoke(cli, ["serve", "--dispatcher", "inprocess", *flag])
    assert result.exit_code == 0, result.output
    assert (getattr(served[0].state, "gateway", None) is not None) is on
    assert ("/api/v1/" in result.output) is on

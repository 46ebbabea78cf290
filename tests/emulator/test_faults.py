"""Fault injection: latency, status, code, timeout, reset, rate_limit."""

from __future__ import annotations

import httpx
import pytest

from lark_service.testing import Emulator

from ._helpers import MESSAGES_PATH, TENANT_TOKEN_PATH, assert_error, fetch_token, send

IM = "/open-apis/im/v1/*"


def test_status_fault_answers_an_html_page_then_goes_away(
    emu: Emulator, http: httpx.Client, token: str
) -> None:
    emu.inject_fault(IM, "status", count=2)

    for _ in range(2):
        response = send(http, token, "alice", "user_id")
        assert response.status_code == 502
        assert response.headers["content-type"].startswith("text/html")
        assert response.text == "<html><body>502 Bad Gateway</body></html>"
    assert send(http, token, "alice", "user_id").json()["code"] == 0
    assert len(emu.messages()) == 1
    assert [r.fault for r in emu.requests(path=MESSAGES_PATH)] == ["status", "status", None]
    assert emu.faults() == []


def test_status_fault_with_a_json_body(emu: Emulator, http: httpx.Client, token: str) -> None:
    emu.inject_fault(MESSAGES_PATH, "status", status=503, body={"code": 1500, "msg": "busy"})

    response = send(http, token, "alice", "user_id")

    assert response.status_code == 503
    assert response.json() == {"code": 1500, "msg": "busy"}
    assert emu.requests(path=MESSAGES_PATH)[0].code == 1500


def test_code_fault_answers_a_feishu_error(emu: Emulator, http: httpx.Client, token: str) -> None:
    emu.inject_fault(MESSAGES_PATH, "code", code=230020, msg="frequency limit", http_status=400)

    body = assert_error(send(http, token, "alice", "user_id"), 230020)

    assert body["msg"] == "frequency limit"
    assert emu.messages() == []


def test_rate_limit_fault_answers_429_with_reset_headers(
    emu: Emulator, http: httpx.Client, token: str
) -> None:
    emu.inject_fault(MESSAGES_PATH, "rate_limit", reset=7, limit=50)

    response = send(http, token, "alice", "user_id")

    body = assert_error(response, 99991400, http_status=429)
    assert body["msg"] == "request trigger frequency limit"
    assert response.headers["x-ogw-ratelimit-limit"] == "50"
    assert response.headers["x-ogw-ratelimit-reset"] == "7"
    assert send(http, token, "alice", "user_id").status_code == 200


def test_timeout_fault_hangs_until_the_client_gives_up(
    emu: Emulator, http: httpx.Client, token: str
) -> None:
    emu.inject_fault(MESSAGES_PATH, "timeout")

    with pytest.raises(httpx.ReadTimeout):
        http.post(
            MESSAGES_PATH,
            params={"receive_id_type": "user_id"},
            json={"receive_id": "alice", "msg_type": "text", "content": '{"text":"x"}'},
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(5, read=0.2),
        )

    assert send(http, token, "alice", "user_id").json()["code"] == 0
    assert len(emu.messages()) == 1
    # The hung call ended when the client hung up; it is logged with no status.
    hung = emu.requests(path=MESSAGES_PATH)[0]
    assert hung.fault == "timeout" and hung.status is None


def test_timeout_fault_gives_up_after_max_seconds(
    emu: Emulator, http: httpx.Client, token: str
) -> None:
    emu.inject_fault(MESSAGES_PATH, "timeout", max_seconds=0.1)

    response = send(http, token, "alice", "user_id")

    assert response.status_code == 504
    assert "504" in response.text


def test_reset_fault_drops_the_connection_without_a_response(
    emu: Emulator, http: httpx.Client, token: str
) -> None:
    emu.inject_fault(MESSAGES_PATH, "reset")

    with pytest.raises(httpx.TransportError) as caught:
        send(http, token, "alice", "user_id")

    assert isinstance(caught.value, (httpx.RemoteProtocolError, httpx.ReadError))
    assert send(http, token, "alice", "user_id").json()["code"] == 0
    reset = emu.requests(path=MESSAGES_PATH)[0]
    assert reset.fault == "reset" and reset.status is None
    assert len(emu.messages()) == 1


def test_latency_fault_delays_the_normal_answer(
    emu: Emulator, http: httpx.Client, token: str
) -> None:
    emu.inject_fault(MESSAGES_PATH, "latency", ms=150)

    response = send(http, token, "alice", "user_id")

    assert response.json()["code"] == 0
    assert emu.requests(path=MESSAGES_PATH)[0].duration_ms >= 150


def test_latency_beyond_the_client_timeout_is_a_read_timeout(
    emu: Emulator, http: httpx.Client, token: str
) -> None:
    emu.inject_fault(MESSAGES_PATH, "latency", ms=2000)

    with pytest.raises(httpx.ReadTimeout):
        http.post(
            MESSAGES_PATH,
            params={"receive_id_type": "user_id"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(5, read=0.05),
        )


def test_latency_combines_with_another_fault(emu: Emulator, http: httpx.Client, token: str) -> None:
    emu.inject_fault(MESSAGES_PATH, "latency", ms=100)
    emu.inject_fault(MESSAGES_PATH, "status", status=500)

    response = send(http, token, "alice", "user_id")

    assert response.status_code == 500
    assert emu.requests(path=MESSAGES_PATH)[0].duration_ms >= 100
    assert emu.faults() == []


def test_faults_apply_to_token_endpoints(emu: Emulator, http: httpx.Client) -> None:
    emu.inject_fault(TENANT_TOKEN_PATH, "status", status=502)

    assert fetch_token(http).status_code == 502
    assert fetch_token(http).status_code == 200
    # The faulted call never reached the handler, so only one fetch counts.
    assert emu.token_fetches("cli_demo", "tenant") == 1


def test_method_filter(emu: Emulator, http: httpx.Client, token: str) -> None:
    emu.inject_fault(MESSAGES_PATH, "status", method="get")

    assert send(http, token, "alice", "user_id").status_code == 200
    assert len(emu.faults()) == 1
    assert http.get(MESSAGES_PATH).status_code == 502


def test_exact_path_does_not_match_other_paths(
    emu: Emulator, http: httpx.Client, token: str
) -> None:
    emu.inject_fault("/open-apis/im/v1/images", "status")

    assert send(http, token, "alice", "user_id").status_code == 200
    assert len(emu.faults()) == 1


def test_unlimited_fault_stays_until_cleared(emu: Emulator, http: httpx.Client, token: str) -> None:
    emu.inject_fault("/open-apis/*", "status", count=None, status=503)

    assert [send(http, token, "alice", "user_id").status_code for _ in range(3)] == [503] * 3
    emu.clear_faults()
    assert send(http, token, "alice", "user_id").status_code == 200


def test_faults_do_not_touch_the_control_api(emu: Emulator, http: httpx.Client) -> None:
    emu.inject_fault("/*", "status", count=None)

    assert http.get("/_emulator/health").json() == {"ok": True}


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("explode", {}),
        ("latency", {}),
        ("code", {}),
        ("status", {"status": 99}),
        ("reset", {"ms": 3}),
    ],
)
def test_bad_faults_are_refused(emu: Emulator, kind: str, params: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        emu.inject_fault(MESSAGES_PATH, kind, **params)


@pytest.mark.parametrize(("path", "count"), [("open-apis/x", 1), ("/open-apis/x", 0)])
def test_bad_fault_path_or_count(emu: Emulator, path: str, count: int) -> None:
    with pytest.raises(ValueError):
        emu.inject_fault(path, "reset", count=count)

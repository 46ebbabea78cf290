"""The /_emulator/ control API, driven over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lark_service.testing import Emulator

from ._helpers import MESSAGES_PATH, TENANT_TOKEN_PATH, send, tenant_token


@pytest.fixture
def control(lark_emulator: Emulator) -> Iterator[httpx.Client]:
    """An HTTP client on an emulator with no data at all."""
    with httpx.Client(base_url=lark_emulator.url + "/_emulator", timeout=10) as client:
        yield client


def test_seed_over_http_then_send(lark_emulator: Emulator, control: httpx.Client) -> None:
    app = control.post("/apps", json={"app_id": "cli_x", "app_secret": "s", "token_ttl": 3600})
    users = control.post(
        "/users", json=[{"user_id": "u1", "email": "u1@example.com"}, {"user_id": "u2"}]
    )
    chat = control.post(
        "/chats", json={"chat_id": "oc_x", "name": "X", "members": ["u1"], "bot_app_ids": None}
    )

    assert app.status_code == 200 and app.json()["token_ttl"] == 3600
    assert [u["user_id"] for u in users.json()] == ["u1", "u2"]
    assert chat.json()["bot_app_ids"] is None
    assert [a["app_id"] for a in control.get("/apps").json()["items"]] == ["cli_x"]
    listed = control.get("/users", params={"app_id": "cli_x"}).json()["items"]
    assert listed[0]["open_id"] == lark_emulator.open_id("u1", "cli_x")
    assert [c["chat_id"] for c in control.get("/chats").json()["items"]] == ["oc_x"]

    with httpx.Client(base_url=lark_emulator.url) as http:
        token = tenant_token(http, "cli_x", "s")
        assert send(http, token, "oc_x", "chat_id").json()["code"] == 0
        assert send(http, token, "u1@example.com", "email").json()["code"] == 0


def test_messages_and_filters(lark_emulator: Emulator, control: httpx.Client) -> None:
    lark_emulator.seed_demo()
    with httpx.Client(base_url=lark_emulator.url) as http:
        token = tenant_token(http)
        send(http, token, "oc_demo", "chat_id")
        send(http, token, "bob", "user_id", msg_type="text", content={"text": "for bob"})

    everything = control.get("/messages").json()["items"]
    to_bob = control.get("/messages", params={"receive_id": "bob"}).json()["items"]
    in_chat = control.get("/messages", params={"chat_id": "oc_demo"}).json()["items"]
    other_app = control.get("/messages", params={"app_id": "cli_other"}).json()["items"]

    assert len(everything) == 2
    assert [m["content"] for m in to_bob] == [{"text": "for bob"}]
    assert [m["receive_id"] for m in in_chat] == ["oc_demo"]
    assert other_app == []


def test_request_log(lark_emulator: Emulator, control: httpx.Client) -> None:
    lark_emulator.seed_demo()
    with httpx.Client(base_url=lark_emulator.url) as http:
        token = tenant_token(http)
        send(http, token, "alice", "user_id", headers={"X-Request-Id": "rid-1"})
        send(http, token, "nobody", "user_id")

    log = control.get("/requests").json()["items"]
    assert [(r["method"], r["path"], r["status"], r["code"]) for r in log] == [
        ("POST", TENANT_TOKEN_PATH, 200, 0),
        ("POST", MESSAGES_PATH, 200, 0),
        ("POST", MESSAGES_PATH, 400, 99992352),
    ]
    assert log[1]["request_id"] == "rid-1"
    assert log[1]["query"] == {"receive_id_type": "user_id"}
    assert {r["app_id"] for r in log} == {"cli_demo"}
    assert all(r["log_id"] and r["time"] > 0 for r in log)
    failed = control.get("/requests", params={"code": 99992352}).json()["items"]
    assert len(failed) == 1
    im = control.get("/requests", params={"path": "/open-apis/im/*"}).json()["items"]
    assert len(im) == 2


def test_clock(lark_emulator: Emulator, control: httpx.Client) -> None:
    before = control.get("/clock").json()
    after = control.post("/clock/advance", json={"seconds": 3600}).json()

    assert before["offset"] == 0
    assert after["offset"] == 3600
    assert after["now"] - before["now"] >= 3600
    assert control.post("/clock/advance", json={"seconds": -1}).status_code == 400
    assert control.post("/clock/advance", json={}).status_code == 400


def test_revoke_tokens(lark_emulator: Emulator, control: httpx.Client) -> None:
    lark_emulator.seed_demo()
    with httpx.Client(base_url=lark_emulator.url) as http:
        token = tenant_token(http)
        listed = control.get("/tokens", params={"app_id": "cli_demo"}).json()["items"]
        assert [(t["token"], t["kind"], t["valid"]) for t in listed] == [(token, "tenant", True)]

        assert control.post("/tokens/revoke", json={"token": token}).json() == {"revoked": 1}
        assert send(http, token, "alice", "user_id").json()["code"] == 99991663
        assert control.post("/tokens/revoke", json={}).json() == {"revoked": 0}


def test_faults(lark_emulator: Emulator, control: httpx.Client) -> None:
    lark_emulator.seed_demo()
    created = control.post(
        "/faults",
        json={"path": "/open-apis/im/v1/*", "kind": "rate_limit", "count": 2, "reset": 3},
    )
    assert created.status_code == 200
    assert created.json()["kind"] == "rate_limit" and created.json()["count"] == 2
    assert len(control.get("/faults").json()["items"]) == 1

    with httpx.Client(base_url=lark_emulator.url) as http:
        token = tenant_token(http)
        response = send(http, token, "alice", "user_id")
        assert response.status_code == 429
        assert response.headers["x-ogw-ratelimit-reset"] == "3"

    assert control.get("/faults").json()["items"][0]["count"] == 1
    assert control.delete("/faults").json() == {"ok": True}
    assert control.get("/faults").json()["items"] == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/faults", {"path": "/open-apis/x", "kind": "explode"}),
        ("/faults", {"kind": "reset"}),
        ("/apps", {"app_id": "cli_x"}),
        ("/apps", {"app_id": "cli_x", "app_secret": "s", "colour": "red"}),
        ("/users", [1, 2]),
        ("/reset", [1]),
    ],
)
def test_bad_control_input_is_a_400(control: httpx.Client, path: str, body: object) -> None:
    response = control.post(path, json=body)

    assert response.status_code == 400
    assert response.json()["error"]


def test_bad_json_is_a_400(control: httpx.Client) -> None:
    response = control.post("/apps", content=b"{nope")
    assert response.status_code == 400


def test_stats(lark_emulator: Emulator, control: httpx.Client) -> None:
    lark_emulator.seed_demo()
    with httpx.Client(base_url=lark_emulator.url) as http:
        token = tenant_token(http)
        tenant_token(http)
        send(http, token, "alice", "user_id")

    stats = control.get("/stats").json()
    assert stats["token_fetches"] == {"cli_demo": {"tenant": 2}}
    assert stats["calls"] == {TENANT_TOKEN_PATH: 2, MESSAGES_PATH: 1}
    assert stats["requests"] == 3 and stats["messages"] == 1


def test_reset(lark_emulator: Emulator, control: httpx.Client) -> None:
    lark_emulator.seed_demo()
    lark_emulator.advance_clock(60)
    lark_emulator.inject_fault("/open-apis/*", "reset")

    assert control.post("/reset").json() == {"ok": True}
    assert lark_emulator.state.apps() == []
    assert lark_emulator.faults() == []
    assert lark_emulator.state.clock.offset == 0

    control.post("/reset", json={"seed_demo": True})
    assert [a.app_id for a in lark_emulator.state.apps()] == ["cli_demo"]
    assert lark_emulator.state.get_chat("oc_demo") is not None


def test_unknown_control_path_is_a_json_404(control: httpx.Client) -> None:
    response = control.get("/nope")
    assert response.status_code == 404
    assert response.json()["code"] == 404

"""Token endpoints and token checking."""

from __future__ import annotations

import httpx
import pytest

from lark_service.testing import Emulator

from ._helpers import APP_TOKEN_PATH, TENANT_TOKEN_PATH, assert_error, fetch_token, send


def test_tenant_token_answers_at_top_level(http: httpx.Client) -> None:
    response = fetch_token(http)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-tt-logid"]
    body = response.json()
    assert set(body) == {"code", "msg", "tenant_access_token", "expire"}
    assert body["code"] == 0 and body["msg"] == "ok"
    assert body["tenant_access_token"].startswith("t-")
    assert len(body["tenant_access_token"]) >= 40
    assert 7190 <= body["expire"] <= 7200


def test_app_token_endpoint_also_gives_the_tenant_token(emu: Emulator, http: httpx.Client) -> None:
    body = http.post(
        APP_TOKEN_PATH, json={"app_id": "cli_demo", "app_secret": "demo-secret"}
    ).json()
    tenant = fetch_token(http).json()["tenant_access_token"]

    assert body["code"] == 0
    assert body["app_access_token"].startswith("a-") and len(body["app_access_token"]) >= 40
    assert body["tenant_access_token"] == tenant
    assert 7190 <= body["expire"] <= 7200
    assert emu.token_fetches("cli_demo", "app") == 1
    assert emu.token_fetches("cli_demo", "tenant") == 1


def test_token_is_reused_while_more_than_30_minutes_remain(
    emu: Emulator, http: httpx.Client
) -> None:
    first = fetch_token(http).json()
    emu.advance_clock(7200 - 1800 - 60)  # 31 minutes left
    second = fetch_token(http).json()

    assert second["tenant_access_token"] == first["tenant_access_token"]
    assert 1800 < second["expire"] <= 1860
    assert emu.token_fetches("cli_demo", "tenant") == 2
    assert emu.token_fetches() == 2


def test_token_rotates_at_30_minutes_and_the_old_one_stays_valid(
    emu: Emulator, http: httpx.Client
) -> None:
    old = fetch_token(http).json()["tenant_access_token"]
    emu.advance_clock(7200 - 1800)  # exactly 30 minutes left: a new token
    new = fetch_token(http).json()

    assert new["tenant_access_token"] != old
    assert 7190 <= new["expire"] <= 7200
    assert send(http, old, "alice", "user_id").json()["code"] == 0

    emu.advance_clock(1801)  # the old one has expired, the new one has not
    assert_error(send(http, old, "alice", "user_id"), 99991663)
    assert send(http, new["tenant_access_token"], "alice", "user_id").json()["code"] == 0


def test_short_token_ttl_gives_a_new_token_every_time(emu: Emulator, http: httpx.Client) -> None:
    emu.add_app("cli_short", "s", token_ttl=600)
    first = fetch_token(http, "cli_short", "s").json()
    second = fetch_token(http, "cli_short", "s").json()

    assert first["tenant_access_token"] != second["tenant_access_token"]
    assert first["expire"] <= 600


def test_wrong_secret_answers_10014(emu: Emulator, http: httpx.Client) -> None:
    response = fetch_token(http, "cli_demo", "not-the-secret")

    body = assert_error(response, 10014)
    assert body["msg"] == "app secret invalid"
    assert "tenant_access_token" not in body
    assert emu.token_fetches("cli_demo") == 1
    assert emu.requests(path=TENANT_TOKEN_PATH)[0].app_id == "cli_demo"


@pytest.mark.parametrize(
    "body",
    [
        {"app_id": "cli_nobody", "app_secret": "x"},
        {"app_secret": "demo-secret"},
        {"app_id": "cli_demo"},
    ],
)
def test_unknown_app_or_missing_field_answers_10003(
    http: httpx.Client, body: dict[str, str]
) -> None:
    assert_error(http.post(TENANT_TOKEN_PATH, json=body), 10003)


def test_token_body_that_is_not_json_answers_10003(http: httpx.Client) -> None:
    response = http.post(TENANT_TOKEN_PATH, content=b"app_id=cli_demo")
    assert_error(response, 10003)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, 99991661),
        ("Bearer", 99991661),
        ("Basic dXNlcjpwYXNz", 99991661),
        ("Bearer x-something", 99991671),
        ("Bearer t-unknown0000000000000000000000000000000000", 99991663),
        ("Bearer a-unknown0000000000000000000000000000000000", 99991664),
        ("Bearer u-unknown0000000000000000000000000000000000", 99991668),
    ],
)
def test_bad_authorization(http: httpx.Client, header: str | None, code: int) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = http.post(
        "/open-apis/im/v1/messages",
        params={"receive_id_type": "user_id"},
        json={"receive_id": "alice", "msg_type": "text", "content": '{"text":"x"}'},
        headers=headers,
    )
    assert_error(response, code)


def test_expired_token_answers_99991663(emu: Emulator, http: httpx.Client, token: str) -> None:
    emu.advance_clock(7201)
    assert_error(send(http, token, "alice", "user_id"), 99991663)


def test_app_token_on_a_tenant_endpoint_is_refused(http: httpx.Client) -> None:
    app_token = http.post(
        APP_TOKEN_PATH, json={"app_id": "cli_demo", "app_secret": "demo-secret"}
    ).json()["app_access_token"]
    body = assert_error(send(http, app_token, "alice", "user_id"), 99991664)
    assert "not support" in body["msg"]


def test_revoked_token_is_refused_and_the_next_fetch_issues_a_new_one(
    emu: Emulator, http: httpx.Client, token: str
) -> None:
    assert emu.revoke_tokens(app_id="cli_demo") == 1
    assert_error(send(http, token, "alice", "user_id"), 99991663)

    fresh = fetch_token(http).json()["tenant_access_token"]
    assert fresh != token
    assert send(http, fresh, "alice", "user_id").json()["code"] == 0


def test_revoke_one_token_by_value(emu: Emulator, http: httpx.Client, token: str) -> None:
    emu.add_app("cli_other", "o")
    other = fetch_token(http, "cli_other", "o").json()["tenant_access_token"]

    assert emu.revoke_tokens(token=token) == 1
    assert_error(send(http, token, "alice", "user_id"), 99991663)
    assert send(http, other, "alice", "user_id").json()["code"] == 0


def test_revoked_app_token_answers_99991664(emu: Emulator, http: httpx.Client) -> None:
    body = http.post(APP_TOKEN_PATH, json={"app_id": "cli_demo", "app_secret": "demo-secret"})
    app_token = body.json()["app_access_token"]
    assert emu.revoke_tokens(kind="app") == 1
    assert emu.tokens(kind="app")[0].revoked
    assert emu.tokens(kind="tenant")[0].is_valid(emu.now())
    response = http.post(
        "/open-apis/im/v1/messages",
        params={"receive_id_type": "user_id"},
        headers={"Authorization": f"Bearer {app_token}"},
    )
    assert_error(response, 99991664)

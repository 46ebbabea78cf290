"""Plain-httpx helpers for driving the emulator (no lark_service client involved)."""

from __future__ import annotations

import json
from typing import Any

import httpx

TENANT_TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
APP_TOKEN_PATH = "/open-apis/auth/v3/app_access_token/internal"
MESSAGES_PATH = "/open-apis/im/v1/messages"
DEMO_APP = ("cli_demo", "demo-secret")


def fetch_token(
    http: httpx.Client, app_id: str = DEMO_APP[0], app_secret: str = DEMO_APP[1]
) -> httpx.Response:
    return http.post(TENANT_TOKEN_PATH, json={"app_id": app_id, "app_secret": app_secret})


def tenant_token(
    http: httpx.Client, app_id: str = DEMO_APP[0], app_secret: str = DEMO_APP[1]
) -> str:
    response = fetch_token(http, app_id, app_secret)
    assert response.status_code == 200, response.text
    value = response.json()["tenant_access_token"]
    assert isinstance(value, str)
    return value


def send(
    http: httpx.Client,
    token: str,
    receive_id: str,
    receive_id_type: str | None = "open_id",
    *,
    msg_type: str = "text",
    content: Any = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> httpx.Response:
    """POST im/v1/messages; ``content`` dicts are JSON-encoded, anything else is sent as is."""
    if content is None:
        content = {"text": "hello"}
    body: dict[str, Any] = {
        "receive_id": receive_id,
        "msg_type": msg_type,
        "content": json.dumps(content) if isinstance(content, dict) else content,
        **extra,
    }
    params = {"receive_id_type": receive_id_type} if receive_id_type else {}
    return http.post(
        MESSAGES_PATH,
        params=params,
        json=body,
        headers={"Authorization": f"Bearer {token}", **(headers or {})},
    )


def assert_error(response: httpx.Response, code: int, http_status: int = 400) -> dict[str, Any]:
    """Feishu's error envelope with ``code``; its log_id is the X-Tt-Logid header."""
    assert response.status_code == http_status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert body["data"] == {}
    assert body["error"]["log_id"] == response.headers["x-tt-logid"]
    assert isinstance(body, dict)
    return body

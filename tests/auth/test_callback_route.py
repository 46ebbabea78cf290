"""GET /oauth/callback on the server: state checked, code exchanged, a plain result page in
the user's language; no token, code or state in the page or the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from lark_service import LarkClient
from lark_service.config import Settings
from lark_service.server import create_app
from lark_service.testing import Emulator

from ._server import serve
from .conftest import APP_ID, SECRET, consent


@pytest.fixture
def server(emu: Emulator) -> Iterator[str]:
    settings = Settings(app_id=APP_ID, app_secret=SECRET, base_url=emu.url)
    with serve(create_app(settings=settings, dispatcher="inprocess")) as url:
        yield url


def test_success_page_and_stored_tokens(
    server: str, client: LarkClient, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = emu.open_id("alice", APP_ID)
    link = client.auth.authorization_url(user, redirect_uri=server + "/oauth/callback")
    answer = consent(link)
    page = httpx.get(
        server + "/oauth/callback", params=answer, headers={"Accept-Language": "zh-CN"}
    )
    assert page.status_code == 200 and "授权成功" in page.text and "lang='zh-CN'" in page.text
    assert client.auth.status(user).authorized
    token = client.auth.get_user_access_token(user)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("lark_service"))
    assert "authorization completed" in ours
    for secret in (token, answer["code"], answer["state"]):
        assert secret not in page.text and secret not in ours
    again = httpx.get(server + "/oauth/callback", params=answer)
    assert again.status_code == 410 and "expired" in again.text


def test_denied_and_bad_requests(server: str) -> None:
    denied = httpx.get(server + "/oauth/callback", params={"error": "access_denied", "state": "x"})
    assert denied.status_code == 200 and "declined" in denied.text
    bad = httpx.get(server + "/oauth/callback")
    assert bad.status_code == 400 and "data-result='bad'" in bad.text
    unknown = httpx.get(server + "/oauth/callback", params={"code": "c", "state": "nope"})
    assert unknown.status_code == 410

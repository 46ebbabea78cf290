"""Fixtures for user OAuth tests: the emulator with an app (callback URL optional), alice and
bob, a client whose redirect URI is a local callback, and a helper that answers the consent
page the way a browser would (GET the HTML, submit its form)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from lark_service import LarkClient
from lark_service.testing import FAST_RETRY, Emulator

APP_ID = "cli_authtest"
SECRET = "auth-test-secret"
REDIRECT = "http://127.0.0.1:9/oauth/callback"


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    lark_emulator.add_app(APP_ID, SECRET)
    lark_emulator.add_user("alice", name="Alice", email="alice@example.com")
    lark_emulator.add_user("bob", name="Bob")
    return lark_emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[LarkClient]:
    with LarkClient(APP_ID, SECRET, base_url=emu.url, retry=FAST_RETRY) as c:
        yield c


def open_id(emu: Emulator, user_id: str = "alice") -> str:
    return emu.open_id(user_id, APP_ID)


def consent(url: str, *, user_id: str = "alice", decision: str = "approve") -> dict[str, str]:
    """Open the consent page at ``url``, submit it; the redirect's query (code, state)."""
    page = httpx.get(url)
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r"<input type='hidden' name='([^']+)' value='([^']*)'>", page.text))
    import html

    fields = {k: html.unescape(v) for k, v in fields.items()}
    fields.setdefault("user_id", user_id)
    fields["decision"] = decision
    action = re.search(r"<form method='post' action='([^']+)'", page.text)
    assert action is not None
    parts = urlsplit(url)
    answer = httpx.post(f"{parts.scheme}://{parts.netloc}{action.group(1)}", data=fields)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

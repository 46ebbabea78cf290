"""The auth callbacks registered without wiring: ``lark-service serve`` handles
``auth.user_access_token.revoked_v4`` (the user becomes unauthorized), ``include_auth`` for a
mounted router (name kept, the caller's own handler still runs), and the ``auth.*``
instrumentation events (never the user's id or a token)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

from lark_service import LarkClient, instrumentation
from lark_service.auth import REVOKED_EVENT, include_auth
from lark_service.callbacks import CallbackRouter
from lark_service.cli import cli
from lark_service.testing import Emulator
from lark_service.testing.emulator.routes_oauth import revocation_payload

from ._server import serve
from .conftest import APP_ID, REDIRECT, SECRET, consent

EK, VT = "auth-routes-encrypt-key", "auth-routes-verify-token"


def _authorize(client: LarkClient, emu: Emulator, user_id: str = "alice") -> str:
    user = emu.open_id(user_id, APP_ID)
    url = client.auth.authorization_url(user, redirect_uri=REDIRECT)
    answer = consent(url, user_id=user_id)
    client.auth.complete_authorization(answer["code"], answer["state"])
    return user


def _authorized(emu: Emulator, user: str) -> bool:
    with LarkClient(APP_ID, SECRET, base_url=emu.url) as fresh:  # reads the shared store
        return fresh.auth.status(user).authorized


def test_serve_registers_the_revocation_handler(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "LARK_APP_ID": APP_ID,
        "LARK_APP_SECRET": SECRET,
        "LARK_BASE_URL": emu.url,
        "LARK_ENCRYPT_KEY": EK,
        "LARK_VERIFICATION_TOKEN": VT,
    }.items():
        monkeypatch.setenv(name, value)
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda asgi, **kw: served.append(asgi))
    result = CliRunner().invoke(cli, ["serve", "--dispatcher", "inprocess"])
    assert result.exit_code == 0, result.output
    assert "(0 routes)" in result.output  # the caller's routes; the auth ones come on top
    with LarkClient(APP_ID, SECRET, base_url=emu.url) as client:
        alice = _authorize(client, emu)
        bob = _authorize(client, emu, "bob")
    with serve(served[0]) as url:
        callback = f"{url}/callbacks/{APP_ID}/event"
        emu.add_app(APP_ID, SECRET, callback_url=callback, encrypt_key=EK, verification_token=VT)
        answer = httpx.post(
            emu.url + "/_emulator/oauth/revoke", json={"app_id": APP_ID, "user_id": "alice"}
        ).json()
        assert answer["delivered"] == 200
        deadline = time.monotonic() + 20
        while _authorized(emu, alice) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert not _authorized(emu, alice)
    assert _authorized(emu, bob)  # only the revoked user


def test_serve_without_auth_routes(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LARK_APP_ID", APP_ID)
    monkeypatch.setenv("LARK_APP_SECRET", SECRET)
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda asgi, **kw: served.append(asgi))
    result = CliRunner().invoke(cli, ["serve", "--dispatcher", "inprocess", "--no-auth-routes"])
    assert result.exit_code == 0, result.output
    assert len(served) == 1


def test_include_auth_keeps_the_name_and_runs_the_callers_handler_after() -> None:
    router = CallbackRouter(name="myapp")
    seen: list[str] = []

    @router.event("*")
    def everything(event: Any) -> None:
        seen.append(event.event_type)

    combined = include_auth(router)
    assert combined.name == "myapp" and len(combined) == 3
    assert include_auth(combined) is combined
    kinds = [(r.kind, r.event_type) for r in combined.routes]
    assert kinds[0] == ("event", REVOKED_EVENT) and kinds[-1] == ("event", "*")


@pytest.mark.anyio
async def test_the_wrapped_revocation_forgets_then_runs_the_callers_handler(
    emu: Emulator, client: LarkClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lark_service import AsyncLarkClient
    from lark_service.callbacks.models import parse_callback
    from lark_service.callbacks.router import HandlerContext

    alice = _authorize(client, emu)
    router = CallbackRouter(name="myapp")
    seen: list[str] = []

    @router.event(REVOKED_EVENT)
    async def mine(event: Any) -> None:
        seen.append(event.event_type)

    async with AsyncLarkClient(APP_ID, SECRET, base_url=emu.url) as aclient:
        combined = include_auth(router, aclient)
        event = parse_callback(revocation_payload(emu.state, APP_ID, "alice"), "event")
        await combined.dispatch(event, HandlerContext(app_id=APP_ID))
    assert seen == [REVOKED_EVENT]
    assert not _authorized(emu, alice)


def test_auth_events_name_no_user_and_no_token(
    emu: Emulator, client: LarkClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with instrumentation.EventRecorder(prefix="auth.") as events:
        alice = _authorize(client, emu)
        pool = client._pipeline.pool
        now = pool.clock()
        pool.clock = lambda: now + 7200  # the access token is due: refreshed (rotated)
        token = client.auth.get_user_access_token(alice)
        client.auth.handle_revocation(revocation_payload(emu.state, APP_ID, "alice"))
        bob = _authorize(client, emu, "bob")
        assert client.auth.revoke(bob) is True
        assert client.auth.revoke(bob) is False
    assert events.names() == [
        "auth.authorization_started",
        "auth.authorization_completed",
        "auth.user_token_refreshed",
        "auth.user_token_revoked",
        "auth.authorization_started",
        "auth.authorization_completed",
        "auth.user_token_revoked",
        "auth.user_token_revoked",
    ]
    fields = [e.fields for e in events.events]
    assert fields[0] == {"method": "link"}
    assert fields[1] == {"method": "link", "outcome": "ok"}
    assert fields[2] == {"method": "refresh_token", "outcome": "ok"}
    assert fields[3] == {"method": "event", "outcome": "forgotten"}
    assert fields[6:] == [
        {"method": "local", "outcome": "forgotten"},
        {"method": "local", "outcome": "none"},
    ]
    dumped = json.dumps(fields)
    for secret in (alice, bob, token):
        assert secret not in dumped
    assert all(e.app_id == APP_ID for e in events.events)

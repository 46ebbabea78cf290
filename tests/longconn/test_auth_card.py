"""The authorization-card flow without a public URL, end to end over the long connection:
``send_auth_card(open_id, method="device")`` sends the device flow's card; the user approves
on Feishu's page; the listener completes it by its background poll, or when the user presses
the card's *I have authorized* button (the click arrives over the socket). Also the
revocation event over ``lark-service listen``, and ``Emulator.click_card(transport="ws")``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from lark_service import LarkClient, errors, instrumentation
from lark_service.auth import DEVICE_CARD_VALUE, include_auth
from lark_service.callbacks import CallbackRouter, Toast
from lark_service.callbacks.handler import ServerConfig
from lark_service.longconn import LongConnection, LongConnectionConfig
from lark_service.testing import Emulator
from lark_service.testing.emulator.longconn_state import LongConnControl
from lark_service.testing.emulator.oauth_state import oauth

from ._listener import start_listener, stop_listener
from .conftest import APP, SECRET


def _until(predicate: Callable[[], object], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The app in the environment (as `lark-service listen` reads it); alice exists; device
    authorizations announce a 1 s interval."""
    monkeypatch.setenv("LARK_APP_ID", APP)
    monkeypatch.setenv("LARK_APP_SECRET", SECRET)
    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    emu.add_user("alice", name="Alice")
    httpx.post(emu.url + "/_emulator/oauth/config", json={"device_interval": 1})
    return emu


def _authorized(emu: Emulator, user: str) -> bool:
    with LarkClient(APP, SECRET, base_url=emu.url) as fresh:  # reads the shared store
        return fresh.auth.status(user).authorized


def _pending_user_code(emu: Emulator) -> str:
    devices = [d for d in oauth(emu.state).devices.values() if d.status == "pending"]
    assert len(devices) == 1
    return devices[0].user_code


def _approve(emu: Emulator, user_code: str, user_id: str = "alice") -> None:
    answer = httpx.post(f"{emu.url}/_emulator/oauth/device/{user_code}", json={"user_id": user_id})
    assert answer.status_code == 200, answer.text


def _card(emu: Emulator, message_id: str) -> dict[str, Any]:
    message = emu.state.get_message(message_id)
    assert message is not None
    content = message.content
    return content if isinstance(content, dict) else json.loads(content)


def test_device_card_is_completed_by_the_listeners_background_poll(
    env: Emulator, ws: LongConnControl
) -> None:
    emu = env
    alice = emu.open_id("alice", APP)
    conn = LongConnection(
        include_auth(CallbackRouter()),
        app_id=APP,
        app_secret=SECRET,
        base_url=emu.url,
        config=LongConnectionConfig(device_poll_tick=0.05),
        server_config=ServerConfig(reply_wait=2.5),
    )
    with instrumentation.EventRecorder(prefix="auth.") as events:
        conn.start()
        try:
            with LarkClient(APP, SECRET, base_url=emu.url) as client:
                sent = client.auth.send_auth_card(alice, reason="Read your tables", method="device")
                assert not client.auth.status(alice).authorized
            user_code = _pending_user_code(emu)
            card = json.dumps(_card(emu, sent.message_id), ensure_ascii=False)
            assert user_code in card and "/open-apis/authen/v1/device?user_code=" in card
            assert "Read your tables" in card and DEVICE_CARD_VALUE in card
            assert conn.device_poller is not None
            _approve(emu, user_code)
            assert _until(lambda: _authorized(emu, alice))
            assert [a.open_id for a in conn.device_poller.completed] == [alice]
            assert [a.method for a in conn.device_poller.completed] == ["device"]
            # the button pressed after the poll finished it: the card says authorized
            late = emu.click_card(
                sent.message_id,
                {"lark_service": DEVICE_CARD_VALUE},
                user_id="alice",
                transport="ws",
            )
            assert late["answer"]["toast"]["type"] == "success"
        finally:
            conn.stop()
    with LarkClient(APP, SECRET, base_url=emu.url) as client:
        assert client.auth.pending_device_authorizations() == []  # the session ended
        assert client.as_user(alice).auth.user_info().open_id == alice
    started = events.named("auth.authorization_started")
    completed = events.named("auth.authorization_completed")
    assert [e.fields for e in started] == [{"method": "device"}]
    assert [e.fields for e in completed] == [{"method": "device", "outcome": "ok"}]
    for event in events.events:  # never the user's id or a token
        assert event.app_id == APP
        assert alice not in json.dumps(event.fields)


def test_device_card_button_click_over_the_long_connection_completes_it(
    env: Emulator, ws: LongConnControl
) -> None:
    emu = env
    alice = emu.open_id("alice", APP)
    conn = LongConnection(
        include_auth(CallbackRouter()),
        app_id=APP,
        app_secret=SECRET,
        base_url=emu.url,
        config=LongConnectionConfig(device_poll=False),
        server_config=ServerConfig(reply_wait=2.5),
    )
    conn.start()
    try:
        assert conn.device_poller is None
        with LarkClient(APP, SECRET, base_url=emu.url) as client:
            sent = client.auth.send_auth_card(alice, method="device", language="en")
        button = {"lark_service": DEVICE_CARD_VALUE}
        early = emu.click_card(sent.message_id, button, user_id="alice", transport="ws")
        assert early["transport"] == "ws" and early["status"] == 200
        assert early["answer"]["toast"]["type"] == "info"
        assert "Not approved yet" in early["answer"]["toast"]["content"]
        assert not _authorized(emu, alice)

        _approve(emu, _pending_user_code(emu))
        done = emu.click_card(sent.message_id, button, user_id="alice", transport="ws")
        assert done["status"] == 200 and done["answer"]["toast"]["type"] == "success"
        assert _authorized(emu, alice)
        replaced = json.dumps(_card(emu, sent.message_id))
        assert "Authorized" in replaced and DEVICE_CARD_VALUE not in replaced
        with LarkClient(APP, SECRET, base_url=emu.url) as client:
            assert client.auth.pending_device_authorizations() == []  # the session ended
    finally:
        conn.stop()


def test_complete_device_authorization_by_open_id(env: Emulator, sleeps: list[float]) -> None:
    emu = env
    alice = emu.open_id("alice", APP)
    with LarkClient(APP, SECRET, base_url=emu.url) as client:
        client.auth.send_auth_card(alice, method="device")
        assert client.auth.complete_device_authorization(open_id=alice, wait=False) is None
        _approve(emu, _pending_user_code(emu))
        done = client.auth.complete_device_authorization(open_id=alice)
        assert done is not None and done.open_id == alice and done.method == "device"
        assert client.auth.status(alice).authorized
        with pytest.raises(errors.AuthSessionExpiredError):
            client.auth.complete_device_authorization(open_id=alice)
        with pytest.raises(errors.ValidationError):
            client.auth.complete_device_authorization()
        with pytest.raises(errors.ValidationError):
            client.auth.send_auth_card(alice, method="telepathy")


def test_device_card_denied_and_expired(env: Emulator, sleeps: list[float]) -> None:
    emu = env
    alice = emu.open_id("alice", APP)
    with (
        instrumentation.EventRecorder(prefix="auth.authorization_failed") as failed,
        LarkClient(APP, SECRET, base_url=emu.url) as client,
    ):
        client.auth.send_auth_card(alice, method="device")
        code = _pending_user_code(emu)
        httpx.post(
            f"{emu.url}/_emulator/oauth/device/{code}", json={"user_id": "alice", "approve": False}
        )
        with pytest.raises(errors.LarkError):
            client.auth.complete_device_authorization(open_id=alice)
        assert client.auth.pending_device_authorizations() == []

        client.auth.send_auth_card(alice, method="device")
        emu.advance_clock(601)
        with pytest.raises(errors.AuthSessionExpiredError):
            client.auth.complete_device_authorization(open_id=alice)
    assert [e.fields["outcome"] for e in failed.events] == ["denied", "expired"]
    assert all(e.fields["method"] == "device" for e in failed.events)


def test_click_card_transport_ws_and_its_checks(emu: Emulator, ws: LongConnControl) -> None:
    emu.add_user("bob", name="Bob")
    router = CallbackRouter()

    @router.card_action(value_key="go")
    def go(event: Any) -> Toast:
        return Toast(f"went {event.action.value['go']}", "success")

    conn = LongConnection(router, app_id=APP, app_secret=SECRET, base_url=emu.url)
    conn.start()
    try:
        with LarkClient(APP, SECRET, base_url=emu.url) as client:
            sent = client.messaging.send_interactive_card(
                emu.open_id("bob", APP),
                {
                    "elements": [
                        {
                            "tag": "action",
                            "actions": [
                                {
                                    "tag": "button",
                                    "text": {"tag": "plain_text", "content": "Go"},
                                    "value": {"go": "north"},
                                }
                            ],
                        }
                    ]
                },
                receive_id_type="open_id",
            )
        result = emu.click_card(sent.message_id, {"go": "north"}, user_id="bob", transport="ws")
        assert result["transport"] == "ws" and result["status"] == 200
        assert result["answer"]["toast"] == {"type": "success", "content": "went north"}
        assert ws.domain.pushes[-1].payload["header"]["event_type"] == "card.action.trigger"

        import anyio

        async def click() -> dict[str, Any]:
            return await emu.aclick_card(sent.message_id, {"go": "north"}, transport="ws")

        assert anyio.run(click)["answer"]["toast"]["content"] == "went north"
        with pytest.raises(ValueError, match="transport"):
            emu.click_card(sent.message_id, {"go": "north"}, transport="carrier-pigeon")
        with pytest.raises(ValueError, match="legacy"):
            emu.click_card(sent.message_id, {"go": "north"}, transport="ws", legacy=True)
    finally:
        conn.stop()


def test_listen_marks_a_revoked_user_unauthorized(
    env: Emulator, ws: LongConnControl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = env
    monkeypatch.setenv("LARK_HOME", str(tmp_path))  # the listener's home: one state database
    alice = emu.open_id("alice", APP)
    with LarkClient(APP, SECRET, base_url=emu.url) as client:
        device = client.auth.start_device_authorization()
        _approve(emu, device.user_code)
        client.auth.poll_device_authorization(device)
    assert _authorized(emu, alice)
    process, _ = start_listener(emu.url, APP, SECRET, tmp_path)
    try:
        assert ws.wait_connections(APP, timeout=30)
        answer = httpx.post(
            emu.url + "/_emulator/oauth/revoke", json={"app_id": APP, "user_id": "alice"}
        ).json()
        assert answer["delivered"] == "ws"
        assert _until(lambda: not _authorized(emu, alice))
    finally:
        stop_listener(process)
    with LarkClient(APP, SECRET, base_url=emu.url) as client:
        with pytest.raises(errors.AuthorizationRequiredError):
            client.as_user(alice).auth.user_info()

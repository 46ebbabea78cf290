"""``LongConnection`` against the emulator's WebSocket server: delivery, acks after storing,
dedup, split frames, card answers in the ack and by delayed update, drops, half-open sockets,
handshake refusals, the connection limit, back-pressure, several apps, every way to run it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lark_service import errors, instrumentation
from lark_service.callbacks import (
    CallbackHandler,
    CallbackRouter,
    CardActionEvent,
    CardResponse,
    InProcessDispatcher,
    Toast,
)
from lark_service.callbacks.handler import ServerConfig
from lark_service.callbacks.simulate import message_event_payload
from lark_service.longconn import LongConnection, LongConnectionConfig
from lark_service.testing import Emulator
from lark_service.testing.emulator.longconn_state import MAX_CONNECTIONS, LongConnControl

from .conftest import APP, SECRET


class Seen:
    """What handlers saw: event ids, in order, and the threads they ran on."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.threads: set[str] = set()
        self.loops: set[int] = set()
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def add(self, event_id: str | None) -> None:
        with self.changed:
            self.ids.append(event_id or "?")
            self.threads.add(threading.current_thread().name)
            with contextlib.suppress(RuntimeError):
                self.loops.add(id(asyncio.get_running_loop()))
            self.changed.notify_all()

    def wait(self, n: int, timeout: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.ids) >= n, timeout)


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def router(seen: Seen) -> CallbackRouter:
    router = CallbackRouter()

    @router.event("im.message.receive_v1")
    async def on_message(event: Any) -> None:
        seen.add(event.event_id)

    return router


def connection(emu: Emulator, router: CallbackRouter | None = None, **kw: Any) -> LongConnection:
    return LongConnection(router, app_id=APP, app_secret=SECRET, base_url=emu.url, **kw)


@pytest.fixture
def conn(emu: Emulator, ws: LongConnControl, router: CallbackRouter) -> Iterator[LongConnection]:
    c = connection(emu, router).start()
    yield c
    c.stop()


def test_an_event_is_handled_off_the_socket_loop_and_acked_after_it_is_stored(
    emu: Emulator, ws: LongConnControl, router: CallbackRouter, seen: Seen
) -> None:
    with instrumentation.EventRecorder() as events:
        c = connection(emu, router).start()
        try:
            push = ws.say(APP, "hello")
            assert ws.wait_acked([push], 10)
            assert seen.wait(1)
            socket_loop = c._loop
        finally:
            c.stop()
    assert push.ack_code == 200 and push.attempts == 1
    assert seen.ids == [push.event_id]
    assert id(socket_loop) not in seen.loops  # never on the socket's event loop
    assert not any(name.startswith("lark-longconn") for name in seen.threads)
    names = [e.name for e in events.events if e.name in ("callback.stored", "longconn.ack")]
    assert names[:2] == ["callback.stored", "longconn.ack"]  # stored, then acknowledged
    ack = next(e for e in events.events if e.name == "longconn.ack")
    assert (ack["kind"], ack["status"], ack["sent"]) == ("event", 200, True)
    assert ack["latency"] < 3.0
    states = [e["state"] for e in events.events if e.name == "longconn.state"]
    assert states[:2] == ["connecting", "connected"] and states[-1] == "stopped"


def test_a_re_pushed_event_is_acked_but_handled_once(
    emu: Emulator, ws: LongConnControl, conn: LongConnection, seen: Seen
) -> None:
    payload = message_event_payload(APP, "twice")
    first = ws.push_event(APP, payload)
    second = ws.push_event(APP, payload)  # Feishu pushing the same event again
    assert ws.wait_acked([first, second], 10)
    time.sleep(0.2)  # a duplicate would have run by now
    assert seen.ids == [payload["header"]["event_id"]]


def test_split_frames_are_reassembled_in_any_order(
    emu: Emulator, ws: LongConnControl, conn: LongConnection, seen: Seen
) -> None:
    ws.split_next(4, reverse=True)
    push = ws.say(APP, "x" * 3000)
    assert ws.wait_acked([push], 10)
    assert seen.wait(1) and seen.ids == [push.event_id]


def test_an_event_that_cannot_be_stored_is_not_acked(
    emu: Emulator, ws: LongConnControl, router: CallbackRouter, seen: Seen, tmp_path: Any
) -> None:
    from lark_service.callbacks import OutboxStore
    from lark_service.errors import StorageUnavailableError

    class Broken(InProcessDispatcher):
        async def submit(self, verified: Any) -> Any:
            raise StorageUnavailableError("disk full")

    store = OutboxStore(f"sqlite:///{tmp_path / 'x.db'}")
    handler = CallbackHandler(router, dispatcher=Broken(router, store))
    c = connection(emu, handler=handler).start()
    try:
        push = ws.say(APP, "lost?")
        deadline = time.monotonic() + 10
        while push.attempts < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not push.acked and push.ack_code == 500 and push.attempts >= 2  # pushed again
        assert seen.ids == []
    finally:
        c.stop()
        handler.close()


CARD = {
    "config": {"update_multi": True},
    "elements": [{"tag": "action", "actions": [{"tag": "button", "value": {"do": "ok"}}]}],
}


def send_card(emu: Emulator) -> str:
    with httpx.Client(base_url=emu.url) as http:
        token = http.post(
            "/open-apis/auth/v3/tenant_access_token/internal",
            json={"app_id": APP, "app_secret": SECRET},
        ).json()["tenant_access_token"]
        sent = http.post(
            "/open-apis/im/v1/messages",
            params={"receive_id_type": "user_id"},
            headers={"Authorization": f"Bearer {token}"},
            json={"receive_id": "alice", "msg_type": "interactive", "content": json.dumps(CARD)},
        )
    message_id: str = sent.json()["data"]["message_id"]
    return message_id


def card_router(delay: float) -> CallbackRouter:
    router = CallbackRouter()

    @router.card_action(value_key="do", value="ok")
    async def ok(event: CardActionEvent) -> CardResponse:
        await asyncio.sleep(delay)
        return CardResponse(
            toast=Toast("done", type="success"),
            card={"elements": [{"tag": "markdown", "content": f"handled after {delay}"}]},
        )

    return router


def test_a_card_click_over_the_socket_is_answered_in_the_ack(
    emu: Emulator, ws: LongConnControl
) -> None:
    emu.add_user("alice", name="Alice")
    message_id, other = send_card(emu), send_card(emu)
    c = connection(emu, card_router(0.0)).start()
    try:
        result = ws.click_card(message_id, {"value": {"do": "ok"}, "user_id": "alice"})
        # the HTTP click control chooses the socket for an app without a callback URL
        http_result = httpx.post(
            f"{emu.url}/_emulator/cards/{other}/click",
            json={"value": {"do": "ok"}, "user_id": "alice"},
            timeout=15,
        ).json()
    finally:
        c.stop()
    assert result["status"] == 200 and result["transport"] == "ws"
    assert result["answer"]["toast"]["content"] == "done"
    assert http_result["transport"] == "ws" and http_result["answer"]["toast"]["type"] == "success"
    content = emu.state.get_message(message_id).content
    assert "handled after 0.0" in json.dumps(content)  # the card in the ack was applied


def test_a_slow_card_handler_updates_the_card_later(
    emu: Emulator, ws: LongConnControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (
        ("LARK_APP_ID", APP),
        ("LARK_APP_SECRET", SECRET),
        ("LARK_BASE_URL", emu.url),
    ):
        monkeypatch.setenv(name, value)
    emu.add_user("alice", name="Alice")
    message_id = send_card(emu)
    c = connection(emu, card_router(0.3), server_config=ServerConfig(reply_wait=0.05)).start()
    try:
        result = ws.click_card(message_id, {"value": {"do": "ok"}, "user_id": "alice"})
        assert result["status"] == 200 and not result["answer"]  # acked before the handler
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if "handled after 0.3" in json.dumps(emu.state.get_message(message_id).content):
                break
            time.sleep(0.02)
        else:
            pytest.fail("the delayed card update never came")
    finally:
        c.stop()


def _reconnected_within(ws: LongConnControl, since: float) -> float:
    """Seconds from ``since`` to the next connection the emulator saw open."""
    opened = [h["at"] for h in ws.domain.history if h["event"] == "opened" and h["at"] > since]
    assert opened, "no new connection"
    return min(opened) - since


def test_a_dropped_socket_is_replaced_and_unacked_events_arrive(
    emu: Emulator, ws: LongConnControl, conn: LongConnection, seen: Seen
) -> None:
    assert ws.wait_connections(APP)
    pushes = [ws.say(APP, f"m{i}") for i in range(20)]
    at = time.monotonic()
    ws.drop(APP)
    pushes += [ws.say(APP, f"n{i}") for i in range(20)]
    assert ws.wait_acked(pushes, 15)
    assert seen.wait(40)
    assert sorted(set(seen.ids)) == sorted({p.event_id for p in pushes if p.event_id})
    conf = ws.domain.config
    assert _reconnected_within(ws, at) <= conf.reconnect_nonce + conf.ping_interval
    assert conn.reconnects >= 1


def test_a_half_open_socket_is_replaced_within_the_bound(
    emu: Emulator, ws: LongConnControl, conn: LongConnection, seen: Seen
) -> None:
    assert ws.wait_connections(APP)
    with instrumentation.EventRecorder() as events:
        at = time.monotonic()
        assert ws.half_open(APP) == 1
        push = ws.say(APP, "after")
        assert ws.wait_acked([push], 10)
    conf = ws.domain.config
    bound = 3 * conf.ping_interval + conf.reconnect_interval
    assert _reconnected_within(ws, at) <= bound
    assert "longconn.half_open" in events.names()
    reasons = [e["reason"] for e in events.events if e.name == "longconn.reconnect"]
    assert "half_open" in reasons


@pytest.mark.parametrize(
    ("status", "autherrcode", "error"),
    [
        (403, None, errors.HandshakeError),
        (514, 1000040350, errors.ConnectionLimitError),
    ],
)
def test_a_refused_handshake_is_a_typed_error(
    emu: Emulator,
    ws: LongConnControl,
    router: CallbackRouter,
    status: int,
    autherrcode: int | None,
    error: type[Exception],
) -> None:
    ws.refuse_handshakes(status, autherrcode=autherrcode)
    c = connection(emu, router)
    with pytest.raises(error) as info:
        c.start(timeout=20)
    assert info.value.http_status == status  # type: ignore[attr-defined]
    assert c.state == "failed"
    c.stop()


def test_an_auth_failure_handshake_is_retried(
    emu: Emulator, ws: LongConnControl, router: CallbackRouter
) -> None:
    ws.refuse_handshakes(514, count=2)
    c = connection(emu, router).start(timeout=20)
    try:
        assert c.connected and ws.domain.refused == 2
    finally:
        c.stop()


def test_wrong_credentials_are_not_retried(emu: Emulator, router: CallbackRouter) -> None:
    c = LongConnection(router, app_id=APP, app_secret="wrong", base_url=emu.url)
    with pytest.raises(errors.InvalidCredentialsError):
        c.start(timeout=20)
    c.stop()


def test_the_emulator_refuses_the_51st_connection(emu: Emulator, ws: LongConnControl) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    def url() -> str:
        r = httpx.post(emu.url + "/callback/ws/endpoint", json={"AppID": APP, "AppSecret": SECRET})
        value: str = r.json()["data"]["URL"]
        return value

    sockets = [connect(url(), proxy=None) for _ in range(MAX_CONNECTIONS)]
    try:
        with pytest.raises(InvalidStatus) as info:
            connect(url(), proxy=None)
        headers = info.value.response.headers
        assert headers["handshake-status"] == "514"
        assert headers["handshake-autherrcode"] == "1000040350"
    finally:
        for s in sockets:
            s.close()


def test_back_pressure_bounds_frames_in_flight(
    emu: Emulator, ws: LongConnControl, router: CallbackRouter, tmp_path: Any
) -> None:
    from lark_service.callbacks import OutboxStore

    state = {"now": 0, "max": 0}

    class Slow(InProcessDispatcher):
        async def submit(self, verified: Any) -> Any:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
            try:
                await asyncio.sleep(0.05)
                return await super().submit(verified)
            finally:
                state["now"] -= 1

    store = OutboxStore(f"sqlite:///{tmp_path / 'x.db'}")
    handler = CallbackHandler(router, dispatcher=Slow(router, store))
    c = connection(emu, handler=handler, config=LongConnectionConfig(max_inflight=3)).start()
    try:
        pushes = [ws.say(APP, f"p{i}") for i in range(30)]
        assert ws.wait_acked(pushes, 20)
    finally:
        c.stop()
        handler.close()
    assert state["max"] <= 3
    assert max(p.to_dict()["latency"] for p in pushes) < 3.0


def test_several_apps_share_one_handler(
    emu: Emulator, ws: LongConnControl, router: CallbackRouter, seen: Seen
) -> None:
    emu.add_app("cli_other", "other-secret")
    handler = CallbackHandler(router)
    a = connection(emu, handler=handler).start()
    b = LongConnection(
        app_id="cli_other", app_secret="other-secret", base_url=emu.url, handler=handler
    ).start()
    try:
        pushes = [ws.say(APP, "to a"), ws.say("cli_other", "to b")]
        assert ws.wait_acked(pushes, 10) and seen.wait(2)
    finally:
        a.stop()
        b.stop()
        handler.close()
    assert sorted(seen.ids) == sorted(p.event_id for p in pushes if p.event_id)


def test_async_with_inside_a_running_loop_and_a_graceful_stop(
    emu: Emulator, ws: LongConnControl, router: CallbackRouter, seen: Seen
) -> None:
    async def main() -> None:
        async with connection(emu, router) as c:
            assert c.connected
            push = ws.say(APP, "async")
            assert await asyncio.to_thread(ws.wait_acked, [push], 10)
        assert c.state == "stopped"

    asyncio.run(main())
    assert seen.wait(1)


def test_reassembly_cache_is_bounded() -> None:
    now = [0.0]
    c = LongConnection(
        app_id=APP,
        app_secret=SECRET,
        config=LongConnectionConfig(reassembly_entries=2, reassembly_ttl=5.0),
        clock=lambda: now[0],
    )

    def part(mid: str, seq: int, data: bytes, total: int = 2) -> bytes | None:
        return c._reassemble({"message_id": mid, "sum": str(total), "seq": str(seq)}, data)

    assert part("a", 0, b"A0") is None
    assert part("b", 1, b"B1") is None
    assert part("c", 0, b"C0") is None  # "a" is evicted: at most 2 waiting
    assert list(c._partials) == ["b", "c"]
    assert part("a", 1, b"A1") is None  # its first half is gone
    now[0] = 10.0
    assert part("d", 0, b"D0") is None  # everything older than 5 s expired
    assert list(c._partials) == ["d"]
    assert part("d", 1, b"D1") == b"D0D1"
    assert c._partials == {} and c._partial_bytes == 0
    assert part("e", 5, b"bad") is None and "e" not in c._partials  # seq outside sum


def test_importing_does_no_work() -> None:
    code = (
        "import sys, threading, asyncio\n"
        "import lark_service.longconn\n"
        "from lark_service.longconn import LongConnection\n"
        "print('websockets' in sys.modules, 'google.protobuf' in sys.modules,"
        " threading.active_count())\n"
        "try:\n"
        "    asyncio.get_running_loop(); print('loop')\n"
        "except RuntimeError:\n"
        "    print('no loop')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert out == ["False", "False", "1", "no", "loop"]


def test_card_type_frames_are_answered_not_dropped(emu: Emulator, ws: LongConnControl) -> None:
    from lark_service.callbacks.simulate import card_action_payload

    c = connection(emu, card_router(0.0)).start()
    try:
        push = ws.push_event(APP, card_action_payload(APP, value={"do": "ok"}), "card")
        assert ws.wait_acked([push], 10)
    finally:
        c.stop()
    assert push.ack_code == 200 and push.answer["toast"]["content"] == "done"


def test_stop_acks_the_frames_in_flight_before_closing(
    emu: Emulator, ws: LongConnControl, router: CallbackRouter, tmp_path: Any
) -> None:
    from lark_service.callbacks import OutboxStore

    entered = threading.Event()

    class Slow(InProcessDispatcher):
        async def submit(self, verified: Any) -> Any:
            entered.set()
            await asyncio.sleep(0.5)
            return await super().submit(verified)

    store = OutboxStore(f"sqlite:///{tmp_path / 'x.db'}")
    handler = CallbackHandler(router, dispatcher=Slow(router, store))
    c = connection(emu, handler=handler).start()
    try:
        push = ws.say(APP, "in flight at shutdown")
        assert entered.wait(10)
        c.stop()  # while the event is being stored
        assert push.acked and push.attempts == 1
        assert c.state == "stopped" and not ws.domain.open_connections(APP)
    finally:
        c.stop()
        handler.close()


def test_pongs_carry_the_servers_new_settings(
    emu: Emulator, ws: LongConnControl, conn: LongConnection
) -> None:
    assert conn.server_config.ping_interval == 0.3  # from the endpoint answer
    ws.configure(ping_interval=0.25, reconnect_interval=0.4)
    deadline = time.monotonic() + 5
    while conn.server_config.ping_interval != 0.25 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (conn.server_config.ping_interval, conn.server_config.reconnect_interval) == (
        0.25,
        0.4,
    )


def test_reconnect_attempts_stop_at_the_servers_count(
    emu: Emulator, ws: LongConnControl, router: CallbackRouter
) -> None:
    ws.configure(reconnect_count=2)
    c = connection(emu, router).start()
    with instrumentation.EventRecorder() as events:
        assert ws.wait_connections(APP)
        ws.refuse_handshakes(514, count=100)  # retryable, but never accepted again
        assert ws.drop(APP) == 1
        assert c._thread is not None
        c._thread.join(20)
    assert c.state == "failed"
    assert isinstance(c.last_error, errors.LongConnectionError)
    assert "after 2 attempts" in str(c.last_error)
    failed = [e for e in events.events if e.name == "longconn.reconnect"]
    assert [e["reason"] for e in failed] == ["dropped", "connect_failed"]
    c.stop()

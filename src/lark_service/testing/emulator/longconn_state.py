"""The emulator's long-connection (WebSocket event mode) server and its state.

Feishu's long connection: ``POST /callback/ws/endpoint`` with ``{"AppID", "AppSecret"}``
answers a ``wss://`` URL and the client settings; the client opens it and exchanges
protobuf ``pbbp2.Frame`` messages (:mod:`lark_service.longconn.protocol`): pings and pongs
(control frames), events and card callbacks (data frames), each acknowledged by sending the
same frame back with ``{"code": 200[, "data": base64(answer)]}``.

Here the WebSocket side is a ``websockets`` server on a port of its own (as Feishu's is on a
host of its own), started on a daemon thread with the first endpoint request and stopped by
:meth:`LongConnDomain.close`. It keeps what Feishu keeps:

- connections per app, at most :data:`MAX_CONNECTIONS` (50): the 51st handshake is refused
  with ``handshake-status: 514`` and ``handshake-autherrcode: 1000040350``;
- pushes: each event or card click goes to one random open connection of its app (cluster
  delivery), waits for the ack, and is pushed again (to any connection) when the socket dies
  first or no ack comes within ``ack_timeout`` seconds;
- faults: drop sockets, go half-open (stop answering pings and sending, without closing),
  refuse the next handshakes (403, 514, or the connection limit), split the next pushes into
  ``sum``/``seq`` parts.

Use it through :class:`LongConnControl` (``LongConnControl(emulator.state)``) or the control
endpoints of :mod:`~lark_service.testing.emulator.routes_ws`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ...longconn.protocol import (
    AUTH_FAILED,
    EXCEED_CONN_LIMIT,
    FORBIDDEN,
    HEADER_HANDSHAKE_AUTH_ERRCODE,
    HEADER_HANDSHAKE_MSG,
    HEADER_HANDSHAKE_STATUS,
    HEADER_MESSAGE_ID,
    HEADER_SEQ,
    HEADER_SUM,
    HEADER_TRACE_ID,
    HEADER_TYPE,
    METHOD_CONTROL,
    METHOD_DATA,
    ClientConfig,
    frame_headers,
    new_frame,
    parse_frame,
)
from .state import EmulatorState

__all__ = ["MAX_CONNECTIONS", "LongConnControl", "LongConnDomain", "Push", "domain"]

MAX_CONNECTIONS = 50
"""Long connections per app (Feishu's documented limit)."""
SERVICE_ID = 1  # emulator's choice; Feishu sends a number per service


@dataclass
class Connection:
    """One open socket of an app."""

    conn_id: str
    app_id: str
    ws: Any
    opened: float
    half_open: bool = False
    pings: int = 0
    closed: float | None = None


@dataclass
class Push:
    """One event or card callback being delivered over the long connection."""

    id: int
    app_id: str
    frame_type: str  # event | card
    payload: dict[str, Any]
    created: float
    attempts: int = 0
    acked: bool = False
    ack_code: int | None = None
    answer: Any = None
    acked_at: float | None = None
    sent_at: float | None = None
    first_sent_at: float | None = None
    conn_id: str | None = None
    message_id: str | None = None
    message_ids: list[str] = field(default_factory=list)
    deadline: float | None = None
    card_message_id: str | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def event_id(self) -> str | None:
        header = self.payload.get("header")
        return header.get("event_id") if isinstance(header, dict) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "app_id": self.app_id,
            "type": self.frame_type,
            "event_id": self.event_id,
            "attempts": self.attempts,
            "acked": self.acked,
            "ack_code": self.ack_code,
            "answer": self.answer,
            "latency": (
                None
                if self.acked_at is None or self.sent_at is None
                else self.acked_at - self.sent_at
            ),
        }


class LongConnDomain:
    """The long-connection state of one emulator (``EmulatorState.domain("longconn")``)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.config = ClientConfig(
            reconnect_count=-1, reconnect_interval=120, reconnect_nonce=30, ping_interval=120
        )
        self.ack_timeout = 5.0
        """Seconds a push waits for its ack before it is pushed again."""
        self.connections: dict[str, Connection] = {}
        self.tickets: dict[str, tuple[str, str]] = {}  # ticket -> (app_id, conn_id)
        self.pushes: list[Push] = []
        self.by_message_id: dict[str, Push] = {}
        self.queue: list[Push] = []
        self.refusals: list[tuple[int, int | None, str]] = []  # (status, autherrcode, msg)
        self.split_plan: list[tuple[int, bool]] = []  # (parts, reversed) per next push
        self.history: list[dict[str, Any]] = []  # connection opened/closed/fault log
        self.handshakes = 0
        self.refused = 0
        self.endpoint_requests = 0
        self.pings = 0
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._wake: asyncio.Event | None = None
        self.port: int | None = None
        self.host = "127.0.0.1"
        self.rng = random.Random()

    # -- server lifecycle ---------------------------------------------------------------------

    def ensure_server(self) -> int:
        """Start the WebSocket server (once); its port."""
        with self.lock:
            if self._thread is not None and self._thread.is_alive() and self.port:
                return self.port
            ready = threading.Event()
            failure: list[BaseException] = []
            self._thread = threading.Thread(
                target=self._main, args=(ready, failure), name="lark-emulator-ws", daemon=True
            )
            self._thread.start()
            ready.wait(30)
            if failure:
                raise failure[0]
            assert self.port is not None
            return self.port

    def _main(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._start(ready))
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            return
        try:
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _start(self, ready: threading.Event) -> None:
        from websockets.asyncio.server import serve

        self._wake = asyncio.Event()
        self._server = await serve(
            self._handle,
            self.host,
            0,
            process_request=self._process_request,
            ping_interval=None,
            compression=None,
            max_size=16 * 1024 * 1024,
        )
        sock = next(iter(self._server.sockets))
        self.port = int(sock.getsockname()[1])
        asyncio.get_running_loop().create_task(self._pusher())
        ready.set()

    def close(self) -> None:
        """Stop the WebSocket server and drop every connection."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or loop.is_closed():
            return

        async def stop() -> None:
            for conn in list(self.connections.values()):
                with contextlib.suppress(Exception):
                    conn.ws.transport.abort()
            if self._server is not None:
                self._server.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._server.wait_closed(), 2)
            loop.stop()

        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(stop(), loop)
        thread.join(5)
        self._thread = None
        self._loop = None
        self.port = None

    def _call(self, fn: Any, *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(fn, *args)

    def wake(self) -> None:
        """Let the pusher look at its queue now."""
        if self._wake is not None:
            self._call(self._wake.set)

    # -- the endpoint ---------------------------------------------------------------------------

    def new_ticket(self, app_id: str) -> tuple[str, str]:
        """A WebSocket URL for ``app_id`` (as the endpoint answers) and its connection id."""
        port = self.ensure_server()
        conn_id = secrets.token_hex(8)
        ticket = secrets.token_urlsafe(16)
        with self.lock:
            self.tickets[ticket] = (app_id, conn_id)
            self.endpoint_requests += 1
        url = (
            f"ws://{self.host}:{port}/ws/v2?fpid=493&aid=552564&device_id={conn_id}"
            f"&access_key={ticket}&service_id={SERVICE_ID}&ticket={ticket}"
        )
        return url, conn_id

    async def _process_request(self, connection: Any, request: Any) -> Any:
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(request.path).query)
        ticket = (query.get("ticket") or [""])[0]
        with self.lock:
            self.handshakes += 1
            found = self.tickets.pop(ticket, None)
            refusal = self.refusals.pop(0) if self.refusals else None
            if refusal is None and found is not None:
                open_ = [
                    c
                    for c in self.connections.values()
                    if c.app_id == found[0] and c.closed is None
                ]
                if len(open_) >= MAX_CONNECTIONS:
                    refusal = (AUTH_FAILED, EXCEED_CONN_LIMIT, "exceed connection limit")
            if refusal is None and found is None:
                refusal = (AUTH_FAILED, None, "invalid or used ticket; request the endpoint again")
            if refusal is not None:
                self.refused += 1
                self.history.append(
                    {"event": "refused", "status": refusal[0], "at": time.monotonic()}
                )
        if refusal is None:
            connection.lark_ticket = found
            return None
        status, auth, msg = refusal
        response = connection.respond(403 if status == FORBIDDEN else 400, msg + "\n")
        response.headers[HEADER_HANDSHAKE_STATUS] = str(status)
        response.headers[HEADER_HANDSHAKE_MSG] = msg
        if auth is not None:
            response.headers[HEADER_HANDSHAKE_AUTH_ERRCODE] = str(auth)
        return response

    # -- one socket -----------------------------------------------------------------------------

    async def _handle(self, ws: Any) -> None:
        app_id, conn_id = ws.lark_ticket
        conn = Connection(conn_id, app_id, ws, time.monotonic())
        with self.lock:
            self.connections[conn_id] = conn
            self.history.append(
                {"event": "opened", "app_id": app_id, "conn_id": conn_id, "at": conn.opened}
            )
        self.wake()
        try:
            async for message in ws:
                if conn.half_open or isinstance(message, str):
                    continue  # a black hole: read, never answered
                try:
                    frame = parse_frame(message)
                except ValueError:
                    continue
                headers = frame_headers(frame)
                if frame.method == METHOD_CONTROL:
                    if headers.get(HEADER_TYPE) == "ping":
                        conn.pings += 1
                        with self.lock:
                            self.pings += 1
                        pong = new_frame(
                            method=METHOD_CONTROL,
                            service=frame.service,
                            headers={HEADER_TYPE: "pong"},
                            payload=json.dumps(self.config.to_json()).encode(),
                        )
                        with contextlib.suppress(Exception):
                            await ws.send(pong.SerializeToString())
                    continue
                self._ack(conn, headers, bytes(frame.payload))
        except Exception:
            pass
        finally:
            conn.closed = time.monotonic()
            with self.lock:
                self.connections.pop(conn_id, None)
                self.history.append(
                    {"event": "closed", "app_id": app_id, "conn_id": conn_id, "at": conn.closed}
                )
                lost = [
                    p
                    for p in self.pushes
                    if p.conn_id == conn_id and not p.acked and p.deadline is not None
                ]
                for push in lost:  # the socket died before the ack: push it again
                    push.deadline = None
                    push.conn_id = None
                    self.queue.append(push)
            self.wake()

    def _ack(self, conn: Connection, headers: dict[str, str], payload: bytes) -> None:
        message_id = headers.get(HEADER_MESSAGE_ID, "")
        now = time.monotonic()
        with self.lock:
            push = self.by_message_id.get(message_id)
            if push is None or push.acked:
                return
            try:
                body = json.loads(payload)
            except ValueError:
                body = {}
            code = body.get("code") if isinstance(body, dict) else None
            push.ack_code = code if isinstance(code, int) else None
            data = body.get("data") if isinstance(body, dict) else None
            if isinstance(data, str) and data:
                try:
                    push.answer = json.loads(base64.b64decode(data))
                except ValueError:
                    push.answer = data
            if push.ack_code == 200:
                push.acked = True
                push.acked_at = now
                push.deadline = None
                push.done.set()
            else:  # 500: Feishu pushes it again
                push.deadline = None
                push.conn_id = None
                self.queue.append(push)
        self.wake()

    # -- pushing --------------------------------------------------------------------------------

    def push(self, app_id: str, payload: dict[str, Any], frame_type: str = "event") -> Push:
        """Queue ``payload`` for ``app_id``: delivered to one random connection, again until
        acked."""
        self.ensure_server()
        with self.lock:
            push = Push(next(self._ids), app_id, frame_type, payload, time.monotonic())
            self.pushes.append(push)
            self.queue.append(push)
        self.wake()
        return push

    async def _pusher(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.05)
            self._wake.clear()
            now = time.monotonic()
            ready: list[tuple[Push, Connection]] = []
            with self.lock:
                for push in self.pushes_waiting(now):
                    self.queue.append(push)
                keep: list[Push] = []
                for push in self.queue:
                    if push.acked:
                        continue
                    live = [
                        c
                        for c in self.connections.values()
                        if c.app_id == push.app_id and c.closed is None and not c.half_open
                    ]
                    if not live:
                        keep.append(push)
                        continue
                    conn = self.rng.choice(live)
                    push.attempts += 1
                    push.conn_id = conn.conn_id
                    push.deadline = float("inf")  # the ack timeout runs from the send
                    push.message_id = secrets.token_hex(12)
                    push.message_ids.append(push.message_id)
                    self.by_message_id[push.message_id] = push
                    ready.append((push, conn))
                self.queue = keep
            for push, conn in ready:
                await self._send_push(push, conn)

    def pushes_waiting(self, now: float) -> list[Push]:
        """Pushes whose ack is overdue (called under the lock): they go out again."""
        due = [
            p for p in self.pushes if not p.acked and p.deadline is not None and p.deadline <= now
        ]
        for push in due:
            push.deadline = None
            push.conn_id = None
        return due

    async def _send_push(self, push: Push, conn: Connection) -> None:
        data = json.dumps(push.payload, ensure_ascii=False).encode()
        with self.lock:
            parts, backwards = self.split_plan.pop(0) if self.split_plan else (1, False)
        parts = max(1, min(parts, len(data)))
        size = -(-len(data) // parts)
        chunks = [data[i * size : (i + 1) * size] for i in range(parts)]
        order = list(range(len(chunks)))
        if backwards:
            order.reverse()
        assert push.message_id is not None
        for seq in order:
            frame = new_frame(
                method=METHOD_DATA,
                service=SERVICE_ID,
                headers={
                    HEADER_TYPE: push.frame_type,
                    HEADER_MESSAGE_ID: push.message_id,
                    HEADER_SUM: str(len(chunks)),
                    HEADER_SEQ: str(seq),
                    HEADER_TRACE_ID: secrets.token_hex(8),
                },
                payload=chunks[seq],
                seq_id=push.id,
            )
            try:
                await conn.ws.send(frame.SerializeToString())
            except Exception:
                return  # the connection's handler re-queues it
        with self.lock:
            if not push.acked and push.conn_id == conn.conn_id:
                push.sent_at = time.monotonic()
                push.first_sent_at = push.first_sent_at or push.sent_at
                push.deadline = push.sent_at + self.ack_timeout

    # -- faults ---------------------------------------------------------------------------------

    def drop(self, app_id: str | None = None, count: int | None = None) -> int:
        """Abort open sockets (of ``app_id``; ``count`` of them): no close frame, as a
        network failure. Returns how many."""
        with self.lock:
            conns = [
                c
                for c in self.connections.values()
                if c.closed is None and (app_id is None or c.app_id == app_id)
            ]
            if count is not None:
                conns = conns[:count]
            self.history.append({"event": "drop", "count": len(conns), "at": time.monotonic()})
        for conn in conns:
            self._call(_abort, conn.ws)
        return len(conns)

    def half_open(self, app_id: str | None = None, count: int | None = None) -> int:
        """Make open sockets half-open: still open, but nothing is answered or sent on them
        any more (pings, acks, pushes). The client must notice by itself."""
        with self.lock:
            conns = [
                c
                for c in self.connections.values()
                if c.closed is None and not c.half_open and (app_id is None or c.app_id == app_id)
            ]
            if count is not None:
                conns = conns[:count]
            for conn in conns:
                conn.half_open = True
            self.history.append({"event": "half_open", "count": len(conns), "at": time.monotonic()})
        return len(conns)

    def refuse_handshakes(
        self, status: int = AUTH_FAILED, *, count: int = 1, autherrcode: int | None = None
    ) -> None:
        """Refuse the next ``count`` WebSocket handshakes with ``handshake-status`` (403 or
        514; ``autherrcode`` 1000040350: the connection limit)."""
        msg = {FORBIDDEN: "forbidden", AUTH_FAILED: "auth failed"}.get(status, "refused")
        if autherrcode == EXCEED_CONN_LIMIT:
            msg = "exceed connection limit"
        with self.lock:
            self.refusals.extend([(status, autherrcode, msg)] * count)

    def split_next(self, parts: int, *, count: int = 1, reverse: bool = False) -> None:
        """Send the next ``count`` pushes in ``parts`` frames each (``sum``/``seq``)."""
        with self.lock:
            self.split_plan.extend([(parts, reverse)] * count)

    def open_connections(self, app_id: str | None = None) -> list[Connection]:
        with self.lock:
            return [
                c
                for c in self.connections.values()
                if c.closed is None and (app_id is None or c.app_id == app_id)
            ]


def _abort(ws: Any) -> None:
    with contextlib.suppress(Exception):
        ws.transport.abort()


def domain(state: EmulatorState) -> LongConnDomain:
    """The emulator's long-connection domain (created on first use)."""
    return state.domain("longconn", LongConnDomain)


class LongConnControl:
    """Drive the emulator's long connection from a test: ``LongConnControl(emu.state)``."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.domain = domain(state)

    def configure(
        self,
        *,
        ping_interval: float | None = None,
        reconnect_interval: float | None = None,
        reconnect_nonce: float | None = None,
        reconnect_count: int | None = None,
        ack_timeout: float | None = None,
    ) -> ClientConfig:
        """The ``ClientConfig`` the endpoint and pongs send (and the ack timeout)."""
        d = self.domain
        with d.lock:
            c = d.config
            d.config = ClientConfig(
                reconnect_count=c.reconnect_count if reconnect_count is None else reconnect_count,
                reconnect_interval=(
                    c.reconnect_interval if reconnect_interval is None else reconnect_interval
                ),
                reconnect_nonce=c.reconnect_nonce if reconnect_nonce is None else reconnect_nonce,
                ping_interval=c.ping_interval if ping_interval is None else ping_interval,
            )
            if ack_timeout is not None:
                d.ack_timeout = ack_timeout
            return d.config

    def push_event(self, app_id: str, payload: dict[str, Any], frame_type: str = "event") -> Push:
        """Push an event payload (schema 2.0) over the app's long connection."""
        return self.domain.push(app_id, payload, frame_type)

    def say(self, app_id: str, text: str, **kw: Any) -> Push:
        """A user sends the bot a text message: ``im.message.receive_v1`` over the socket."""
        from ...callbacks.simulate import message_event_payload

        return self.push_event(app_id, message_event_payload(app_id, text, **kw))

    def click_card(
        self, message_id: str, body: dict[str, Any], *, timeout: float = 10.0
    ) -> dict[str, Any]:
        """A user clicks a card component (``body`` as ``POST /_emulator/cards/{id}/click``
        takes it), delivered over the long connection; see :func:`click_card_ws`."""
        return click_card_ws(self.state, message_id, body, timeout=timeout)

    def wait_acked(self, pushes: list[Push] | None = None, timeout: float = 30.0) -> bool:
        """Block until every push (default: all so far) is acked; False on timeout."""
        deadline = time.monotonic() + timeout
        for push in list(self.domain.pushes if pushes is None else pushes):
            if not push.done.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def wait_connections(self, app_id: str, n: int = 1, timeout: float = 30.0) -> bool:
        """Block until ``app_id`` has ``n`` open, answering connections."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = [c for c in self.domain.open_connections(app_id) if not c.half_open]
            if len(live) >= n:
                return True
            time.sleep(0.01)
        return False

    def drop(self, app_id: str | None = None, count: int | None = None) -> int:
        return self.domain.drop(app_id, count)

    def half_open(self, app_id: str | None = None, count: int | None = None) -> int:
        return self.domain.half_open(app_id, count)

    def refuse_handshakes(
        self, status: int = AUTH_FAILED, *, count: int = 1, autherrcode: int | None = None
    ) -> None:
        self.domain.refuse_handshakes(status, count=count, autherrcode=autherrcode)

    def split_next(self, parts: int, *, count: int = 1, reverse: bool = False) -> None:
        self.domain.split_next(parts, count=count, reverse=reverse)

    def close(self) -> None:
        self.domain.close()


def click_card_ws(
    state: EmulatorState, message_id: str, body: dict[str, Any], *, timeout: float = 10.0
) -> dict[str, Any]:
    """A card click delivered over the long connection instead of the callback URL: the same
    checks and payload as the webhook click (``routes_callbacks.click_card``), pushed as an
    ``event`` frame carrying ``card.action.trigger`` (as Feishu sends it on the socket); the
    card in the ack's answer replaces the message's, and the ``c-`` token works for the
    delayed update. Blocks until the ack (or ``timeout``)."""
    push = prepare_click(state, message_id, body)
    push.done.wait(timeout)
    return finish_click(state, push)


def prepare_click(state: EmulatorState, message_id: str, body: dict[str, Any]) -> Push:
    """Check the click and queue its push (see :func:`click_card_ws`)."""
    from ...callbacks.simulate import card_action_payload
    from . import routes_callbacks as rc
    from .api import FeishuError

    body = {k: v for k, v in body.items() if k != "transport"}
    unknown = sorted(set(body) - rc.CLICK_FIELDS - {"legacy"})
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}")
    message = state.get_message(message_id)
    if message is None:
        raise FeishuError(
            230001,
            f"Your request contains an invalid request parameter, ext=invalid message_id "
            f"{message_id}",
            http_status=404,
        )
    if message.msg_type != "interactive":
        raise FeishuError(
            230054, f"This operation is not supported for {message.msg_type} messages."
        )
    if message.deleted:
        raise FeishuError(230011, "The message is recalled.")
    component = rc._clicked(message.content, body)
    app = state.get_app(message.app_id) if message.app_id else None
    if app is None:
        raise ValueError(f"the message {message_id} was not sent by a known app")
    open_id, user_id = rc._operator(state, app, body)
    card_token = "c-" + secrets.token_hex(20)
    payload = card_action_payload(
        app.app_id,
        value=component.value,
        tag=component.tag,
        name=component.name,
        open_id=open_id,
        user_id=user_id,
        open_message_id=message_id,
        open_chat_id=message.chat_id,
        card_token=card_token,
        verification_token=app.verification_token,
        form_value=body.get("form_value"),
        tenant_key=app.tenant_key,
    )
    for key in ("input_value", "option"):
        if key in body:
            payload["event"]["action"][key] = body[key]
    callbacks = rc._domain(state)
    with callbacks.lock:
        callbacks.tokens[card_token] = rc.CardToken(
            card_token, app.app_id, message_id, state.clock.now()
        )
    push = domain(state).push(app.app_id, payload, "event")
    push.card_message_id = message_id
    return push


def finish_click(state: EmulatorState, push: Push) -> dict[str, Any]:
    """Apply a card in the ack's answer; the click's result (``status``, ``answer``)."""
    from . import routes_callbacks as rc

    message_id = push.card_message_id or ""
    if push.acked:
        card = rc._card_in_answer(push.answer, False)
        if card is not None:
            with state.lock:
                if state.get_message(message_id) is not None:
                    rc._apply_card(state, message_id, card)
    return {
        **push.to_dict(),
        "transport": "ws",
        "message_id": message_id,
        "payload": push.payload,
        "status": 200 if push.acked else None,
    }


def has_long_connection(state: EmulatorState, app_id: str) -> bool:
    """Whether ``app_id`` has an open long connection right now."""
    return bool(domain(state).open_connections(app_id))

"""``LongConnection``: receive events and card actions over Feishu's WebSocket (long
connection) mode, with the webhook path's dedup, outbox and dispatchers.

See :mod:`lark_service.longconn` for the usage and ``docs/long-connection.md`` for operations.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .. import errors, instrumentation
from ..logging import get_logger
from .protocol import (
    AUTH_FAILED,
    ENDPOINT_PATH,
    EXCEED_CONN_LIMIT,
    FORBIDDEN,
    HEADER_BIZ_RT,
    HEADER_HANDSHAKE_AUTH_ERRCODE,
    HEADER_HANDSHAKE_MSG,
    HEADER_HANDSHAKE_STATUS,
    HEADER_MESSAGE_ID,
    HEADER_SEQ,
    HEADER_SUM,
    HEADER_TYPE,
    INTERNAL_ERROR,
    METHOD_CONTROL,
    NO_CREDENTIAL,
    SYSTEM_BUSY,
    ClientConfig,
    frame_headers,
    new_frame,
    parse_frame,
)

if TYPE_CHECKING:
    from .._async_client import AsyncLarkClient
    from ..auth._poller import DevicePoller
    from ..callbacks.handler import CallbackAnswer, CallbackHandler, ServerConfig
    from ..callbacks.router import CallbackRouter
    from ..config import Settings

__all__ = ["LongConnection", "LongConnectionConfig"]

_log = get_logger("lark_service.longconn")

_CREDENTIAL_CODES = frozenset({NO_CREDENTIAL, 10003, 10014, 10015})
"""Endpoint answers meaning the app id / secret are wrong: never retried."""
_BUSY_CODES = frozenset({SYSTEM_BUSY, INTERNAL_ERROR})


@dataclass
class LongConnectionConfig:
    """Local tunables. The ``None`` ones come from Feishu (the endpoint answer and pongs);
    set them to override the server's values (tests, or a tighter watchdog)."""

    ping_interval: float | None = None
    """Seconds between pings; a ping not answered by the next one declares the socket dead."""
    reconnect_interval: float | None = None
    """Seconds between failed reconnect attempts."""
    reconnect_nonce: float | None = None
    """Upper bound of the random delay before the first reconnect attempt (capped at
    ``reconnect_interval``, so that a dead socket is replaced within
    3 × ping interval + reconnect interval)."""
    reconnect_count: int | None = None
    """Attempts before giving up (-1: forever)."""
    max_inflight: int = 64
    """Frames being stored/answered at once; beyond it the socket is not read (back-pressure
    on Feishu instead of an unbounded queue whose acks would miss the 3 s)."""
    reassembly_entries: int = 256
    """Split messages (``sum`` > 1) waiting for their other parts, at most."""
    reassembly_bytes: int = 16 * 1024 * 1024
    """Bytes of parts waiting, at most (the oldest messages are dropped first)."""
    reassembly_ttl: float = 5.0
    """Seconds a split message may take to complete (Feishu's SDK uses 5 s)."""
    open_timeout: float = 10.0
    """Seconds for the WebSocket handshake (never more than the ping interval)."""
    shutdown_timeout: float = 10.0
    """Seconds :meth:`LongConnection.stop` waits for in-flight frames to be acked."""
    max_frame: int = 4 * 1024 * 1024
    """Largest WebSocket message accepted."""
    device_poll: bool = True
    """Complete the app's device authorizations sent by card
    (``client.auth.send_auth_card(open_id, method="device")``) in the background: the
    authorization-card flow without a public URL (see ``docs/auth.md``)."""
    device_poll_tick: float = 1.0
    """Seconds between two looks for pending device authorizations (each one is checked no
    more often than the interval Feishu gave it, and never after it expired)."""


@dataclass
class _Partial:
    created: float
    parts: list[bytes | None]
    size: int = 0


@dataclass
class _Session:
    ws: Any
    service_id: int
    conn_id: str
    opened: float
    last_pong: float = 0.0
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class _StopRequested(Exception):
    """Stop was asked while connecting."""


class _Fatal(Exception):
    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class LongConnection:
    """One app's long connection; see :mod:`lark_service.longconn`.

    ``router``: the handlers (the same :class:`~lark_service.callbacks.CallbackRouter` as
    ``lark-service serve``). ``app_id`` / ``app_secret`` / ``base_url``: the app (default:
    ``LARK_APP_ID`` or the registry's only active app, as every client resolves it); or pass
    a ``client`` (an :class:`~lark_service.AsyncLarkClient`). ``handler``: a
    :class:`~lark_service.callbacks.CallbackHandler` to share between several apps'
    connections (default: one of its own over ``router``, with ``dispatcher`` /
    ``database_url`` / ``amqp_url`` / ``server_config`` as ``CallbackHandler`` takes them).
    """

    def __init__(
        self,
        router: CallbackRouter | None = None,
        *,
        app_id: str | None = None,
        app_secret: str | None = None,
        base_url: str | None = None,
        client: AsyncLarkClient | None = None,
        handler: CallbackHandler | None = None,
        settings: Settings | None = None,
        dispatcher: str | None = None,
        database_url: str | None = None,
        amqp_url: str | None = None,
        server_config: ServerConfig | None = None,
        config: LongConnectionConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if handler is not None and router is not None and handler.router is not router:
            raise errors.ValidationError(
                "pass either a router or a handler (whose router is used), not both",
                field="router",
            )
        self._router = router
        self._app_id = app_id
        self._app_secret = app_secret
        self._base_url = base_url
        self._client = client
        self._own_client = client is None
        self._handler = handler
        self._own_handler = handler is None
        self._settings = settings
        self._handler_options: dict[str, Any] = {
            "dispatcher": dispatcher,
            "database_url": database_url,
            "amqp_url": amqp_url,
            "config": server_config,
        }
        self.config = config or LongConnectionConfig()
        self._clock = clock
        self._rng = rng
        self._sleep = sleep
        self.server_config = ClientConfig()
        """The settings Feishu sent last (endpoint answer, pongs)."""
        self.state = "new"
        """``new``, ``connecting``, ``connected``, ``reconnecting``, ``stopped`` or ``failed``."""
        self.reconnects = 0
        self.last_error: BaseException | None = None
        self.connected_at: float | None = None
        self._session: _Session | None = None
        self._partials: OrderedDict[str, _Partial] = OrderedDict()
        self._partial_bytes = 0
        self._inflight: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._stop_requested = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self._resolved_app: str | None = None
        self.device_poller: DevicePoller | None = None
        """The background poll of device authorizations sent by card (while serving)."""

    def __repr__(self) -> str:
        return f"LongConnection(app_id={self.app_id!r}, {self.state})"

    # -- public state ------------------------------------------------------------------------

    @property
    def app_id(self) -> str | None:
        """The app (resolved once the connection started)."""
        return self._resolved_app or self._app_id

    @property
    def connected(self) -> bool:
        """Whether a socket is open and answered its last ping."""
        return self.state == "connected"

    @property
    def handler(self) -> CallbackHandler:
        """The callback core that stores and dispatches what arrives (created on first use)."""
        if self._handler is None:
            from ..callbacks.handler import CallbackHandler

            self._handler = CallbackHandler(
                self._router, settings=self._settings, **self._handler_options
            )
        return self._handler

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """``(ready, checks)`` for ``/readyz``: the socket connected and the handler's
        databases (and broker) reachable."""
        ready, checks = await self.handler.readiness()
        connected = self.connected
        return ready and connected, {
            **checks,
            "status": "ok" if ready and connected else "unavailable",
            "long_connection": self.state,
        }

    # -- running -----------------------------------------------------------------------------

    async def serve(self) -> None:
        """Connect and keep the connection until :meth:`astop` (or :meth:`stop`) is called;
        reconnect as Feishu's settings say. Raises a fatal error (wrong credentials, 403,
        50 connections already, reconnect attempts exhausted) after cleaning up."""
        if self._stopping is not None:
            raise RuntimeError("this LongConnection is already running")
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if self._stop_requested.is_set():
            self._stopping.set()
        handler = self.handler
        if handler.loop is self._loop:
            raise errors.ValidationError(
                "the callback handler runs on this event loop; handlers must not run on the "
                "socket's loop: let the LongConnection start it (on its own thread)",
                field="handler",
            )
        poller: asyncio.Task[None] | None = None
        try:
            await asyncio.to_thread(handler.start_background)
            await self._open_client()
            poller = self._start_device_poll()
            await self._run()
        except _Fatal as fatal:
            self._set_state("failed")
            self.last_error = fatal.error
            raise fatal.error from None
        finally:
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(BaseException):
                    await poller
            await self._shutdown()

    def _start_device_poll(self) -> asyncio.Task[None] | None:
        """The background poll of the app's device authorizations sent by card (the
        authorization-card flow without a public URL), unless ``config.device_poll`` is off."""
        if not self.config.device_poll or self._client is None or self._resolved_app is None:
            return None
        from ..auth._poller import DevicePoller

        assert self._stopping is not None and self._loop is not None
        self.device_poller = DevicePoller(
            self._client, self._resolved_app, tick=self.config.device_poll_tick
        )
        return self._loop.create_task(self.device_poller.run(self._stopping))

    async def astop(self) -> None:
        """Stop :meth:`serve` gracefully (in-flight frames acked, then the socket closed)."""
        self._stop_requested.set()
        if self._stopping is not None:
            self._stopping.set()
        task = self._task
        if task is not None and task is not asyncio.current_task():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task

    async def __aenter__(self) -> LongConnection:
        """``async with LongConnection(router) as conn:`` — serve in a task of this loop until
        the block ends; entering waits for the first connection (or its fatal error)."""
        self._task = asyncio.get_running_loop().create_task(self.serve())
        waiter = asyncio.ensure_future(asyncio.to_thread(self._connected.wait))
        done, _ = await asyncio.wait({self._task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            self._connected.set()  # release the waiting thread
            await self._task  # raises the fatal error
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()

    def run(self) -> None:
        """Serve in the foreground until SIGINT/SIGTERM (a script or a dedicated process);
        a fresh event loop of its own, none global."""

        async def main() -> None:
            loop = asyncio.get_running_loop()
            if threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(NotImplementedError, RuntimeError):
                        loop.add_signal_handler(sig, self._stop_from_loop)
            await self.serve()

        asyncio.run(main())

    def start(self, *, wait: bool = True, timeout: float = 60.0) -> LongConnection:
        """Serve on a background thread (Django, Celery, a notebook). ``wait``: return once
        connected, raising a fatal error (or ``TimeoutError`` after ``timeout`` seconds)."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop_requested.clear()
        self._connected.clear()
        failure: list[BaseException] = []

        def main() -> None:
            try:
                asyncio.run(self.serve())
            except BaseException as exc:  # reported through start()/last_error
                failure.append(exc)
                self.last_error = exc
                _log.error("long connection for %s ended: %s", self.app_id, exc)
            finally:
                self._connected.set()

        self._thread = threading.Thread(
            target=main, name=f"lark-longconn-{self._app_id or 'default'}", daemon=True
        )
        self._thread.start()
        if wait:
            if not self._connected.wait(timeout):
                raise errors.TimeoutError(f"the long connection did not open in {timeout} s")
            if failure:
                raise failure[0]
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop the background thread gracefully (drain, ack, close) and wait for it."""
        self._stop_requested.set()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stop_from_loop)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            limit = self.config.shutdown_timeout + 15 if timeout is None else timeout
            thread.join(limit)

    def close(self) -> None:
        """:meth:`stop`; safe to call more than once."""
        self.stop()

    def __enter__(self) -> LongConnection:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stop_from_loop(self) -> None:
        self._stop_requested.set()
        if self._stopping is not None:
            self._stopping.set()

    # -- the connection loop -----------------------------------------------------------------

    async def _open_client(self) -> None:
        if self._client is None:
            from .._async_client import AsyncLarkClient

            self._client = AsyncLarkClient(
                self._app_id,
                self._app_secret,
                base_url=self._base_url,
                settings=self._settings,
            )
        try:
            creds = await asyncio.to_thread(self._client.resolve_app, self._app_id)
        except errors.LarkError as exc:
            raise _Fatal(exc) from None
        self._resolved_app = creds.app_id

    def _effective(self) -> ClientConfig:
        c, s = self.config, self.server_config
        return ClientConfig(
            reconnect_count=s.reconnect_count if c.reconnect_count is None else c.reconnect_count,
            reconnect_interval=(
                s.reconnect_interval if c.reconnect_interval is None else c.reconnect_interval
            ),
            reconnect_nonce=s.reconnect_nonce if c.reconnect_nonce is None else c.reconnect_nonce,
            ping_interval=s.ping_interval if c.ping_interval is None else c.ping_interval,
        )

    async def _run(self) -> None:
        assert self._stopping is not None
        attempt = 0
        first = True
        while not self._stopping.is_set():
            self._set_state("connecting" if first else "reconnecting")
            try:
                session = await self._connect()
            except _StopRequested:
                break
            except _Fatal:
                raise
            except errors.LarkError as exc:
                self.last_error = exc
                attempt += 1
                conf = self._effective()
                if 0 <= conf.reconnect_count <= attempt:
                    raise _Fatal(
                        errors.LongConnectionError(
                            f"could not connect after {attempt} attempts: {exc.msg}",
                            hint="Check the network to Feishu and the app's long-connection "
                            "setting in the developer console.",
                        )
                    ) from None
                _log.warning(
                    "long connection for %s: attempt %s failed (%s); retrying in %.1f s",
                    self._resolved_app,
                    attempt,
                    exc.msg,
                    conf.reconnect_interval,
                )
                instrumentation.emit(
                    "longconn.reconnect",
                    self._resolved_app,
                    reason="connect_failed",
                    attempt=attempt,
                    delay=conf.reconnect_interval,
                )
                await self._wait(conf.reconnect_interval)
                continue
            attempt = 0
            if not first:
                self.reconnects += 1
            first = False
            reason = await self._serve_session(session)
            if self._stopping.is_set():
                break
            conf = self._effective()
            delay = self._rng() * min(conf.reconnect_nonce, conf.reconnect_interval)
            _log.warning(
                "long connection for %s lost (%s); reconnecting in %.1f s",
                self._resolved_app,
                reason,
                delay,
            )
            instrumentation.emit(
                "longconn.reconnect", self._resolved_app, reason=reason, attempt=0, delay=delay
            )
            self._set_state("reconnecting")
            await self._wait(delay)

    async def _wait(self, seconds: float) -> None:
        assert self._stopping is not None
        if seconds <= 0:
            return
        stop = asyncio.ensure_future(self._stopping.wait())
        nap = asyncio.ensure_future(self._sleep(seconds))
        try:
            await asyncio.wait({stop, nap}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (stop, nap):
                t.cancel()

    async def _or_stop(self, awaitable: Awaitable[Any]) -> Any:
        """``await awaitable``, unless stop is asked first (then :class:`_StopRequested`)."""
        assert self._stopping is not None
        task = asyncio.ensure_future(awaitable)
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            result = await task
            with contextlib.suppress(Exception):
                await result.close()  # a socket that opened while we were cancelling
        raise _StopRequested

    async def _endpoint(self) -> tuple[str, ClientConfig]:
        assert self._client is not None and self._resolved_app is not None
        try:
            creds = await asyncio.to_thread(self._client.resolve_app, self._resolved_app)
            response = await self._client.request(
                "POST",
                ENDPOINT_PATH,
                token=None,
                app_id=creds.app_id,
                json={"AppID": creds.app_id, "AppSecret": creds.app_secret},
                headers={"locale": "zh"},
            )
        except errors.APIError as exc:
            raise _endpoint_error(exc) from None
        data = response.data if isinstance(response.data, dict) else {}
        url = data.get("URL")
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise errors.LongConnectionError(
                "the long-connection endpoint answered without a WebSocket URL", retryable=True
            )
        return url, self.server_config.merged(data.get("ClientConfig"))

    async def _connect(self) -> _Session:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus

        try:
            url, server_config = await self._or_stop(self._endpoint())
        except errors.LarkError as exc:
            if not exc.retryable:
                raise _Fatal(exc) from None
            raise
        self.server_config = server_config
        query = parse_qs(urlsplit(url).query)
        conn_id = (query.get("device_id") or [""])[0]
        try:
            service_id = int((query.get("service_id") or ["0"])[0])
        except ValueError:
            service_id = 0
        conf = self._effective()
        timeout = max(0.05, min(self.config.open_timeout, conf.ping_interval))
        try:
            ws = await self._or_stop(
                connect(
                    url,
                    open_timeout=timeout,
                    ping_interval=None,  # the protocol's own pings (and watchdog) instead
                    close_timeout=min(2.0, timeout),
                    max_size=self.config.max_frame,
                    compression=None,
                    proxy=None,
                    user_agent_header=_user_agent(),
                )
            )
        except InvalidStatus as exc:
            error = _handshake_error(exc.response.status_code, exc.response.headers)
            if not error.retryable:
                raise _Fatal(error) from None
            raise error from None
        except (InvalidHandshake, OSError, asyncio.TimeoutError) as exc:
            raise errors.LongConnectionError(
                f"cannot open the WebSocket ({type(exc).__name__})", retryable=True
            ) from None
        now = self._clock()
        session = _Session(ws, service_id, conn_id, now, last_pong=now)
        self._session = session
        self.connected_at = time.time()
        self._set_state("connected")
        self._connected.set()
        _log.info("long connection for %s open (conn %s)", self._resolved_app, conn_id)
        return session

    async def _serve_session(self, session: _Session) -> str:
        """Run one socket until it dies or we stop: the reason (``dropped``, ``half_open``,
        ``stopped``)."""
        assert self._stopping is not None
        reader = asyncio.ensure_future(self._read(session))
        pinger = asyncio.ensure_future(self._ping(session))
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            done, _ = await asyncio.wait(
                {reader, pinger, stop}, return_when=asyncio.FIRST_COMPLETED
            )
            if stop in done:
                reason = "stopped"
            elif pinger in done and not pinger.cancelled() and pinger.exception() is None:
                reason = pinger.result()
            else:
                reason = "dropped"
        finally:
            for t in (reader, pinger, stop):
                t.cancel()
            for t in (reader, pinger):
                with contextlib.suppress(BaseException):
                    await t
        if reason == "stopped":
            await self._drain()
        else:
            self._set_state("reconnecting")
        self._session = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(session.ws.close(), 2.0)
        if reason != "stopped":
            with contextlib.suppress(Exception):
                session.ws.transport.abort()
        return reason

    async def _drain(self) -> None:
        """Graceful stop: the socket is no longer read; frames being handled are acked."""
        pending = set(self._inflight)
        if not pending:
            return
        _log.info("long connection: acking %s frames before closing", len(pending))
        _, late = await asyncio.wait(pending, timeout=self.config.shutdown_timeout)
        if late:
            _log.warning("%s frames not acked at shutdown (Feishu pushes them again)", len(late))

    async def _ping(self, session: _Session) -> str:
        """Ping every interval; a ping not answered by the next one: the socket is dead."""
        while True:
            sent = self._clock()
            frame = new_frame(
                method=METHOD_CONTROL, service=session.service_id, headers={HEADER_TYPE: "ping"}
            )
            await self._send(session, frame.SerializeToString())
            instrumentation.emit("longconn.frame", self._resolved_app, type="ping", parts=1)
            interval = self._effective().ping_interval
            await self._sleep(interval)
            if session.last_pong < sent:
                _log.warning(
                    "long connection for %s: no pong within %.1f s; replacing the socket",
                    self._resolved_app,
                    interval,
                )
                instrumentation.emit(
                    "longconn.half_open", self._resolved_app, ping_interval=interval
                )
                return "half_open"

    async def _send(self, session: _Session, data: bytes) -> bool:
        async with session.send_lock:
            try:
                await session.ws.send(data)
            except Exception:
                return False
        return True

    async def _read(self, session: _Session) -> None:
        slots = asyncio.Semaphore(max(1, self.config.max_inflight))
        loop = asyncio.get_running_loop()
        async for message in session.ws:
            if isinstance(message, str):
                continue
            received = self._clock()
            try:
                frame = parse_frame(message)
            except ValueError:
                _log.warning("long connection: a message that is not a frame was ignored")
                continue
            headers = frame_headers(frame)
            kind = headers.get(HEADER_TYPE, "")
            if frame.method == METHOD_CONTROL:
                if kind == "pong":
                    session.last_pong = received
                    if frame.payload:
                        self.server_config = self.server_config.merged(frame.payload)
                instrumentation.emit(
                    "longconn.frame", self._resolved_app, type=kind or "control", parts=1
                )
                continue
            payload = self._reassemble(headers, bytes(frame.payload))
            if payload is None:
                continue
            instrumentation.emit(
                "longconn.frame",
                self._resolved_app,
                type=kind or "data",
                parts=_int(headers.get(HEADER_SUM), 1),
            )
            await slots.acquire()  # back-pressure: stop reading while the pool is full
            task = loop.create_task(self._answer(session, frame, kind, payload, received))
            self._inflight.add(task)

            def done(t: asyncio.Task[None]) -> None:
                self._inflight.discard(t)
                slots.release()

            task.add_done_callback(done)

    def _reassemble(self, headers: dict[str, str], part: bytes) -> bytes | None:
        total = _int(headers.get(HEADER_SUM), 1)
        if total <= 1:
            return part
        seq = _int(headers.get(HEADER_SEQ), 0)
        message_id = headers.get(HEADER_MESSAGE_ID, "")
        if not 0 <= seq < total or total > 1024:
            _log.warning("long connection: a part with seq %s of %s was ignored", seq, total)
            return None
        now = self._clock()
        self._expire(now)
        entry = self._partials.get(message_id)
        if entry is None or len(entry.parts) != total:
            entry = _Partial(now, [None] * total)
            self._partials[message_id] = entry
        old = entry.parts[seq]
        if old is not None:
            entry.size -= len(old)
            self._partial_bytes -= len(old)
        entry.parts[seq] = part
        entry.size += len(part)
        self._partial_bytes += len(part)
        if all(p is not None for p in entry.parts):
            del self._partials[message_id]
            self._partial_bytes -= entry.size
            return b"".join(p for p in entry.parts if p is not None)
        while self._partials and (
            len(self._partials) > self.config.reassembly_entries
            or self._partial_bytes > self.config.reassembly_bytes
        ):
            _, dropped = self._partials.popitem(last=False)
            self._partial_bytes -= dropped.size
            instrumentation.emit(
                "longconn.reassembly_dropped", self._resolved_app, reason="overflow"
            )
        return None

    def _expire(self, now: float) -> None:
        while self._partials:
            key, entry = next(iter(self._partials.items()))
            if now - entry.created <= self.config.reassembly_ttl:
                return
            del self._partials[key]
            self._partial_bytes -= entry.size
            instrumentation.emit(
                "longconn.reassembly_dropped", self._resolved_app, reason="expired"
            )

    async def _answer(
        self, session: _Session, frame: Any, frame_type: str, payload: bytes, received: float
    ) -> None:
        """Store and dispatch through the callback core, then ack on the same socket."""
        kind = _callback_kind(frame_type, payload)
        answer: CallbackAnswer | None = None
        try:
            answer = await self.handler.aprocess_trusted(kind, self._resolved_app, payload)
            status, body = answer.status, answer.body
        except Exception:
            _log.exception("long connection: a frame could not be handled")
            status, body = 500, {}
        ack: dict[str, Any] = {"code": 200 if status == 200 else 500}
        if status == 200 and kind == "card" and body:
            ack["data"] = base64.b64encode(json.dumps(body).encode()).decode()
        elapsed = self._clock() - received
        h = frame.headers.add()
        h.key = HEADER_BIZ_RT
        h.value = str(int(elapsed * 1000))
        frame.payload = json.dumps(ack).encode()
        sent = await self._send(session, frame.SerializeToString())
        if answer is not None:
            answer.sent()  # a late card may now go through the delayed update
        latency = self._clock() - received
        instrumentation.emit(
            "longconn.ack",
            self._resolved_app,
            kind=kind,
            status=ack["code"],
            sent=sent,
            latency=latency,
        )

    async def _shutdown(self) -> None:
        if self.state != "failed":
            self._set_state("stopped")
        client, self._client = self._client, (None if self._own_client else self._client)
        if client is not None and self._own_client:
            with contextlib.suppress(Exception):
                await client.aclose()
        if self._own_handler and self._handler is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._handler.close)
        self._stopping = None
        self._loop = None

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        instrumentation.emit("longconn.state", self._resolved_app or self._app_id, state=state)


# --- helpers -------------------------------------------------------------------------------


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _callback_kind(frame_type: str, payload: bytes) -> Any:
    """Card actions arrive as ``event`` frames carrying ``card.action.trigger`` (and, in the
    legacy form, as ``card`` frames, which the official SDK drops): both are card callbacks."""
    if frame_type == "card":
        return "card"
    if b"card.action.trigger" in payload:
        try:
            header = json.loads(payload).get("header") or {}
        except (ValueError, AttributeError):
            return "event"
        if isinstance(header, dict) and header.get("event_type") == "card.action.trigger":
            return "card"
    return "event"


def _user_agent() -> str:
    from .._version import __version__

    return f"lark-service/{__version__}"


def _endpoint_error(exc: errors.APIError) -> errors.LarkError:
    code = exc.code
    if code in _CREDENTIAL_CODES:
        return errors.InvalidCredentialsError(
            f"Feishu refused the app's credentials for the long connection: {exc.msg}",
            code=code,
            log_id=exc.log_id,
            hint="Check the app id and secret (LARK_APP_ID / LARK_APP_SECRET or the registry).",
        )
    if code in _BUSY_CODES:
        return errors.LongConnectionError(
            f"the long-connection endpoint is busy: {exc.msg}",
            code=code,
            log_id=exc.log_id,
            retryable=True,
        )
    return errors.LongConnectionError(
        f"the long-connection endpoint refused: {exc.msg}",
        code=code,
        log_id=exc.log_id,
        http_status=exc.http_status,
        retryable=exc.retryable,
        hint=exc.hint,
    )


def _handshake_error(status: int, headers: Any) -> errors.LarkError:
    """The typed error for a refused WebSocket handshake (Feishu's ``handshake-*`` headers)."""
    raw = headers.get(HEADER_HANDSHAKE_STATUS)
    msg = headers.get(HEADER_HANDSHAKE_MSG) or f"HTTP {status}"
    code = _int(raw, status)
    auth = _int(headers.get(HEADER_HANDSHAKE_AUTH_ERRCODE), 0)
    if code == AUTH_FAILED and auth == EXCEED_CONN_LIMIT:
        return errors.ConnectionLimitError(
            f"the app already has the maximum of 50 long connections: {msg}",
            code=auth,
            http_status=code,
            hint="Stop a listener of this app (each process opens one connection per app).",
        )
    if code == FORBIDDEN:
        return errors.HandshakeError(
            f"the long connection is forbidden for this app: {msg}",
            code=auth or None,
            http_status=code,
            hint="Long connections are for self-built apps with the long-connection "
            "subscription mode enabled in the developer console.",
        )
    if code == AUTH_FAILED:
        return errors.HandshakeError(
            f"the long connection's authentication failed: {msg}",
            code=auth or None,
            http_status=code,
            retryable=True,  # a stale ticket: a new endpoint request fixes it
        )
    return errors.HandshakeError(
        f"the WebSocket handshake was refused: {msg}",
        code=auth or None,
        http_status=code,
        retryable=status >= 500 or status == 429,
    )

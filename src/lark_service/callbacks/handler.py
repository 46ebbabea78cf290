"""``CallbackHandler``: the framework-neutral callback core — verify, deduplicate, store,
dispatch, answer.

::

    from lark_service.callbacks import CallbackHandler, CallbackRouter

    handler = CallbackHandler(router)
    status, body = handler.handle("event", app_id, headers, raw_body)          # any thread
    status, body = await handler.ahandle("card", None, headers, raw_body)      # any event loop

``lark-service serve`` (:func:`lark_service.server.create_app`) and the adapters in
:mod:`lark_service.integrations` (FastAPI, Flask, Django) are thin layers over it: they read
the body (refusing more than ``config.max_body`` bytes early), call the handler and write
``status`` with ``body`` as JSON.

A callback is verified (:class:`~lark_service.callbacks.CallbackVerifier`), stored with its
dedup keys, handed to the dispatcher and acknowledged — in that order, so a 200 always means
"stored". A duplicate is acknowledged and not run again. Failures answer a short JSON error
(``{"code": status, "msg": ...}``) with 400/401/404/413, or 503 when the app's keys cannot be
read, the outbox cannot be written or the handler is shutting down; never a stack trace.

**Where the dispatcher runs.** :meth:`CallbackHandler.start` / :meth:`~CallbackHandler.stop`
(or ``async with handler.lifespan():``) run it on the calling event loop — what
``lark-service serve`` and the FastAPI adapter's lifespan do. When nothing started it, the
first callback starts it lazily on a small background event loop thread of the handler's own
(what the Flask and Django adapters, and a FastAPI app whose lifespan never ran, get);
:meth:`~CallbackHandler.close` (also run at interpreter exit) stops it and flushes the outbox.
:meth:`handle` may be called from any thread except the event loop the handler runs on;
:meth:`ahandle` from any event loop.

Events emitted (:mod:`lark_service.instrumentation`): ``callback.received``,
``callback.verified``, ``callback.rejected`` (``reason``, ``status``), ``callback.stored`` and
``callback.duplicate`` (``event_type``).

**Pre-authenticated payloads.** :meth:`CallbackHandler.handle_trusted` /
:meth:`~CallbackHandler.ahandle_trusted` take a callback that arrived over a channel that
already proved who sent it — the long connection (:mod:`lark_service.longconn`), whose socket
was opened with the app's secret — so there is no signature, timestamp or verification token
to check. The payload is still decrypted when it is ``{"encrypt": ...}`` (with the app's
encrypt key), size-checked, parsed and checked to belong to the app; then it takes exactly the
webhook path: the same dedup keys, the same outbox row, the same dispatcher, the same answer
(a card's toast/card when the handler is ready within ``reply_wait``, else a delayed update
once :meth:`CallbackAnswer.sent` is called).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .. import instrumentation
from ..errors import (
    CallbackError,
    KeysUnavailableError,
    MalformedCallbackError,
    PayloadTooLargeError,
    ReplayError,
    SignatureError,
    StorageUnavailableError,
    UnknownAppError,
)
from ..logging import get_logger
from .schedule import DEFAULT_RETRY_SCHEDULE
from .verify import (
    DEFAULT_MAX_BODY,
    DEFAULT_WINDOW,
    CallbackVerifier,
    Kind,
    VerifiedCallback,
    check_body_size,
    open_body,
)

if TYPE_CHECKING:
    from ..config import Settings
    from .dispatch import CardUpdater, Dispatcher
    from .keys import KeyLookup
    from .rabbitmq import RabbitTopology
    from .router import CallbackRouter

__all__ = ["CallbackAnswer", "CallbackHandler", "Headers", "ServerConfig"]


class Headers(Protocol):
    """Request headers as any framework gives them: anything with ``items()`` (a dict,
    Starlette's, Werkzeug's or Django's headers). Names are matched case-insensitively."""

    def items(self) -> Iterable[tuple[str, str]]: ...


_log = get_logger("lark_service.server")

_REASONS: dict[type[CallbackError], str] = {
    PayloadTooLargeError: "too_large",
    MalformedCallbackError: "malformed",
    ReplayError: "stale_timestamp",
    SignatureError: "bad_signature",
    UnknownAppError: "unknown_app",
    KeysUnavailableError: "keys_unavailable",
}


@dataclass
class ServerConfig:
    """Tunables of the callback handler and server (all have working defaults)."""

    max_body: int = DEFAULT_MAX_BODY
    timestamp_window: float = DEFAULT_WINDOW
    reply_wait: float = 1.0
    """Seconds a card callback's answer waits for an in-process handler's toast/card."""
    workers: int = 8
    max_attempts: int = DEFAULT_RETRY_SCHEDULE.max_attempts
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE.delays
    handler_timeout: float = 60.0
    shutdown_timeout: float = 10.0
    poll_interval: float = 1.0
    inline_when_broker_down: bool = False
    """RabbitMQ dispatcher: run handlers in the server while the broker is unreachable."""
    key_threads: int = 4
    """Threads looking up app keys that are not in memory (the app registry's database)."""


@dataclass
class CallbackAnswer:
    """What to answer one callback: ``status`` and the JSON ``body``.

    Call :meth:`sent` once the answer has been written to the client (adapters do it after
    the response, e.g. Starlette's background task, Flask's ``call_on_close``): a card whose
    handler finished after the answer is then applied with the delayed-update API, which
    Feishu accepts only after the answer.
    """

    status: int
    body: dict[str, Any]
    _on_sent: Callable[[], None] | None = field(default=None, repr=False)

    def sent(self) -> None:
        """The answer has been sent (idempotent)."""
        callback, self._on_sent = self._on_sent, None
        if callback is not None:
            callback()


def _error(status: int, msg: str) -> CallbackAnswer:
    return CallbackAnswer(status, {"code": status, "msg": msg})


def _trusted_body(payload: bytes | Mapping[str, Any]) -> bytes:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, Mapping):
        return json.dumps(dict(payload), ensure_ascii=False).encode("utf-8")
    raise TypeError(f"payload must be bytes or a mapping, not {type(payload).__name__}")


def _reason(exc: CallbackError) -> str:
    for cls, reason in _REASONS.items():
        if isinstance(exc, cls):
            return reason
    return type(exc).__name__


def _make_dispatcher(
    router: CallbackRouter,
    settings: Settings,
    config: ServerConfig,
    *,
    dispatcher: str | None,
    database_url: str | None,
    amqp_url: str | None,
    topology: RabbitTopology | None,
    updater: CardUpdater | None,
    clock: Callable[[], float],
) -> Dispatcher:
    from ..errors import ConfigError
    from .dispatch import InProcessDispatcher
    from .store import OutboxStore

    url = amqp_url or settings.amqp_url
    kind = dispatcher or ("rabbitmq" if url else "inprocess")
    if kind not in ("inprocess", "rabbitmq"):
        raise ConfigError(f"unknown dispatcher {kind!r}", hint="Use 'inprocess' or 'rabbitmq'.")
    if kind == "rabbitmq" and not url:
        raise ConfigError("the rabbitmq dispatcher needs LARK_AMQP_URL (or --amqp-url)")
    store = OutboxStore(database_url or settings.resolved_database_url, clock=clock)
    in_process = InProcessDispatcher(
        router,
        store,
        workers=config.workers,
        max_attempts=config.max_attempts,
        retry_delays=config.retry_delays,
        reply_wait=config.reply_wait,
        handler_timeout=config.handler_timeout,
        poll_interval=config.poll_interval,
        updater=updater,
    )
    if kind == "inprocess":
        return in_process
    from .rabbitmq import RabbitDispatcher

    assert url is not None
    fallback = in_process if config.inline_when_broker_down else None
    return RabbitDispatcher(store, url, topology=topology, fallback=fallback, owner=router.name)


class _Portal:
    """An event loop in a daemon thread, for handlers nobody started on a loop of theirs."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="lark-callbacks-loop", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


class CallbackHandler:
    """The callback core; see the module docstring.

    ``router``: the handlers (an empty router acknowledges everything). ``keys``: where app
    keys come from (default: the app registry plus ``LARK_APP_ID`` / ``LARK_ENCRYPT_KEY`` /
    ``LARK_VERIFICATION_TOKEN``, as ``lark-service serve`` reads them). ``dispatcher``: a
    :class:`~lark_service.callbacks.Dispatcher`, or ``"inprocess"`` / ``"rabbitmq"`` (default:
    RabbitMQ when ``amqp_url`` or ``LARK_AMQP_URL`` is set). ``clock`` feeds the timestamp
    window and the outbox (tests).
    """

    def __init__(
        self,
        router: CallbackRouter | None = None,
        *,
        settings: Settings | None = None,
        keys: KeyLookup | None = None,
        dispatcher: Dispatcher | str | None = None,
        database_url: str | None = None,
        amqp_url: str | None = None,
        topology: RabbitTopology | None = None,
        updater: CardUpdater | None = None,
        config: ServerConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from ..config import get_settings
        from .dispatch import Dispatcher
        from .keys import keys_from_settings
        from .router import CallbackRouter

        settings = settings or get_settings()
        self.router = router if router is not None else CallbackRouter()
        self.config = config or ServerConfig()
        self.verifier = CallbackVerifier(
            keys or keys_from_settings(settings),
            clock=clock,
            window=self.config.timestamp_window,
            max_body=self.config.max_body,
        )
        self._factory: Callable[[], Dispatcher] | None = None
        if isinstance(dispatcher, Dispatcher):
            self.dispatcher = dispatcher
        else:
            self._factory = functools.partial(
                _make_dispatcher,
                self.router,
                settings,
                self.config,
                dispatcher=dispatcher,
                database_url=database_url,
                amqp_url=amqp_url,
                topology=topology,
                updater=updater,
                clock=clock,
            )
            self.dispatcher = self._factory()
        self.accepting = False
        self.inflight = 0
        self._state = "new"  # new | running | stopped
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: asyncio.Event | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._portal: _Portal | None = None
        self._portal_lock = threading.Lock()
        self._start_lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"CallbackHandler({len(self.router)} routes, {self._state})"

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the dispatcher runs and callbacks are accepted."""
        return self._state == "running" and self.accepting

    async def start(self) -> None:
        """Start the dispatcher on the running event loop (migrates the outbox first).

        A no-op when it already runs (here, or on the loop the first callback started it on).
        """
        if self._state == "running":
            return
        if self._state == "stopped" and self._factory is not None:
            self.dispatcher = self._factory()  # a fresh one: the old one is finished
        dispatcher = self.dispatcher
        await asyncio.to_thread(lambda: dispatcher.store.engine)  # migrate up front
        await dispatcher.start()
        self._loop = asyncio.get_running_loop()
        self._idle = asyncio.Event()
        self._idle.set()
        self.inflight = 0
        self._state = "running"
        self.accepting = True
        _log.info("callback server ready (%s)", type(dispatcher).__name__)

    async def stop(self, timeout: float | None = None) -> None:
        """Refuse new callbacks (503), let in-flight ones finish within ``timeout`` (default
        ``config.shutdown_timeout``), stop the dispatcher (flushing the outbox)."""
        if self._state != "running":
            return
        loop = self._loop
        if loop is not None and loop is not asyncio.get_running_loop():
            # started elsewhere (lazily, on the background loop): stop it there
            if self._portal is not None and loop is self._portal.loop:
                await asyncio.to_thread(self.close)
            else:
                future = asyncio.run_coroutine_threadsafe(self.stop(timeout), loop)
                await asyncio.wrap_future(future)
            return
        timeout = self.config.shutdown_timeout if timeout is None else timeout
        self.accepting = False
        self._state = "stopped"
        if self._idle is not None:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except asyncio.TimeoutError:
                _log.warning("%s callbacks still in flight at shutdown", self.inflight)
        await self.dispatcher.stop(timeout)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)
        self._loop = None
        _log.info("callback server stopped")

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[CallbackHandler]:
        """``async with handler.lifespan():`` — :meth:`start`, then :meth:`stop` on exit."""
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    def close(self) -> None:
        """Stop a handler that started lazily on its own background loop (a no-op otherwise).
        Safe to call more than once; also run at interpreter exit."""
        portal = self._portal
        if portal is None or portal.loop.is_closed():
            return
        if self._loop is portal.loop:
            future = asyncio.run_coroutine_threadsafe(self.stop(), portal.loop)
            with contextlib.suppress(Exception):
                future.result(self.config.shutdown_timeout + 5)
        portal.close()
        self._portal = None
        self._start_lock = None  # bound to the closed loop
        if self._state == "stopped":
            self._state = "new"  # a later callback may start it again

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """``(ready, checks)`` for a readiness endpoint: the state database (and broker, and
        the config database when the key lookup has one) reachable and callbacks accepted."""
        checks = await self.dispatcher.readiness()
        checks.update(await self._config_database())
        ready = self.running and all(v == "ok" for v in checks.values())
        return ready, {
            "status": "ok" if ready else "unavailable",
            "accepting": self.running,
            **checks,
        }

    async def _config_database(self) -> dict[str, str]:
        ping = getattr(self.verifier.keys, "ping", None)
        if not callable(ping):
            return {}
        try:
            await asyncio.to_thread(ping)
        except Exception as exc:
            return {"config_database": f"unavailable: {type(exc).__name__}"}
        return {"config_database": "ok"}

    # -- handling ----------------------------------------------------------------------------

    def handle(
        self, kind: Kind, app_id: str | None, headers: Headers, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """Handle one callback from synchronous code: ``(status, json_body)`` to answer.

        ``kind`` is ``"event"`` or ``"card"``; ``app_id`` the id from the URL (None: the
        default app); ``headers`` the request headers (any case); ``body`` the raw body.
        """
        answer = self.process(kind, app_id, headers, body)
        answer.sent()
        return answer.status, answer.body

    async def ahandle(
        self, kind: Kind, app_id: str | None, headers: Headers, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """:meth:`handle` for async code (any event loop)."""
        answer = await self.aprocess(kind, app_id, headers, body)
        answer.sent()
        return answer.status, answer.body

    def process(
        self, kind: Kind, app_id: str | None, headers: Headers, body: bytes
    ) -> CallbackAnswer:
        """Like :meth:`handle`, returning a :class:`CallbackAnswer` whose ``sent()`` the
        caller calls once the answer is on the wire."""
        loop = self._target_loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError(
                "CallbackHandler.handle() called on the event loop the handler runs on; "
                "use `await handler.ahandle(...)`"
            )
        coro = self._process_started(kind, app_id, dict(headers.items()), body)
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    async def aprocess(
        self, kind: Kind, app_id: str | None, headers: Headers, body: bytes
    ) -> CallbackAnswer:
        """Like :meth:`ahandle`, returning a :class:`CallbackAnswer` (see :meth:`process`)."""
        current = asyncio.get_running_loop()
        if self._state == "running" and self._loop is current:
            return await self._process(kind, app_id, dict(headers.items()), body)
        if self._state == "stopped" and self._portal is None:
            return await self._process(kind, app_id, {}, body)  # 503: shutting down
        loop = self._target_loop()
        if loop is current:  # pragma: no cover - only when awaited on the portal itself
            return await self._process_started(kind, app_id, dict(headers.items()), body)
        coro = self._process_started(kind, app_id, dict(headers.items()), body)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    def _target_loop(self) -> asyncio.AbstractEventLoop:
        """The loop callbacks are processed on: the one the handler runs on, else the
        background loop (created now)."""
        loop = self._loop
        if self._state == "running" and loop is not None and not loop.is_closed():
            return loop
        with self._portal_lock:
            if self._portal is None:
                self._portal = _Portal()
                atexit.register(self.close)
            return self._portal.loop

    async def _process_started(
        self,
        kind: Kind,
        app_id: str | None,
        headers: Mapping[str, str],
        body: bytes,
        *,
        trusted: bool = False,
    ) -> CallbackAnswer:
        """On the background loop: start lazily if nobody did, then process."""
        current = asyncio.get_running_loop()
        if self._state == "new" and self._portal is not None and current is self._portal.loop:
            if self._start_lock is None:
                self._start_lock = asyncio.Lock()
            async with self._start_lock:
                if self._state == "new":
                    try:
                        await self.start()
                    except Exception as exc:
                        _log.error("cannot start the callback handler: %s", type(exc).__name__)
                        return self._refuse(
                            kind, app_id, 503, "not_started", "callback handler cannot start"
                        )
        return await self._process(kind, app_id, headers, body, trusted=trusted)

    # -- pre-authenticated payloads (the long connection) -------------------------------------

    def start_background(self, timeout: float | None = None) -> None:
        """Start the handler now on its own background event loop thread (what the first
        callback would do lazily), so that the first callback does not wait for the outbox's
        migration. A no-op when it already runs anywhere. Blocks; call it from a thread that
        is not the handler's loop. Raises what :meth:`start` raises."""
        if self._state == "running":
            return
        loop = self._target_loop()

        async def _start() -> None:
            if self._state == "new" and self._portal is not None:
                if self._start_lock is None:
                    self._start_lock = asyncio.Lock()
                async with self._start_lock:
                    if self._state == "new":
                        await self.start()

        future = asyncio.run_coroutine_threadsafe(_start(), loop)
        future.result(timeout)

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the handler (its dispatcher) runs on, None when not running."""
        return self._loop if self._state == "running" else None

    def handle_trusted(
        self, kind: Kind, app_id: str | None, payload: bytes | Mapping[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """Handle a pre-authenticated callback (see the module docstring) from synchronous
        code: ``(status, json_body)``, like :meth:`handle`. ``payload``: the raw JSON bytes or
        the parsed object, possibly ``{"encrypt": ...}``."""
        answer = self.process_trusted(kind, app_id, payload)
        answer.sent()
        return answer.status, answer.body

    async def ahandle_trusted(
        self, kind: Kind, app_id: str | None, payload: bytes | Mapping[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """:meth:`handle_trusted` for async code (any event loop)."""
        answer = await self.aprocess_trusted(kind, app_id, payload)
        answer.sent()
        return answer.status, answer.body

    def process_trusted(
        self, kind: Kind, app_id: str | None, payload: bytes | Mapping[str, Any]
    ) -> CallbackAnswer:
        """Like :meth:`handle_trusted`, returning a :class:`CallbackAnswer` whose ``sent()``
        the caller calls once the answer (the long connection's ack) is on the wire."""
        loop = self._target_loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError(
                "CallbackHandler.handle_trusted() called on the event loop the handler runs "
                "on; use `await handler.ahandle_trusted(...)`"
            )
        coro = self._process_started(kind, app_id, {}, _trusted_body(payload), trusted=True)
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    async def aprocess_trusted(
        self, kind: Kind, app_id: str | None, payload: bytes | Mapping[str, Any]
    ) -> CallbackAnswer:
        """Like :meth:`ahandle_trusted`, returning a :class:`CallbackAnswer` (see
        :meth:`process_trusted`). Runs on the handler's loop (a different thread when the
        handler runs elsewhere); awaiting it never runs a handler on the caller's loop
        unless the handler itself was started there."""
        body = _trusted_body(payload)
        current = asyncio.get_running_loop()
        if self._state == "running" and self._loop is current:
            return await self._process(kind, app_id, {}, body, trusted=True)
        if self._state == "stopped" and self._portal is None:
            return await self._process(kind, app_id, {}, body, trusted=True)  # 503
        loop = self._target_loop()
        coro = self._process_started(kind, app_id, {}, body, trusted=True)
        if loop is current:  # pragma: no cover - only when awaited on the portal itself
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    def reject(self, kind: Kind, app_id: str | None, exc: CallbackError) -> CallbackAnswer:
        """The answer to a request an adapter refuses before the handler sees it (a body over
        ``config.max_body``): logged and counted like the handler's own rejections."""
        status = exc.http_status or 400
        _log.warning(
            "rejected %s callback for %s: %s (%s)", kind, app_id or "default", exc.msg, status
        )
        return self._refuse(kind, app_id, status, _reason(exc), exc.msg)

    def disconnected(self, kind: Kind, app_id: str | None) -> None:
        """An adapter saw the client go away before the whole body arrived: one WARNING line
        (no traceback) and a ``callback.rejected`` event."""
        _log.warning(
            "client disconnected before sending the whole %s callback for %s",
            kind,
            app_id or "default",
        )
        instrumentation.emit(
            "callback.rejected", app_id, kind=kind, reason="client_disconnected", status=400
        )

    def _refuse(
        self, kind: Kind, app_id: str | None, status: int, reason: str, msg: str
    ) -> CallbackAnswer:
        instrumentation.emit("callback.rejected", app_id, kind=kind, reason=reason, status=status)
        return _error(status, msg)

    async def _verify(
        self, kind: Kind, app_id: str | None, headers: Mapping[str, str], body: bytes
    ) -> VerifiedCallback:
        """Verify; the app's keys come from memory when the lookup can answer so, else from
        the key threads (a pool of their own: sync handlers filling the default one must not
        delay an ack)."""
        keys = self.verifier.app_keys_nowait(app_id)
        if keys is None:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max(1, self.config.key_threads), thread_name_prefix="lark-callbacks-keys"
                )
            lookup = functools.partial(self.verifier.app_keys, app_id)
            keys = await asyncio.get_running_loop().run_in_executor(self._pool, lookup)
        return self.verifier.verify(kind, app_id, headers, body, keys=keys)

    async def _open_trusted(self, kind: Kind, app_id: str | None, body: bytes) -> VerifiedCallback:
        """A pre-authenticated payload as a :class:`VerifiedCallback`: size, JSON, decryption
        (with the app's encrypt key, only when it is encrypted), app check; no signature."""
        from .models import parse_callback, without_verification_token

        check_body_size(body, self.config.max_body)
        payload: dict[str, Any] | None = None
        try:
            outer = json.loads(body)
        except (UnicodeDecodeError, ValueError, RecursionError):
            outer = None  # open_body says what is wrong
        if not (isinstance(outer, dict) and "encrypt" in outer):
            payload, _ = open_body(body, None)
        if payload is None:  # encrypted: the app's keys are needed
            keys = await self._app_keys(app_id)
            payload, _ = open_body(body, keys.encrypt_key)
            chosen = keys.app_id
        else:
            chosen = app_id or await self._default_app_id()
        now = self.verifier.clock()
        if payload.get("type") == "url_verification":
            challenge = payload.get("challenge")
            if not isinstance(challenge, str):
                raise MalformedCallbackError("url_verification without a challenge string")
            return VerifiedCallback(chosen, kind, payload, None, challenge, now)
        payload = without_verification_token(payload, kind)
        try:
            event = parse_callback(payload, kind, chosen)
        except ValueError:  # pydantic's ValidationError
            raise MalformedCallbackError("callback fields have the wrong types") from None
        if event.app_id and event.app_id != chosen:
            raise MalformedCallbackError(f"callback is for app {event.app_id}, not {chosen}")
        return VerifiedCallback(chosen, kind, payload, event, None, now)

    async def _app_keys(self, app_id: str | None) -> Any:
        keys = self.verifier.app_keys_nowait(app_id)
        if keys is None:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max(1, self.config.key_threads), thread_name_prefix="lark-callbacks-keys"
                )
            lookup = functools.partial(self.verifier.app_keys, app_id)
            keys = await asyncio.get_running_loop().run_in_executor(self._pool, lookup)
        return keys

    async def _default_app_id(self) -> str:
        try:
            chosen = await asyncio.to_thread(self.verifier.keys.default_app_id)
        except Exception as exc:
            raise KeysUnavailableError(
                f"the default app cannot be read ({type(exc).__name__})"
            ) from None
        if not chosen:
            raise UnknownAppError("no app named for a pre-authenticated callback")
        return chosen

    async def _process(
        self,
        kind: Kind,
        app_id: str | None,
        headers: Mapping[str, str],
        body: bytes,
        *,
        trusted: bool = False,
    ) -> CallbackAnswer:
        from .models import LegacyCardActionEvent

        instrumentation.emit("callback.received", app_id, kind=kind)
        if not self.accepting:
            return self._refuse(kind, app_id, 503, "shutting_down", "server is shutting down")
        self.inflight += 1
        if self._idle is not None:
            self._idle.clear()
        submission = None
        try:
            try:
                if trusted:
                    verified = await self._open_trusted(kind, app_id, body)
                else:
                    verified = await self._verify(kind, app_id, headers, body)
            except CallbackError as exc:
                status = exc.http_status or 400
                _log.warning(
                    "rejected %s callback for %s: %s (%s)",
                    kind,
                    app_id or "default",
                    exc.msg,
                    status,
                )
                return self._refuse(kind, app_id, status, _reason(exc), exc.msg)
            instrumentation.emit("callback.verified", verified.app_id, kind=kind)
            if verified.challenge is not None:
                return CallbackAnswer(200, {"challenge": verified.challenge})
            try:
                submission = await self.dispatcher.submit(verified)
            except MalformedCallbackError as exc:  # undecodable: refused alone, the rest commit
                return self._refuse(kind, verified.app_id, 400, "malformed", exc.msg)
            except StorageUnavailableError:
                return self._refuse(
                    kind,
                    verified.app_id,
                    503,
                    "storage_unavailable",
                    "callback could not be stored; retry later",
                )
            event = verified.event
            event_type = event.event_type if event is not None else None
            if submission.duplicate:
                instrumentation.emit(
                    "callback.duplicate", verified.app_id, kind=kind, event_type=event_type
                )
                _log.info("duplicate callback %s acknowledged", event.event_id if event else "?")
                return CallbackAnswer(200, {} if kind == "card" else {"msg": "success"})
            instrumentation.emit(
                "callback.stored", verified.app_id, kind=kind, event_type=event_type
            )
            if kind != "card":
                submission.mark_answered()
                return CallbackAnswer(200, {"msg": "success"})
            response = await submission.reply(self.config.reply_wait)
            legacy = isinstance(event, LegacyCardActionEvent)
            out: dict[str, Any] = response.answer(legacy=legacy) if response is not None else {}
            return CallbackAnswer(200, out, self._on_loop(submission.mark_answered))
        except Exception:  # never a stack trace in an answer
            _log.exception("callback handling failed")
            if submission is not None:
                submission.mark_answered()
            return self._refuse(kind, app_id, 500, "internal_error", "internal error")
        finally:
            self.inflight -= 1
            if self.inflight == 0 and self._idle is not None:
                self._idle.set()

    def _on_loop(self, fn: Callable[[], None]) -> Callable[[], None]:
        """``fn`` made callable from any thread: it runs on the handler's loop."""
        loop = asyncio.get_running_loop()

        def call() -> None:
            try:
                same = asyncio.get_running_loop() is loop
            except RuntimeError:
                same = False
            if same:
                fn()
            elif not loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(fn)

        return call

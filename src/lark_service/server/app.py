"""``create_app``: the FastAPI app serving Feishu callbacks, ``/healthz`` and ``/readyz``.

Routes::

    POST /callbacks/{app_id}/event   events (im.message.receive_v1, …) and url_verification
    POST /callbacks/{app_id}/card    card callbacks (card.action.trigger, the legacy callback)
    POST /callbacks/event            the same for the default app
    POST /callbacks/card
    GET  /healthz                    alive
    GET  /readyz                     databases (state; config when a registry is used) and
                                     broker reachable

This module imports FastAPI; ``lark_service.server`` itself stays light.

A callback is verified (:class:`~lark_service.callbacks.CallbackVerifier`), stored with its
dedup keys, handed to the dispatcher and acknowledged — in that order, so a 200 always means
"stored". A duplicate is acknowledged and not run again. Failures answer a short JSON error
(``{"msg": ...}``) with 400/401/404/413, or 503 when the app's keys cannot be read or the outbox
cannot be written; never a stack trace. An app's keys are looked up on the event loop only
when the lookup answers from memory (:class:`~lark_service.callbacks.StaticKeys`, single-app
mode, or an app the registry lookup has cached); otherwise on a small thread pool of the
server's own, so a slow config database never stalls other requests.

On shutdown (SIGTERM/SIGINT under uvicorn) new callbacks get 503 while in-flight work finishes
within ``shutdown_timeout`` and the outbox is flushed.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from ..callbacks.dispatch import Dispatcher, StorageUnavailableError
from ..callbacks.models import LegacyCardActionEvent
from ..callbacks.verify import (
    DEFAULT_MAX_BODY,
    DEFAULT_WINDOW,
    CallbackVerifier,
    Kind,
    VerifiedCallback,
)
from ..errors import CallbackError
from ..logging import get_logger

if TYPE_CHECKING:
    from ..callbacks.dispatch import CardUpdater
    from ..callbacks.keys import KeyLookup
    from ..callbacks.rabbitmq import RabbitTopology
    from ..callbacks.router import CallbackRouter
    from ..config import Settings

__all__ = ["ServerConfig", "create_app"]

_log = get_logger("lark_service.server")


@dataclass
class ServerConfig:
    """Tunables of the callback server (all have working defaults)."""

    max_body: int = DEFAULT_MAX_BODY
    timestamp_window: float = DEFAULT_WINDOW
    reply_wait: float = 1.0
    """Seconds a card callback's answer waits for an in-process handler's toast/card."""
    workers: int = 8
    max_attempts: int = 5
    retry_delays: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
    handler_timeout: float = 60.0
    shutdown_timeout: float = 10.0
    poll_interval: float = 1.0
    inline_when_broker_down: bool = False
    """RabbitMQ dispatcher: run handlers in the server while the broker is unreachable."""
    key_threads: int = 4
    """Threads looking up app keys that are not in memory (the app registry's database)."""


class _State:
    def __init__(self, verifier: CallbackVerifier, dispatcher: Dispatcher, config: ServerConfig):
        self.verifier = verifier
        self.dispatcher = dispatcher
        self.config = config
        self.accepting = False
        self.inflight = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self._pool: ThreadPoolExecutor | None = None

    async def verify(
        self, kind: Kind, app_id: str | None, headers: Any, body: bytes
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

    async def config_database(self) -> dict[str, str]:
        """``{"config_database": ...}`` when the key lookup has a database to check."""
        ping = getattr(self.verifier.keys, "ping", None)
        if not callable(ping):
            return {}
        try:
            await asyncio.to_thread(ping)
        except Exception as exc:
            return {"config_database": f"unavailable: {type(exc).__name__}"}
        return {"config_database": "ok"}

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)


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
    from ..callbacks.dispatch import InProcessDispatcher
    from ..callbacks.store import OutboxStore

    store = OutboxStore(database_url or settings.resolved_database_url, clock=clock)
    url = amqp_url or settings.amqp_url
    kind = dispatcher or ("rabbitmq" if url else "inprocess")
    if kind not in ("inprocess", "rabbitmq"):
        from ..errors import ConfigError

        raise ConfigError(f"unknown dispatcher {kind!r}", hint="Use 'inprocess' or 'rabbitmq'.")
    if kind == "rabbitmq" and not url:
        from ..errors import ConfigError

        raise ConfigError("the rabbitmq dispatcher needs LARK_AMQP_URL (or --amqp-url)")
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
    from ..callbacks.rabbitmq import RabbitDispatcher

    assert url is not None
    fallback = in_process if config.inline_when_broker_down else None
    return RabbitDispatcher(store, url, topology=topology, fallback=fallback)


def create_app(
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
) -> FastAPI:
    """The callback server as a FastAPI app.

    ``router``: the handlers (an empty router acknowledges everything). ``keys``: where app
    keys come from (default: the registry plus ``LARK_APP_ID`` / ``LARK_ENCRYPT_KEY`` /
    ``LARK_VERIFICATION_TOKEN``). ``dispatcher``: a :class:`Dispatcher`, or ``"inprocess"`` /
    ``"rabbitmq"`` (default: RabbitMQ when ``amqp_url`` or ``LARK_AMQP_URL`` is set).
    ``clock`` feeds the timestamp window and the outbox (tests).
    """
    from ..callbacks.keys import keys_from_settings
    from ..callbacks.router import CallbackRouter
    from ..config import get_settings

    settings = settings or get_settings()
    router = router or CallbackRouter()
    config = config or ServerConfig()
    keys = keys or keys_from_settings(settings)
    verifier = CallbackVerifier(
        keys, clock=clock, window=config.timestamp_window, max_body=config.max_body
    )
    if not isinstance(dispatcher, Dispatcher):
        dispatcher = _make_dispatcher(
            router,
            settings,
            config,
            dispatcher=dispatcher,
            database_url=database_url,
            amqp_url=amqp_url,
            topology=topology,
            updater=updater,
            clock=clock,
        )
    state = _State(verifier, dispatcher, config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(lambda: state.dispatcher.store.engine)  # migrate up front
        await state.dispatcher.start()
        state.accepting = True
        _log.info("callback server ready (%s)", type(state.dispatcher).__name__)
        try:
            yield
        finally:
            state.accepting = False
            try:
                await asyncio.wait_for(state.idle.wait(), config.shutdown_timeout)
            except asyncio.TimeoutError:
                _log.warning("%s callbacks still in flight at shutdown", state.inflight)
            await state.dispatcher.stop(config.shutdown_timeout)
            state.close()
            _log.info("callback server stopped")

    app = FastAPI(
        title="lark-service",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.callbacks = state

    async def handle(request: Request, kind: Kind, app_id: str | None) -> Response:
        return await _handle(state, request, kind, app_id)

    @app.post("/callbacks/{app_id}/event")
    async def app_event(request: Request, app_id: str) -> Response:
        return await handle(request, "event", app_id)

    @app.post("/callbacks/{app_id}/card")
    async def app_card(request: Request, app_id: str) -> Response:
        return await handle(request, "card", app_id)

    @app.post("/callbacks/event")
    async def default_event(request: Request) -> Response:
        return await handle(request, "event", None)

    @app.post("/callbacks/card")
    async def default_card(request: Request) -> Response:
        return await handle(request, "card", None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        from fastapi.responses import JSONResponse

        checks = await state.dispatcher.readiness()
        checks.update(await state.config_database())
        ready = state.accepting and all(v == "ok" for v in checks.values())
        body = {"status": "ok" if ready else "unavailable", "accepting": state.accepting, **checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    return app


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        from ..callbacks.verify import PayloadTooLargeError

        raise PayloadTooLargeError(f"callback body of {declared} bytes exceeds {limit} bytes")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks.extend(chunk)
        if len(chunks) > limit:
            from ..callbacks.verify import PayloadTooLargeError

            raise PayloadTooLargeError(f"callback body exceeds {limit} bytes")
    return bytes(chunks)


def _error(status: int, msg: str) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse({"code": status, "msg": msg}, status_code=status)


async def _handle(state: _State, request: Request, kind: Kind, app_id: str | None) -> Response:
    from starlette.background import BackgroundTask
    from starlette.responses import JSONResponse

    if not state.accepting:
        return _error(503, "server is shutting down")
    state.inflight += 1
    state.idle.clear()
    submission = None
    try:
        try:
            body = await _read_body(request, state.verifier.max_body)
            verified = await state.verify(kind, app_id, request.headers, body)
        except CallbackError as exc:
            status = exc.http_status or 400
            _log.warning(
                "rejected %s callback for %s: %s (%s)", kind, app_id or "default", exc.msg, status
            )
            return _error(status, exc.msg)
        if verified.challenge is not None:
            return JSONResponse({"challenge": verified.challenge})
        try:
            submission = await state.dispatcher.submit(verified)
        except StorageUnavailableError:
            return _error(503, "callback could not be stored; retry later")
        event = verified.event
        if submission.duplicate:
            _log.info("duplicate callback %s acknowledged", event.event_id if event else "?")
            return JSONResponse({} if kind == "card" else {"msg": "success"})
        if kind != "card":
            submission.mark_answered()
            return JSONResponse({"msg": "success"})
        response = await submission.reply(state.config.reply_wait)
        legacy = isinstance(event, LegacyCardActionEvent)
        body_out: dict[str, Any] = response.answer(legacy=legacy) if response is not None else {}
        return JSONResponse(body_out, background=BackgroundTask(submission.mark_answered))
    except Exception:  # never a stack trace in a response
        _log.exception("callback handling failed")
        if submission is not None:
            submission.mark_answered()
        return _error(500, "internal error")
    finally:
        state.inflight -= 1
        if state.inflight == 0:
            state.idle.set()

"""``create_app``: the FastAPI app serving Feishu callbacks, ``/healthz`` and ``/readyz``.

Routes::

    POST /callbacks/{app_id}/event   events (im.message.receive_v1, …) and url_verification
    POST /callbacks/{app_id}/card    card callbacks (card.action.trigger, the legacy callback)
    POST /callbacks/event            the same for the default app
    POST /callbacks/card
    GET  /oauth/callback             user OAuth: the consent page's redirect (docs/auth.md)
    GET  /healthz                    alive
    GET  /readyz                     databases (state; config when a registry is used) and
                                     broker reachable
    GET  /metrics                    Prometheus metrics (the ``metrics`` extra; else 404),
                                     with the outbox depth, the contact cache size and
                                     (RabbitMQ dispatcher) the callback queues' depth
    GET  /status                     operators' HTML page (loopback only, or a Bearer
                                     LARK_STATUS_TOKEN): see lark_service.server.status
    /api/v1/...                      the HTTP gateway, with ``gateway=True`` or
                                     ``LARK_GATEWAY_ENABLED`` (docs/gateway.md)

This module imports FastAPI; ``lark_service.server`` itself stays light. The work is done by
:class:`~lark_service.callbacks.CallbackHandler` (verify → dedup → store → dispatch → answer);
this app is a thin adapter over it, the same one
:func:`lark_service.integrations.fastapi.callbacks_router` mounts in an app of yours.

On shutdown (SIGTERM/SIGINT under uvicorn) new callbacks get 503 while in-flight work finishes
within ``shutdown_timeout`` and the outbox is flushed. If the app's lifespan never runs (it is
mounted inside another app), the first callback starts the handler on a background loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.responses import Response

from ..callbacks.handler import CallbackHandler, ServerConfig
from ..integrations.fastapi import add_callback_routes

if TYPE_CHECKING:
    from ..callbacks.dispatch import CardUpdater, Dispatcher
    from ..callbacks.keys import KeyLookup
    from ..callbacks.rabbitmq import RabbitTopology
    from ..callbacks.router import CallbackRouter
    from ..callbacks.store import OutboxStore
    from ..config import Settings
    from ..contact.cache import UserCache

__all__ = ["ServerConfig", "create_app"]


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
    handler: CallbackHandler | None = None,
    gateway: bool | None = None,
) -> FastAPI:
    """The callback server as a FastAPI app.

    ``router``: the handlers (an empty router acknowledges everything). ``keys``: where app
    keys come from (default: the registry plus ``LARK_APP_ID`` / ``LARK_ENCRYPT_KEY`` /
    ``LARK_VERIFICATION_TOKEN``). ``dispatcher``: a :class:`Dispatcher`, or ``"inprocess"`` /
    ``"rabbitmq"`` (default: RabbitMQ when ``amqp_url`` or ``LARK_AMQP_URL`` is set).
    ``clock`` feeds the timestamp window and the outbox (tests). ``handler``: a ready
    :class:`~lark_service.callbacks.CallbackHandler` instead of all of the above.
    ``gateway``: also answer the HTTP gateway under ``/api/v1`` (default:
    ``LARK_GATEWAY_ENABLED``; see :mod:`lark_service.gateway`).
    """
    core = handler or CallbackHandler(
        router,
        settings=settings,
        keys=keys,
        dispatcher=dispatcher,
        database_url=database_url,
        amqp_url=amqp_url,
        topology=topology,
        updater=updater,
        config=config,
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with core.lifespan():
            yield

    app = FastAPI(title="lark-service", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.callbacks = core
    add_callback_routes(app, core)
    from .oauth import add_oauth_routes  # GET /oauth/callback: user OAuth (docs/auth.md)

    add_oauth_routes(app, settings=settings)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        ready, body = await core.readiness()
        return JSONResponse(body, status_code=200 if ready else 503)

    _add_metrics_route(app, core)
    from .status import add_status_route

    add_status_route(
        app,
        settings=settings,
        outbox=lambda: getattr(core.dispatcher, "store", None),
        clock=clock,
    )
    if _gateway_enabled(settings) if gateway is None else gateway:
        from ..gateway.app import mount_gateway

        mount_gateway(app, settings=settings)
    return app


def _gateway_enabled(settings: Settings | None) -> bool:
    from ..config import get_settings

    return bool((settings or get_settings()).gateway_enabled)


def _add_metrics_route(app: FastAPI, core: CallbackHandler) -> None:
    """``GET /metrics``: lark_service.metrics' exposition, scraped in a thread (the outbox and
    contact-cache families query the state database, at most every few seconds)."""
    metrics: Any = None
    try:
        from .. import metrics
    except ImportError:  # prometheus_client is not installed
        pass
    else:

        def outbox() -> OutboxStore | None:
            return getattr(core.dispatcher, "store", None)

        caches: dict[str, UserCache] = {}

        def contact_cache() -> UserCache | None:
            store = outbox()  # the contact cache lives in the same state database
            if store is None:
                return None
            if store.url not in caches:
                from ..contact.cache import UserCache

                caches.clear()
                caches[store.url] = UserCache(store.url)
            return caches[store.url]

        def queues() -> tuple[str, list[str]] | None:
            dispatcher = core.dispatcher
            publisher = getattr(dispatcher, "publisher", None)
            topology = getattr(dispatcher, "topology", None)
            if publisher is None or topology is None:
                return None  # the in-process dispatcher: no broker
            return publisher.url, topology.all_queues()

        metrics.watch_outbox(outbox)
        metrics.watch_contact_cache(contact_cache)
        metrics.watch_rabbitmq(queues)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_route() -> Response:
        if metrics is None:
            return PlainTextResponse(
                "metrics need the metrics extra: pip install 'lark-service[metrics]'\n",
                status_code=404,
            )
        body, content_type = await asyncio.to_thread(metrics.render)
        return Response(body, media_type=content_type)

"""The callback endpoints inside your own FastAPI (or Starlette) app.

::

    from fastapi import FastAPI
    from lark_service.integrations.fastapi import callbacks_router

    app = FastAPI(lifespan=my_lifespan)          # your lifespan stays yours
    app.include_router(callbacks_router(router))

serves ``POST /callbacks/{app_id}/event``, ``/callbacks/{app_id}/card``, ``/callbacks/event``
and ``/callbacks/card`` exactly as ``lark-service serve`` does. ``include_router`` composes the
router's lifespan with the app's, so the dispatcher starts and stops with your app; where no
lifespan runs (a Starlette ``Mount``, a test client used without ``with``) the first callback
starts it on a background loop (:class:`~lark_service.callbacks.CallbackHandler`). Needs the
``server`` extra (FastAPI).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response

from ..errors import PayloadTooLargeError
from ._common import build_handler, check_declared, too_large

if TYPE_CHECKING:
    from ..callbacks.handler import CallbackHandler
    from ..callbacks.router import CallbackRouter
    from ..callbacks.verify import Kind

__all__ = ["add_callback_routes", "callback_endpoint", "callbacks_router"]


async def _read_body(request: Request, limit: int) -> bytes:
    check_declared(request.headers.get("content-length"), limit)
    chunks = bytearray()
    async for chunk in request.stream():
        chunks.extend(chunk)
        if len(chunks) > limit:
            raise too_large(limit)
    return bytes(chunks)


async def callback_endpoint(
    handler: CallbackHandler, request: Request, kind: Kind, app_id: str | None
) -> Response:
    """Answer one callback request with ``handler`` (for routes of your own)."""
    try:
        body = await _read_body(request, handler.config.max_body)
    except PayloadTooLargeError as exc:
        answer = handler.reject(kind, app_id, exc)
        return JSONResponse(answer.body, status_code=answer.status)
    except ClientDisconnect:
        handler.disconnected(kind, app_id)
        return Response(status_code=400)
    answer = await handler.aprocess(kind, app_id, request.headers, body)
    return JSONResponse(
        answer.body, status_code=answer.status, background=BackgroundTask(answer.sent)
    )


def add_callback_routes(
    api: APIRouter | FastAPI, handler: CallbackHandler, prefix: str = "/callbacks"
) -> None:
    """Add the four callback routes to ``api`` (a FastAPI app or APIRouter)."""

    @api.post(prefix + "/{app_id}/event", include_in_schema=False)
    async def app_event(request: Request, app_id: str) -> Response:
        return await callback_endpoint(handler, request, "event", app_id)

    @api.post(prefix + "/{app_id}/card", include_in_schema=False)
    async def app_card(request: Request, app_id: str) -> Response:
        return await callback_endpoint(handler, request, "card", app_id)

    @api.post(prefix + "/event", include_in_schema=False)
    async def default_event(request: Request) -> Response:
        return await callback_endpoint(handler, request, "event", None)

    @api.post(prefix + "/card", include_in_schema=False)
    async def default_card(request: Request) -> Response:
        return await callback_endpoint(handler, request, "card", None)


def callbacks_router(
    router: CallbackRouter | None = None,
    *,
    handler: CallbackHandler | None = None,
    prefix: str = "/callbacks",
    **options: Any,
) -> APIRouter:
    """An ``APIRouter`` serving the callback endpoints under ``prefix``.

    ``router``: your handlers; ``options``: :class:`~lark_service.callbacks.CallbackHandler`'s
    (``keys=``, ``dispatcher=``, ``database_url=``, ``config=``, …) — or pass a ready
    ``handler=`` instead. With no arguments the keys come from the same places as
    ``lark-service serve`` (``LARK_APP_ID`` … or the app registry).
    """
    core = build_handler(router, handler, options)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await core.start()
        try:
            yield
        finally:
            await core.stop()

    api = APIRouter(lifespan=lifespan)
    add_callback_routes(api, core, prefix)
    return api

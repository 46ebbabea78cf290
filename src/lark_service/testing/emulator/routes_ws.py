"""Feishu's long connection (WebSocket event mode) on the emulator.

``POST /callback/ws/endpoint``
    ``{"AppID", "AppSecret"}`` → ``{"code": 0, "data": {"URL": "ws://…", "ClientConfig":
    {"ReconnectCount", "ReconnectInterval", "ReconnectNonce", "PingInterval"}}}``. A missing
    id or secret answers code 1000040344 (no credential); a wrong secret 10014 ("app secret
    invalid", the emulator's choice: Feishu's code here is not documented). The URL opens the
    emulator's WebSocket server (:mod:`.longconn_state`), one connection per URL.
``POST /_emulator/cards/{message_id}/click``
    The click control, with a transport choice: ``"transport": "ws"`` delivers over the app's
    long connection, ``"webhook"`` to its ``callback_url``; without one, an app that has no
    ``callback_url`` but an open long connection gets it over the socket, every other click
    is the webhook click of :mod:`.routes_callbacks`, unchanged.
``POST /_emulator/ws/push``
    ``{"app_id", "payload"}`` (an event payload) or ``{"app_id", "text"}`` (a user's text
    message) → queued for the app's connections; ``"wait": seconds`` waits for the ack.
``POST /_emulator/ws/faults``
    ``{"kind": "drop" | "half_open" | "refuse_handshake" | "split", "app_id"?, "count"?,
    "status"?, "autherrcode"?, "parts"?, "reverse"?}``.
``POST /_emulator/ws/config``
    ``{"ping_interval", "reconnect_interval", "reconnect_nonce", "reconnect_count",
    "ack_timeout"}`` (seconds).
``GET /_emulator/ws``
    Open connections, pushes (acked, attempts, ack latency) and counters.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ...longconn.protocol import ENDPOINT_PATH, NO_CREDENTIAL
from .longconn_state import LongConnControl, domain, finish_click, prepare_click
from .state import EmulatorState

__all__ = ["routes"]

ORDER = 50
"""Before routes_callbacks: this module's card-click route adds the transport choice."""


async def _object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("request body must be a JSON object")
    return value


def _guard(handler: Any) -> Any:
    async def guarded(request: Request) -> Response:
        try:
            response: Response = await handler(request)
            return response
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return guarded


def routes(state: EmulatorState) -> list[BaseRoute]:
    """The endpoint request, the click transport choice and the long-connection controls."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await _object(request)
        except ValueError:
            body = {}
        app_id, secret = body.get("AppID"), body.get("AppSecret")
        if not app_id or not secret:
            return JSONResponse({"code": NO_CREDENTIAL, "msg": "no credential", "data": None})
        app = state.get_app(str(app_id))
        if app is None or app.app_secret != secret:
            return JSONResponse({"code": 10014, "msg": "app secret invalid", "data": None})
        d = domain(state)
        url, _ = await asyncio.to_thread(d.new_ticket, app.app_id)
        return JSONResponse(
            {"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": d.config.to_json()}}
        )

    async def click(request: Request) -> Response:
        from . import routes_callbacks as rc

        body = await _object(request)
        message_id = request.path_params["message_id"]
        transport = body.pop("transport", None)
        if transport not in (None, "ws", "webhook"):
            raise ValueError("transport must be 'ws' or 'webhook'")
        if transport is None:
            message = state.get_message(message_id)
            app = state.get_app(message.app_id) if message and message.app_id else None
            if (
                app is not None
                and not app.callback_url
                and domain(state).open_connections(app.app_id)
            ):
                transport = "ws"
        if transport != "ws":
            return JSONResponse(await rc.click_card(state, message_id, body))
        push = prepare_click(state, message_id, body)
        await asyncio.to_thread(push.done.wait, 10.0)
        return JSONResponse(finish_click(state, push))

    async def push(request: Request) -> Response:
        body = await _object(request)
        control = LongConnControl(state)
        app_id = body.get("app_id")
        if not isinstance(app_id, str) or state.get_app(app_id) is None:
            raise ValueError(f"unknown app {app_id!r}")
        if isinstance(body.get("payload"), dict):
            item = control.push_event(app_id, body["payload"], str(body.get("type", "event")))
        elif isinstance(body.get("text"), str):
            item = control.say(app_id, body["text"])
        else:
            raise ValueError("give payload (an object) or text")
        wait = float(body.get("wait", 0) or 0)
        if wait > 0:
            await asyncio.to_thread(item.done.wait, wait)
        return JSONResponse(item.to_dict())

    async def faults(request: Request) -> Response:
        body = await _object(request)
        d = domain(state)
        kind = body.get("kind")
        app_id = body.get("app_id")
        count = body.get("count")
        if kind == "drop":
            return JSONResponse({"dropped": d.drop(app_id, count)})
        if kind == "half_open":
            return JSONResponse({"half_open": d.half_open(app_id, count)})
        if kind == "refuse_handshake":
            d.refuse_handshakes(
                int(body.get("status", 514)),
                count=int(count or 1),
                autherrcode=body.get("autherrcode"),
            )
            return JSONResponse({"ok": True})
        if kind == "split":
            d.split_next(
                int(body.get("parts", 2)), count=int(count or 1), reverse=bool(body.get("reverse"))
            )
            return JSONResponse({"ok": True})
        raise ValueError("kind must be drop, half_open, refuse_handshake or split")

    async def config(request: Request) -> Response:
        body = await _object(request)
        conf = LongConnControl(state).configure(
            **{
                k: body[k]
                for k in (
                    "ping_interval",
                    "reconnect_interval",
                    "reconnect_nonce",
                    "reconnect_count",
                    "ack_timeout",
                )
                if k in body
            }
        )
        return JSONResponse(conf.to_json())

    async def overview(request: Request) -> Response:
        d = domain(state)
        with d.lock:
            data = {
                "connections": [
                    {"conn_id": c.conn_id, "app_id": c.app_id, "half_open": c.half_open}
                    for c in d.connections.values()
                ],
                "pushes": [p.to_dict() for p in d.pushes[-1000:]],
                "handshakes": d.handshakes,
                "refused": d.refused,
                "endpoint_requests": d.endpoint_requests,
                "pings": d.pings,
                "config": d.config.to_json(),
            }
        return JSONResponse(data)

    prefix = "/_emulator"
    return [
        Route(ENDPOINT_PATH, endpoint, methods=["POST"]),
        Route(prefix + "/cards/{message_id}/click", _guard(click), methods=["POST"]),
        Route(prefix + "/ws/push", _guard(push), methods=["POST"]),
        Route(prefix + "/ws/faults", _guard(faults), methods=["POST"]),
        Route(prefix + "/ws/config", _guard(config), methods=["POST"]),
        Route(prefix + "/ws", overview, methods=["GET"]),
    ]

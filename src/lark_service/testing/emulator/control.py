"""The control API under ``/_emulator/``: seed, inspect, move the clock, revoke, break.

Plain JSON in and out. Bad input answers HTTP 400 ``{"error": "..."}``. Lists answer
``{"items": [...]}``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .state import EmulatorState

__all__ = ["PREFIX", "routes"]

PREFIX = "/_emulator"

Handler = Callable[[Request], Awaitable[Response]]


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"request body is not valid JSON: {exc}") from None


async def _object(request: Request) -> dict[str, Any]:
    body = await _body(request)
    if not isinstance(body, dict):
        raise ValueError("request body must be a JSON object")
    return body


def _items(body: Any) -> list[dict[str, Any]]:
    """A single object, a list of objects, or ``{"items": [...]}``."""
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        body = body["items"]
    items = body if isinstance(body, list) else [body]
    if not all(isinstance(i, dict) for i in items):
        raise ValueError("expected a JSON object or a list of objects")
    return items


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


def _guard(handler: Handler) -> Handler:
    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except (ValueError, TypeError, KeyError) as exc:
            if isinstance(exc, KeyError):
                message = f"missing field {exc.args[0]!r}" if exc.args else "missing field"
            else:
                message = str(exc)
            return JSONResponse({"error": message}, status_code=400)

    return guarded


def routes(state: EmulatorState) -> list[BaseRoute]:
    """The ``/_emulator/`` endpoints."""

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def reset(request: Request) -> Response:
        body = await _object(request)
        state.reset(seed_demo=bool(body.get("seed_demo", False)))
        return JSONResponse({"ok": True})

    async def apps(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            added = [state.add_app(**item).to_dict() for item in _items(body)]
            return JSONResponse(added if isinstance(body, list) else added[0])
        return JSONResponse({"items": [a.to_dict() for a in state.apps()]})

    async def users(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            added = [state.add_user(**item).to_dict() for item in _items(body)]
            return JSONResponse(added if isinstance(body, list) else added[0])
        app_id = request.query_params.get("app_id")
        return JSONResponse({"items": [u.to_dict(app_id) for u in state.users()]})

    async def chats(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            added = [state.add_chat(**item).to_dict() for item in _items(body)]
            return JSONResponse(added if isinstance(body, list) else added[0])
        return JSONResponse({"items": [c.to_dict() for c in state.chats()]})

    async def messages(request: Request) -> Response:
        q = request.query_params
        found = state.messages(
            app_id=q.get("app_id"),
            receive_id=q.get("receive_id"),
            chat_id=q.get("chat_id"),
            msg_type=q.get("msg_type"),
        )
        return JSONResponse({"items": [m.to_dict() for m in found]})

    async def requests(request: Request) -> Response:
        q = request.query_params
        found = state.requests(
            method=q.get("method"),
            path=q.get("path"),
            app_id=q.get("app_id"),
            status=_int(q.get("status")),
            code=_int(q.get("code")),
        )
        return JSONResponse({"items": [r.to_dict() for r in found]})

    async def clock(request: Request) -> Response:
        return JSONResponse({"now": state.clock.now(), "offset": state.clock.offset})

    async def clock_advance(request: Request) -> Response:
        body = await _object(request)
        if "seconds" not in body:
            raise ValueError("body needs 'seconds'")
        now = state.clock.advance(float(body["seconds"]))
        return JSONResponse({"now": now, "offset": state.clock.offset})

    async def tokens(request: Request) -> Response:
        q = request.query_params
        found = state.tokens(app_id=q.get("app_id"), kind=q.get("kind"))
        now = state.clock.now()
        return JSONResponse(
            {
                "items": [
                    {
                        "token": t.value,
                        "app_id": t.app_id,
                        "kind": t.kind,
                        "subject": t.subject,
                        "expires_at": t.expires_at,
                        "expire": int(t.remaining(now)),
                        "revoked": t.revoked,
                        "valid": t.is_valid(now),
                    }
                    for t in found
                ]
            }
        )

    async def tokens_revoke(request: Request) -> Response:
        body = await _object(request)
        revoked = state.revoke_tokens(
            app_id=body.get("app_id"), token=body.get("token"), kind=body.get("kind")
        )
        return JSONResponse({"revoked": revoked})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.faults.clear()
            return JSONResponse({"ok": True})
        if request.method == "POST":
            body = await _object(request)
            params = dict(body)
            path = params.pop("path")
            kind = params.pop("kind")
            count = params.pop("count", 1)
            method = params.pop("method", None)
            fault = state.faults.add(path, kind, count=count, method=method, **params)
            return JSONResponse(fault.to_dict())
        return JSONResponse({"items": [f.to_dict() for f in state.faults.list()]})

    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats())

    table: list[tuple[str, Handler, list[str]]] = [
        ("/health", health, ["GET"]),
        ("/reset", reset, ["POST"]),
        ("/apps", apps, ["GET", "POST"]),
        ("/users", users, ["GET", "POST"]),
        ("/chats", chats, ["GET", "POST"]),
        ("/messages", messages, ["GET"]),
        ("/requests", requests, ["GET"]),
        ("/clock", clock, ["GET"]),
        ("/clock/advance", clock_advance, ["POST"]),
        ("/tokens", tokens, ["GET"]),
        ("/tokens/revoke", tokens_revoke, ["POST"]),
        ("/faults", faults, ["GET", "POST", "DELETE"]),
        ("/stats", stats, ["GET"]),
    ]
    return [Route(PREFIX + path, _guard(fn), methods=methods) for path, fn, methods in table]

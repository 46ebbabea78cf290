"""The emulator as an ASGI app: route modules behind a gate that logs, tags and breaks calls.

Routes come from the modules in :data:`ROUTE_MODULES`, every ``routes_*.py`` beside this file;
each exposes ``routes(state: EmulatorState) -> list[BaseRoute]``. A new Feishu domain is one
new module, nothing to list. Route modules may also add control endpoints under ``/_emulator/``.

Every response gets a unique ``X-Tt-Logid``. Calls under ``/open-apis/`` additionally go
through fault injection and into the request log.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import Message, Receive, Scope, Send

from .api import FeishuError, error_body, log_id
from .faults import Fault
from .state import EmulatorState, RequestRecord, new_log_id

__all__ = ["ROUTE_MODULES", "EmulatorApp", "create_app"]


def _discover_route_modules() -> tuple[str, ...]:
    """Every ``routes_*`` module beside this one, in their ``ORDER`` (default 100; ties by
    name), then ``control`` (its catch-alls come last)."""
    found = []
    for info in pkgutil.iter_modules([os.path.dirname(__file__)]):
        if info.name.startswith("routes_"):
            name = f"{__package__}.{info.name}"
            found.append((getattr(importlib.import_module(name), "ORDER", 100), name))
    return (*(name for _, name in sorted(found)), f"{__package__}.control")


ROUTE_MODULES: tuple[str, ...] = _discover_route_modules()
"""Modules whose ``routes(state)`` make up the emulator: found, not listed (a new Feishu domain
is one new ``routes_<domain>.py``; ``ORDER = 50`` puts a module before the others)."""

OPEN_API_PREFIX = "/open-apis/"
_MAX_CAPTURE = 1 << 20
_DISCONNECT_WAIT = 5.0
_POLL = 0.05


def create_app(
    state: EmulatorState | None = None, *, route_modules: Iterable[str] | None = None
) -> EmulatorApp:
    """The emulator ASGI app over ``state`` (a fresh, empty one by default)."""
    return EmulatorApp(state or EmulatorState(), route_modules=route_modules)


def _load_routes(state: EmulatorState, modules: Iterable[str]) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for name in modules:
        module = importlib.import_module(name)
        routes.extend(module.routes(state))
    return routes


async def _feishu_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FeishuError)
    return JSONResponse(
        error_body(exc.code, exc.msg, log_id(request), **exc.error),
        status_code=exc.http_status,
        headers=exc.headers,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(OPEN_API_PREFIX) and exc.status_code in (404, 405):
        # Feishu's gateway answers an unknown path (or method) with a bare 404.
        return JSONResponse({"code": 404, "msg": "404 page not found"}, status_code=404)
    return JSONResponse(
        {"code": exc.status_code, "msg": str(exc.detail)},
        status_code=exc.status_code,
        headers=exc.headers,
    )


class _Capture:
    """Wraps ``send``: adds ``X-Tt-Logid``, remembers the status and a JSON body's ``code``,
    and calls ``on_complete`` just *before* the last body chunk goes out, so whatever it
    records is in place by the time the client has the answer."""

    def __init__(self, send: Send, log_id: str, on_complete: Callable[[], None]) -> None:
        self._send = send
        self._log_id = log_id.encode()
        self._on_complete = on_complete
        self.status: int | None = None
        self._json = False
        self._body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            headers = list(message.get("headers", []))
            names = {k.lower() for k, _ in headers}
            if b"x-tt-logid" not in names:
                # Feishu's exact casing: the official SDK looks the header up case-sensitively.
                headers.append((b"X-Tt-Logid", self._log_id))
            for k, v in headers:
                if k.lower() == b"content-type" and b"json" in v.lower():
                    self._json = True
            message = {**message, "headers": headers}
        elif message["type"] == "http.response.body":
            if self._json and len(self._body) < _MAX_CAPTURE:
                self._body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                self._on_complete()
        await self._send(message)

    @property
    def code(self) -> int | None:
        if not self._json or not self._body:
            return None
        try:
            data = json.loads(self._body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        code = data.get("code") if isinstance(data, dict) else None
        return code if isinstance(code, int) else None


async def _respond(
    send: Send, status: int, body: bytes, content_type: str, headers: dict[str, str]
) -> None:
    raw_headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _drain(receive: Receive) -> bool:
    """Read the request body to its end; True if the client went away meanwhile."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return True
        if not message.get("more_body", False):
            return False


async def _wait_disconnect(
    receive: Receive, max_seconds: float, closing: threading.Event | None = None
) -> str:
    """Wait for the client to hang up: ``"disconnected"``, or ``"closing"`` when the
    emulator is stopping, or ``"expired"`` after ``max_seconds``."""
    deadline = anyio.current_time() + max_seconds
    while True:
        if closing is not None and closing.is_set():
            return "closing"
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            return "expired"
        with anyio.move_on_after(min(remaining, _POLL)):
            if (await receive())["type"] == "http.disconnect":
                return "disconnected"


async def _sleep(seconds: float, closing: threading.Event) -> None:
    """Sleep, but wake up early when the emulator is stopping."""
    deadline = anyio.current_time() + seconds
    while not closing.is_set():
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            return
        await anyio.sleep(min(remaining, _POLL))


def _abort(raw_send: Send) -> bool:
    """Abort the socket under uvicorn's request cycle (``send.__self__.transport``)."""
    cycle = getattr(raw_send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        return False
    transport.abort()
    return True


def _html_page(status: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return f"<html><body>{status} {reason}</body></html>".encode()


class EmulatorApp:
    """The ASGI app: a gate (log id, faults, request log) in front of a Starlette router."""

    def __init__(self, state: EmulatorState, *, route_modules: Iterable[str] | None = None) -> None:
        self.state = state
        self.closing = threading.Event()
        """Set by :meth:`close`: hung calls (``timeout`` faults, latency) end at once."""
        modules: Sequence[str] = tuple(ROUTE_MODULES if route_modules is None else route_modules)
        self.router = Starlette(
            routes=_load_routes(state, modules),
            exception_handlers={FeishuError: _feishu_error, HTTPException: _http_error},
        )
        self.router.state.emulator = state

    def close(self) -> None:
        """Release calls that are hanging on purpose, before the server shuts down."""
        self.closing.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.router(scope, receive, send)
            return
        now = self.state.clock.now()
        call_log_id = new_log_id(now)
        scope.setdefault("state", {})["lark_log_id"] = call_log_id
        path: str = scope["path"]
        if not path.startswith(OPEN_API_PREFIX):
            await self.router(scope, receive, _Capture(send, call_log_id, lambda: None))
            return

        method: str = scope["method"]
        started = time.perf_counter()
        latency_ms, fault = self.state.faults.take(method, path)
        logged = False

        def log() -> None:
            nonlocal logged
            if logged:
                return
            logged = True
            headers = dict(scope.get("headers", []))
            request_id = headers.get(b"x-request-id")
            query = scope.get("query_string", b"").decode("latin-1")
            self.state.log_request(
                RequestRecord(
                    method=method,
                    path=path,
                    query=dict(parse_qsl(query, keep_blank_values=True)),
                    app_id=scope["state"].get("lark_app_id"),
                    status=capture.status,
                    code=capture.code,
                    request_id=request_id.decode("latin-1") if request_id else None,
                    log_id=call_log_id,
                    time=now,
                    duration_ms=(time.perf_counter() - started) * 1000,
                    fault=fault.kind if fault else None,
                )
            )

        capture = _Capture(send, call_log_id, log)
        try:
            if latency_ms > 0:
                await _sleep(latency_ms / 1000, self.closing)
            if fault is None:
                await self.router(scope, receive, capture)
            else:
                await self._apply(fault, scope, receive, capture, send, log)
        finally:
            log()

    async def _apply(
        self,
        fault: Fault,
        scope: Scope,
        receive: Receive,
        capture: _Capture,
        raw_send: Send,
        log: Callable[[], None],
    ) -> None:
        p: dict[str, Any] = fault.params
        call_log_id: str = scope["state"]["lark_log_id"]
        if fault.kind == "status":
            body = p.get("body")
            if isinstance(body, (dict, list)):
                await _respond(
                    capture,
                    p["status"],
                    json.dumps(body).encode(),
                    "application/json",
                    p["headers"],
                )
            else:
                page = body.encode() if isinstance(body, str) and body else _html_page(p["status"])
                await _respond(capture, p["status"], page, "text/html", p["headers"])
        elif fault.kind == "code":
            body_bytes = json.dumps(error_body(p["code"], p["msg"], call_log_id)).encode()
            await _respond(capture, p["http_status"], body_bytes, "application/json", {})
        elif fault.kind == "rate_limit":
            body_bytes = json.dumps(
                error_body(99991400, "request trigger frequency limit", call_log_id)
            ).encode()
            headers = {
                "x-ogw-ratelimit-limit": p["limit"],
                "x-ogw-ratelimit-reset": str(p["reset"]),
            }
            await _respond(capture, p["http_status"], body_bytes, "application/json", headers)
        elif fault.kind == "timeout":
            if await _drain(receive):
                outcome = "disconnected"
            else:
                outcome = await _wait_disconnect(receive, p["max_seconds"], self.closing)
            if outcome == "closing" and _abort(raw_send):
                log()
                await _wait_disconnect(receive, _DISCONNECT_WAIT)
                return
            if outcome == "disconnected":
                log()
                return
            await _respond(capture, 504, _html_page(504), "text/html", {})
        elif fault.kind == "reset":
            log()
            await self._reset(receive, raw_send)
        else:  # pragma: no cover - FaultSet validates kinds
            raise AssertionError(f"unhandled fault kind {fault.kind}")

    @staticmethod
    async def _reset(receive: Receive, raw_send: Send) -> None:
        """Close the connection without a byte of response.

        Raising before ``http.response.start`` would not do: uvicorn answers that with a 500.
        So this aborts the socket under uvicorn's request cycle (``send.__self__.transport``);
        any other server gets a ``ConnectionResetError`` raised into it instead.
        """
        if await _drain(receive):
            return
        if not _abort(raw_send):
            raise ConnectionResetError("lark-service emulator: injected connection reset")
        # Let the server notice the connection is gone, so it neither logs nor answers a 500.
        await _wait_disconnect(receive, _DISCONNECT_WAIT)

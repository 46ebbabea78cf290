"""Helpers every route module uses: envelopes, Feishu errors, JSON bodies, token checks.

A route module raises :class:`FeishuError` for any business error; the app turns it into
Feishu's error envelope (``{"code", "msg", "data": {}, "error": {"log_id"}}``) with the log id
of the call. Successes return :func:`ok`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from .state import EmulatorState

__all__ = [
    "Caller",
    "FeishuError",
    "authenticate",
    "error_body",
    "log_id",
    "ok",
    "read_json",
    "set_caller_app",
]

_TOKEN_INVALID = {
    "tenant": (
        99991663,
        "Invalid access token for authorization. Please make a request with token attached.",
    ),
    "app": (99991664, "Invalid app access token for authorization."),
    "user": (
        99991668,
        "Invalid access token for authorization. Please make a request with token attached.",
    ),
}
_PREFIX_KIND = {"t-": "tenant", "a-": "app", "u-": "user"}


class FeishuError(Exception):
    """A business error answered as Feishu's error envelope."""

    def __init__(
        self,
        code: int,
        msg: str,
        *,
        http_status: int = 400,
        error: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status
        self.error = dict(error or {})
        self.headers = dict(headers or {})


def log_id(request: Request) -> str:
    """The ``X-Tt-Logid`` of this call."""
    value = request.scope.get("state", {}).get("lark_log_id", "")
    return str(value)


def set_caller_app(request: Request, app_id: str | None) -> None:
    """Name the app making this call, for the request log."""
    if app_id:
        request.scope.setdefault("state", {})["lark_app_id"] = app_id


def ok(data: Any = None, *, msg: str = "success") -> JSONResponse:
    """``{"code": 0, "msg": "success", "data": data}``."""
    return JSONResponse({"code": 0, "msg": msg, "data": {} if data is None else data})


def error_body(code: int, msg: str, log_id: str, **error: Any) -> dict[str, Any]:
    """Feishu's error envelope."""
    return {"code": code, "msg": msg, "data": {}, "error": {"log_id": log_id, **error}}


async def read_json(
    request: Request,
    *,
    code: int = 9499,
    msg: str = "Bad Request",
) -> dict[str, Any]:
    """The request body as a JSON object, else :class:`FeishuError` (``code``, ``msg``)."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FeishuError(code, f"{msg}, ext=request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise FeishuError(code, f"{msg}, ext=request body must be a JSON object")
    return body


@dataclass(frozen=True)
class Caller:
    """Who is calling: the app (and for user tokens, the user) behind the bearer token."""

    app_id: str
    kind: str
    token: str
    tenant_key: str
    user_id: str | None = None


def authenticate(
    request: Request, state: EmulatorState, kinds: Sequence[str] = ("tenant",)
) -> Caller:
    """Check ``Authorization: Bearer <token>`` for an endpoint accepting ``kinds`` of token.

    Missing or malformed header: 99991661. A token not starting with ``t-``/``a-``/``u-``:
    99991671. Unknown, expired or revoked: 99991663 (tenant), 99991664 (app) or 99991668
    (user). A valid token of a kind the endpoint does not take answers the invalid-token code
    of that kind with "... not support".
    """
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise FeishuError(
            99991661,
            "Missing access token for authorization. Please make a request with token attached.",
        )
    kind = _PREFIX_KIND.get(value[:2])
    if kind is None:
        raise FeishuError(99991671, "Invalid token: token must start with 't-' or 'u-'")
    token = state.resolve_token(value)
    if token is None or token.kind != kind:
        code, msg = _TOKEN_INVALID[kind]
        raise FeishuError(code, msg)
    set_caller_app(request, token.app_id)
    if kind not in kinds:
        code, _ = _TOKEN_INVALID[kind]
        raise FeishuError(code, f"{kind} access token not support")
    app = state.get_app(token.app_id)
    return Caller(
        app_id=token.app_id,
        kind=kind,
        token=value,
        tenant_key=app.tenant_key if app else "",
        user_id=token.subject,
    )

"""Auth v3: ``tenant_access_token/internal`` and ``app_access_token/internal``.

These two answer at the top level (no ``data``): ``{"code":0,"msg":"ok",
"tenant_access_token":"t-…","expire":7140}``. A token is reused while it has more than 30
minutes left; below that a new one is issued and the old one stays valid until it expires.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .api import FeishuError, read_json, set_caller_app
from .state import App, EmulatorState, Token

__all__ = ["routes"]

TENANT_TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
APP_TOKEN_PATH = "/open-apis/auth/v3/app_access_token/internal"


def routes(state: EmulatorState) -> list[BaseRoute]:
    """The self-built-app token endpoints."""

    async def _check(request: Request, kind: str) -> App:
        body = await read_json(request, code=10003, msg="invalid param")
        app_id = body.get("app_id")
        secret = body.get("app_secret")
        if isinstance(app_id, str):
            set_caller_app(request, app_id)
            state.count_token_fetch(app_id, kind)
        if not isinstance(app_id, str) or not app_id:
            raise FeishuError(10003, "invalid param")
        app = state.get_app(app_id)
        if app is None:
            raise FeishuError(10003, "invalid param")
        if not isinstance(secret, str) or not secret:
            raise FeishuError(10003, "invalid param")
        if secret != app.app_secret:
            raise FeishuError(10014, "app secret invalid")
        return app

    def _expire(token: Token) -> int:
        return max(0, int(token.remaining(state.clock.now())))

    async def tenant_token(request: Request) -> Response:
        app = await _check(request, "tenant")
        token = state.fetch_token(app.app_id, "tenant")
        return JSONResponse(
            {"code": 0, "msg": "ok", "tenant_access_token": token.value, "expire": _expire(token)}
        )

    async def app_token(request: Request) -> Response:
        app = await _check(request, "app")
        with state.lock:
            token = state.fetch_token(app.app_id, "app")
            tenant = state.fetch_token(app.app_id, "tenant")
        return JSONResponse(
            {
                "code": 0,
                "msg": "ok",
                "app_access_token": token.value,
                "tenant_access_token": tenant.value,
                "expire": _expire(token),
            }
        )

    return [
        Route(TENANT_TOKEN_PATH, tenant_token, methods=["POST"]),
        Route(APP_TOKEN_PATH, app_token, methods=["POST"]),
    ]

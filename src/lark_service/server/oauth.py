"""``GET /oauth/callback``: where Feishu sends a user's browser after the consent page.

The ``state`` names the authorization session (10 minutes, single use; made by
``client.auth.authorization_url`` / ``send_auth_card`` / ``send_auth_link``); the ``code`` is
exchanged with the session's PKCE verifier and the user's tokens are stored (encrypted). The
answer is a plain HTML page in the user's language (``Accept-Language``: Chinese or English)
saying it worked or what to do; no token, code or state ever appears in a page or a log.

Set ``LARK_OAUTH_REDIRECT_URL`` to this route's public URL (e.g.
``https://bot.example.com/oauth/callback``) and add it to the app's redirect URLs in the
Feishu developer console.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse

from .. import errors
from ..logging import get_logger

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .._async_client import AsyncLarkClient
    from ..auth.models import Authorized
    from ..config import Settings

__all__ = ["CALLBACK_PATH", "add_oauth_routes", "render_page"]

CALLBACK_PATH = "/oauth/callback"

logger = get_logger("lark_service.auth")

_TEXT = {
    "en": {
        "ok_title": "Authorization complete",
        "ok": "You have authorized the app. You can close this page.",
        "denied_title": "Authorization declined",
        "denied": "You declined the authorization. Nothing was changed.",
        "expired_title": "This link has expired",
        "expired": "The authorization link expired or was already used. Ask the app for a new one.",
        "failed_title": "Authorization failed",
        "failed": "The authorization could not be completed. Please try again later.",
        "bad_title": "Invalid request",
        "bad": "This page must be opened from an authorization link.",
    },
    "zh": {
        "ok_title": "授权成功",
        "ok": "你已完成授权，可以关闭此页面。",
        "denied_title": "已拒绝授权",
        "denied": "你拒绝了授权，没有任何更改。",
        "expired_title": "链接已失效",
        "expired": "授权链接已过期或已被使用，请向应用重新获取。",
        "failed_title": "授权失败",
        "failed": "授权未能完成，请稍后重试。",
        "bad_title": "请求无效",
        "bad": "请通过授权链接打开此页面。",
    },
}


def _language(request: Request) -> str:
    accept = request.headers.get("accept-language", "").lower()
    for part in accept.split(","):
        tag = part.split(";")[0].strip()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "en"


def render_page(
    kind: str, language: str, status: int = 200, detail: str | None = None
) -> HTMLResponse:
    """The result page ``kind`` (ok, denied, expired, failed, bad) in ``language``."""
    texts = _TEXT.get(language, _TEXT["en"])
    title = texts[f"{kind}_title"]
    lang = "zh-CN" if language == "zh" else "en"
    extra = f"<p class='detail'>{html.escape(detail)}</p>" if detail else ""
    body = (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title></head>"
        f"<body><main id='result' data-result='{kind}'><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(texts[kind])}</p>{extra}</main></body></html>"
    )
    return HTMLResponse(
        body,
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def add_oauth_routes(
    app: FastAPI,
    *,
    settings: Settings | None = None,
    client_factory: Callable[[], AsyncLarkClient] | None = None,
) -> None:
    """Add ``GET /oauth/callback`` to ``app``. ``client_factory``: the client that completes
    authorizations (default: an ``AsyncLarkClient`` on ``settings`` per callback, closed
    after it: callbacks are rare, and no connection outlives the request's event loop)."""

    async def complete(code: str, state: str) -> Authorized:
        done: Authorized
        if client_factory is not None:
            done = await client_factory().auth.complete_authorization(code, state)
            return done
        from .._async_client import AsyncLarkClient

        async with AsyncLarkClient(settings=settings) as client:
            done = await client.auth.complete_authorization(code, state)
        return done

    @app.get(CALLBACK_PATH, include_in_schema=False)
    async def oauth_callback(request: Request) -> HTMLResponse:
        language = _language(request)
        q = request.query_params
        code, state, error = q.get("code"), q.get("state"), q.get("error")
        if error:
            logger.info("a user declined an authorization (%s)", error[:40])
            return render_page("denied", language)
        if not code or not state:
            return render_page("bad", language, status=400)
        try:
            done = await complete(code, state)
        except errors.AuthSessionExpiredError:
            logger.info("an authorization callback came for an expired or used session")
            return render_page("expired", language, status=410)
        except errors.LarkError as exc:
            logger.warning(
                "completing an authorization failed: %s (request_id=%s)",
                type(exc).__name__,
                exc.request_id,
            )
            detail = f"request id: {exc.request_id}" if exc.request_id else None
            return render_page("failed", language, status=502, detail=detail)
        logger.info("authorization completed for app %s (%s)", done.app_id, done.method)
        return render_page("ok", language)

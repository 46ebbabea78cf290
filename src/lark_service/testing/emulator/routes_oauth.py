"""User OAuth: the consent page, the v2 token endpoint, the device flow, user_info, revocation.

``GET /open-apis/authen/v1/authorize?client_id=&redirect_uri=&scope=&state=&code_challenge=``
    A real HTML consent page: the app's name, the scopes asked for, the user it acts as (the
    signed-in user, ``POST /_emulator/oauth/signin``, else a choice of every user), an
    *Authorize* and a *Deny* button. Submitting it (``POST`` to the same path) redirects to
    ``redirect_uri?code=…&state=…`` (or ``?error=access_denied&state=…``). A code lives 5
    minutes and works once.
``POST /open-apis/authen/v2/oauth/token`` (JSON or form; top-level OAuth answers)
    ``grant_type=authorization_code`` (``code``, ``redirect_uri`` when the page had one,
    ``code_verifier`` when the page had a ``code_challenge``), ``refresh_token`` (each refresh
    token works **once**: reusing one answers ``invalid_grant`` as Feishu does) and
    ``urn:ietf:params:oauth:grant-type:device_code``. Success: ``{"code": 0, "access_token",
    "expires_in", "refresh_token", "refresh_token_expires_in", "token_type", "scope"}`` (the
    refresh token only with ``offline_access``). Failure: HTTP 400 ``{"code", "error",
    "error_description"}``.
``POST /open-apis/authen/v2/oauth/device_authorization``
    Starts the device flow: ``device_code``, ``user_code``, ``verification_uri(_complete)``,
    ``expires_in``, ``interval``. The user approves on ``GET /open-apis/authen/v1/device``.
``GET /open-apis/authen/v1/user_info`` (user token)
    The user behind the token.
``POST /_emulator/oauth/signin`` ``{"user_id"}``; ``POST /_emulator/oauth/revoke``
    ``{"app_id", "user_id"}`` (revokes the user's tokens and pushes
    ``auth.user_access_token.revoked_v4`` to the app's callback URL, else over its long
    connection); ``GET /_emulator/oauth``
    (counters: refresh requests, invalid grants); ``POST /_emulator/oauth/config``
    ``{"access_ttl", "refresh_ttl", "device_interval"}``;
    ``POST /_emulator/oauth/device/{user_code}`` ``{"user_id", "approve"}``.

Error codes of the token endpoint (Feishu's documented ones are 20002 invalid_client and
20010 user outside the app's availability; the others are the emulator's choice, marked ``?``
in docs/auth.md): 20003 code not found, 20004 code expired, 20005 code used, 20026 refresh
token invalid, 20037 refresh token expired, 20064 refresh token revoked, 20073 refresh token
already used, 20049 PKCE verifier mismatch, 20050 redirect_uri mismatch.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .api import authenticate, ok
from .oauth_state import CODE_TTL, DEVICE_TTL, OAuthDomain, oauth
from .state import EmulatorState

__all__ = ["AUTHORIZE_PATH", "TOKEN_PATH", "revocation_payload", "routes"]

AUTHORIZE_PATH = "/open-apis/authen/v1/authorize"
TOKEN_PATH = "/open-apis/authen/v2/oauth/token"
DEVICE_PATH = "/open-apis/authen/v2/oauth/device_authorization"
DEVICE_PAGE = "/open-apis/authen/v1/device"
USER_INFO_PATH = "/open-apis/authen/v1/user_info"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class _OAuthError(Exception):
    def __init__(self, code: int, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code, self.error, self.description, self.status = code, error, description, status


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _scopes(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(s) for s in raw if s]
    return [s for s in str(raw or "").split() if s]


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if "json" in request.headers.get("content-type", ""):
        try:
            value = json.loads(raw or b"{}")
        except ValueError:
            raise _OAuthError(20001, "invalid_request", "the body is not JSON") from None
        if not isinstance(value, dict):
            raise _OAuthError(20001, "invalid_request", "the body must be a JSON object")
        return value
    return dict(parse_qsl(raw.decode("utf-8", "replace")))


def revocation_payload(
    state: EmulatorState, app_id: str, user_id: str, reason: str = "user_revoke"
) -> dict[str, Any]:
    """The ``auth.user_access_token.revoked_v4`` event Feishu pushes when a user revokes."""
    user = state.get_user(user_id)
    app = state.get_app(app_id)
    return {
        "schema": "2.0",
        "header": {
            "event_id": uuid.uuid4().hex,
            "token": (app.verification_token if app else None) or "",
            "create_time": str(state.clock.now_ms()),
            "event_type": "auth.user_access_token.revoked_v4",
            "tenant_key": app.tenant_key if app else "",
            "app_id": app_id,
        },
        "event": {
            "revoke_token_type": "user_access_token",
            "revoke_reason": reason,
            "open_id": user.open_id_for(app_id) if user else user_id,
            "union_id": user.union_id if user else None,
            "user_id": user_id,
        },
    }


def routes(state: EmulatorState) -> list[BaseRoute]:
    """The OAuth routes over ``state``."""

    def _d() -> OAuthDomain:  # looked up per call: reset() replaces the domain state
        return oauth(state)

    def _client(body: dict[str, Any], request: Request) -> str:
        client_id = body.get("client_id")
        secret = body.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            if client_id or secret:
                raise _OAuthError(20070, "invalid_request", "two client authentication methods")
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                raise _OAuthError(20002, "invalid_client", "malformed basic auth") from None
        app = state.get_app(str(client_id or ""))
        if app is None or not secret or secret != app.app_secret:
            raise _OAuthError(20002, "invalid_client", "client_id or client_secret is invalid")
        return app.app_id

    def _issue(app_id: str, user_id: str, scopes: list[str]) -> dict[str, Any]:
        now = state.clock.now()
        token = state.issue_token(app_id, "user", ttl=_d().access_ttl, subject=user_id)
        with _d().lock:
            _d().token_scopes[token.value] = list(scopes)
        answer: dict[str, Any] = {
            "code": 0,
            "access_token": token.value,
            "expires_in": int(_d().access_ttl),
            "token_type": "Bearer",
            "scope": " ".join(scopes),
        }
        if "offline_access" in scopes:
            answer["refresh_token"] = _d().new_refresh_token(app_id, user_id, scopes, now)
            answer["refresh_token_expires_in"] = int(_d().refresh_ttl)
        return answer

    def _grant_code(app_id: str, body: dict[str, Any]) -> dict[str, Any]:
        now = state.clock.now()
        with _d().lock:
            _d().code_exchanges += 1
            code = _d().codes.get(str(body.get("code") or ""))
            if code is None or code.app_id != app_id:
                raise _OAuthError(20003, "invalid_grant", "the authorization code is not found")
            if code.used:
                raise _OAuthError(20005, "invalid_grant", "the authorization code has been used")
            if now - code.issued_at > CODE_TTL:
                raise _OAuthError(20004, "invalid_grant", "the authorization code has expired")
            if code.redirect_uri and body.get("redirect_uri") != code.redirect_uri:
                raise _OAuthError(20050, "invalid_grant", "redirect_uri does not match")
            if code.code_challenge:
                verifier = str(body.get("code_verifier") or "")
                if not verifier or _challenge(verifier) != code.code_challenge:
                    raise _OAuthError(20049, "invalid_grant", "code_verifier does not match")
            code.used = True
        return _issue(app_id, code.user_id, code.scopes)

    def _grant_refresh(app_id: str, body: dict[str, Any]) -> dict[str, Any]:
        now = state.clock.now()
        with _d().lock:
            _d().refresh_requests += 1
            token = _d().refresh_tokens.get(str(body.get("refresh_token") or ""))
            if token is None or token.app_id != app_id:
                raise _OAuthError(20026, "invalid_grant", "the refresh token is invalid")
            if token.revoked:
                raise _OAuthError(20064, "invalid_grant", "the refresh token has been revoked")
            if token.used:
                raise _OAuthError(20073, "invalid_grant", "the refresh token has been used")
            if now >= token.expires_at:
                raise _OAuthError(20037, "invalid_grant", "the refresh token has expired")
            token.used = True  # single use: the old one dies as the new one is issued
            scopes = _scopes(body.get("scope")) or token.scopes
        return _issue(app_id, token.user_id, scopes)

    def _grant_device(app_id: str, body: dict[str, Any]) -> dict[str, Any]:
        now = state.clock.now()
        with _d().lock:
            device = _d().devices.get(str(body.get("device_code") or ""))
            if device is None or device.app_id != app_id:
                raise _OAuthError(20026, "invalid_grant", "the device code is invalid")
            if now >= device.expires_at:
                raise _OAuthError(20069, "expired_token", "the device code has expired")
            if device.status == "denied":
                raise _OAuthError(20068, "access_denied", "the user denied the authorization")
            if device.status == "done":
                raise _OAuthError(20026, "invalid_grant", "the device code has been used")
            if device.status == "pending":
                raise _OAuthError(20067, "authorization_pending", "the user has not answered")
            device.status = "done"
            user_id = str(device.user_id)
        return _issue(app_id, user_id, device.scopes)

    async def token(request: Request) -> Response:
        try:
            body = await _body(request)
            app_id = _client(body, request)
            grant = body.get("grant_type")
            if grant == "authorization_code":
                answer = _grant_code(app_id, body)
            elif grant == "refresh_token":
                answer = _grant_refresh(app_id, body)
            elif grant == DEVICE_GRANT:
                answer = _grant_device(app_id, body)
            else:
                raise _OAuthError(20001, "unsupported_grant_type", f"grant_type {grant!r}")
        except _OAuthError as exc:
            with _d().lock:
                if exc.error == "invalid_grant":
                    _d().invalid_grants += 1
                _d().grants.append(
                    {"grant_type": locals().get("grant"), "ok": False, "error": exc.error}
                )
            return JSONResponse(
                {"code": exc.code, "error": exc.error, "error_description": exc.description},
                status_code=exc.status,
            )
        with _d().lock:
            _d().grants.append({"grant_type": grant, "ok": True, "error": None})
        return JSONResponse(answer)

    def _page(title: str, body: str) -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title></head><body>{body}</body></html>"
        )

    def _user_choice() -> str:
        signed_in = _d().signed_in
        user = state.get_user(signed_in) if signed_in else None
        if user is not None:
            return (
                f"<p>Signed in as <b id='user'>{html.escape(user.name)}</b></p>"
                f"<input type='hidden' name='user_id' value='{html.escape(user.user_id)}'>"
            )
        options = "".join(
            f"<option value='{html.escape(u.user_id)}'>{html.escape(u.name)}</option>"
            for u in state.users()
        )
        return f"<label>Sign in as <select name='user_id' id='user'>{options}</select></label>"

    async def authorize_page(request: Request) -> Response:
        q = request.query_params
        app = state.get_app(q.get("client_id", ""))
        if app is None:
            return _page("Error", "<h1>Unknown app</h1><p>client_id is not a known app.</p>")
        scopes = _scopes(q.get("scope"))
        hidden = "".join(
            f"<input type='hidden' name='{name}' value='{html.escape(q.get(name, ''))}'>"
            for name in (
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "code_challenge",
                "code_challenge_method",
            )
        )
        items = "".join(f"<li class='scope'>{html.escape(s)}</li>" for s in scopes)
        body = (
            f"<h1>Authorize {html.escape(app.name or app.app_id)}</h1>"
            f"<form method='post' action='{AUTHORIZE_PATH}'>{hidden}{_user_choice()}"
            f"<p>The app asks for:</p><ul id='scopes'>{items}</ul>"
            "<button type='submit' name='decision' value='approve' id='approve'>Authorize"
            "</button> <button type='submit' name='decision' value='deny' id='deny'>Deny"
            "</button></form>"
        )
        return _page("Authorize", body)

    async def authorize_submit(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        app = state.get_app(form.get("client_id", ""))
        redirect = form.get("redirect_uri") or ""
        if app is None or not redirect:
            return _page("Error", "<h1>Invalid request</h1>")
        sep = "&" if "?" in redirect else "?"
        if form.get("decision") != "approve":
            query = urlencode({"error": "access_denied", "state": form.get("state", "")})
            return RedirectResponse(redirect + sep + query, status_code=302)
        user_id = form.get("user_id") or _d().signed_in or ""
        if state.get_user(user_id) is None:
            return _page("Error", "<h1>Unknown user</h1>")
        code = _d().new_code(
            app_id=app.app_id,
            user_id=user_id,
            scopes=_scopes(form.get("scope")),
            redirect_uri=redirect,
            code_challenge=form.get("code_challenge") or None,
            challenge_method=form.get("code_challenge_method") or None,
            issued_at=state.clock.now(),
        )
        query = urlencode({"code": code.code, "state": form.get("state", "")})
        return RedirectResponse(redirect + sep + query, status_code=302)

    async def device_authorization(request: Request) -> Response:
        try:
            body = await _body(request)
            app_id = _client(body, request)
        except _OAuthError as exc:
            return JSONResponse(
                {"code": exc.code, "error": exc.error, "error_description": exc.description},
                status_code=exc.status,
            )
        now = state.clock.now()
        user_code = "-".join(secrets.token_hex(2).upper() for _ in range(2))
        device_code = "dc-" + secrets.token_urlsafe(24)
        from .oauth_state import DeviceCode

        with _d().lock:
            interval = _d().device_interval
            _d().devices[device_code] = DeviceCode(
                device_code,
                user_code,
                app_id,
                _scopes(body.get("scope")),
                now,
                now + DEVICE_TTL,
                interval=interval,
            )
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "code": 0,
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": base + DEVICE_PAGE,
                "verification_uri_complete": f"{base}{DEVICE_PAGE}?user_code={user_code}",
                "expires_in": int(DEVICE_TTL),
                "interval": interval,
            }
        )

    def _answer_device(user_code: str, user_id: str | None, approve: bool) -> bool:
        with _d().lock:
            for device in _d().devices.values():
                if device.user_code == user_code and device.status == "pending":
                    device.status = "approved" if approve else "denied"
                    device.user_id = user_id
                    return True
        return False

    async def device_page(request: Request) -> Response:
        user_code = html.escape(request.query_params.get("user_code", ""))
        body = (
            "<h1>Authorize a device</h1>"
            f"<form method='post' action='{DEVICE_PAGE}'>"
            f"<label>Code <input name='user_code' value='{user_code}'></label>"
            f"{_user_choice()}"
            "<button type='submit' name='decision' value='approve' id='approve'>Authorize"
            "</button> <button type='submit' name='decision' value='deny' id='deny'>Deny"
            "</button></form>"
        )
        return _page("Authorize a device", body)

    async def device_submit(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        user_id = form.get("user_id") or _d().signed_in
        done = _answer_device(
            form.get("user_code", "").strip().upper(), user_id, form.get("decision") == "approve"
        )
        text = "You may return to your terminal." if done else "Unknown or answered code."
        return _page("Device", f"<h1>{'Done' if done else 'Error'}</h1><p>{text}</p>")

    async def user_info(request: Request) -> Response:
        caller = authenticate(request, state, kinds=("user",))
        user = state.get_user(caller.user_id or "")
        if user is None:
            return ok({})
        return ok(
            {
                "name": user.name,
                "en_name": user.name,
                "open_id": user.open_id_for(caller.app_id),
                "union_id": user.union_id,
                "user_id": user.user_id,
                "email": user.email,
                "mobile": user.mobile,
                "tenant_key": caller.tenant_key,
            }
        )

    # -- control ---------------------------------------------------------------------------

    async def _json(request: Request) -> dict[str, Any]:
        raw = await request.body()
        value = json.loads(raw) if raw.strip() else {}
        if not isinstance(value, dict):
            raise ValueError("the body must be a JSON object")
        return value

    async def signin(request: Request) -> Response:
        body = await _json(request)
        _d().signed_in = body.get("user_id")
        return JSONResponse({"signed_in": _d().signed_in})

    async def config(request: Request) -> Response:
        body = await _json(request)
        if "access_ttl" in body:
            _d().access_ttl = float(body["access_ttl"])
        if "refresh_ttl" in body:
            _d().refresh_ttl = float(body["refresh_ttl"])
        if "device_interval" in body:
            _d().device_interval = int(body["device_interval"])
        return JSONResponse(
            {
                "access_ttl": _d().access_ttl,
                "refresh_ttl": _d().refresh_ttl,
                "device_interval": _d().device_interval,
            }
        )

    async def revoke(request: Request) -> Response:
        body = await _json(request)
        app_id, user_id = str(body.get("app_id", "")), str(body.get("user_id", ""))
        count = _d().revoke_user(app_id, user_id)
        for t in state.tokens(app_id, "user"):
            if t.subject == user_id:
                state.revoke_tokens(token=t.value)
        result: dict[str, Any] = {"revoked": count, "delivered": None}
        app = state.get_app(app_id)
        if app is not None and app.callback_url and body.get("push", True):
            from .routes_callbacks import _domain as callbacks_domain
            from .routes_callbacks import _url_for, deliver

            delivery = callbacks_domain(state).new_delivery(
                app_id=app_id,
                kind="event",
                url=_url_for(str(app.callback_url), "event"),
                payload=revocation_payload(state, app_id, user_id, body.get("reason", "user")),
            )
            attempt = await deliver(state, delivery)
            result["delivered"] = attempt["status"]
        elif app is not None and body.get("push", True):
            from .longconn_state import domain as longconn_domain
            from .longconn_state import has_long_connection

            if has_long_connection(state, app_id):  # no callback URL: over the socket
                pushed = longconn_domain(state).push(
                    app_id,
                    revocation_payload(state, app_id, user_id, body.get("reason", "user")),
                    "event",
                )
                await asyncio.to_thread(pushed.done.wait, 10.0)
                result["delivered"] = "ws" if pushed.acked else None
        return JSONResponse(result)

    async def stats(request: Request) -> Response:
        return JSONResponse(_d().stats())

    async def device_answer(request: Request) -> Response:
        body = await _json(request)
        done = _answer_device(
            request.path_params["user_code"], body.get("user_id"), bool(body.get("approve", True))
        )
        return JSONResponse({"answered": done}, status_code=200 if done else 404)

    return [
        Route(AUTHORIZE_PATH, authorize_page, methods=["GET"]),
        Route(AUTHORIZE_PATH, authorize_submit, methods=["POST"]),
        Route(TOKEN_PATH, token, methods=["POST"]),
        Route(DEVICE_PATH, device_authorization, methods=["POST"]),
        Route(DEVICE_PAGE, device_page, methods=["GET"]),
        Route(DEVICE_PAGE, device_submit, methods=["POST"]),
        Route(USER_INFO_PATH, user_info, methods=["GET"]),
        Route("/_emulator/oauth", stats, methods=["GET"]),
        Route("/_emulator/oauth/signin", signin, methods=["POST"]),
        Route("/_emulator/oauth/config", config, methods=["POST"]),
        Route("/_emulator/oauth/revoke", revoke, methods=["POST"]),
        Route("/_emulator/oauth/device/{user_code}", device_answer, methods=["POST"]),
    ]

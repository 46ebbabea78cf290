"""``client.auth``: user OAuth (consent by card or link, the device flow) and user tokens.

See docs/auth.md. The flows:

- **link / card**: :meth:`AsyncAuthClient.authorization_url` makes a consent link bound to a
  session (``state``, PKCE S256, 10 minutes, single use); :meth:`send_auth_card` /
  :meth:`send_auth_link` send it to the user; Feishu redirects the browser to the server's
  ``GET /oauth/callback``, which calls :meth:`complete_authorization` (the code exchange at
  ``authen/v2/oauth/token``).
- **device** (command line, no redirect): :meth:`start_device_authorization`, then
  :meth:`poll_device_authorization` (``lark-service auth login``).

Afterwards ``client.as_user(open_id)`` calls any endpoint as the user; the token is refreshed
in the last 10 % of its life, the single-use refresh token rotated under the fleet-wide lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import _concurrency, errors
from .._async_resource import AsyncResource
from .._options import RequestOptions
from ..credentials import TokenKey, TokenRecord
from ..logging import get_logger
from . import _oauth
from ._async_tokens import (
    new_authorization_url,
    refresh_user_token,
    session_store,
    token_request,
    user_key,
)
from .models import AuthorizationURL, Authorized, AuthStatus, DeviceAuthorization, UserInfo

if TYPE_CHECKING:
    from .._app import AppCredentials
    from ..messaging._async_client import AsyncMessagingClient
    from ..messaging.models import Message

__all__ = ["REVOKED_EVENT", "AsyncAuthClient", "auth_card"]

logger = get_logger("lark_service.auth")

REVOKED_EVENT = "auth.user_access_token.revoked_v4"
"""The event Feishu pushes when a user revokes the app's authorization."""

_TEXTS = {
    "en": {
        "title": "Authorize {app}",
        "body": "{reason}This link works once and expires in 10 minutes.",
        "button": "Authorize",
        "link": "{reason}Please authorize the app (the link works once, for 10 minutes): {url}",
    },
    "zh": {
        "title": "授权 {app}",
        "body": "{reason}该链接仅可使用一次，10 分钟内有效。",
        "button": "授权",
        "link": "{reason}请授权应用（链接仅可使用一次，10 分钟内有效）：{url}",
    },
}


def auth_card(
    url: str, *, app_name: str, reason: str | None, language: str = "en"
) -> dict[str, Any]:
    """The consent card: a title, the reason and an *Authorize* button opening ``url``."""
    texts = _TEXTS.get(language[:2], _TEXTS["en"])
    lead = f"{reason}\n\n" if reason else ""
    return {
        "config": {"wide_screen_mode": True},
        "header": {
            "template": "blue",
            "title": {"tag": "plain_text", "content": texts["title"].format(app=app_name)},
        },
        "elements": [
            {
                "tag": "div",
                "text": {"tag": "lark_md", "content": texts["body"].format(reason=lead)},
            },
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "type": "primary",
                        "text": {"tag": "plain_text", "content": texts["button"]},
                        "url": url,
                        "value": {"lark_service": "auth"},
                    }
                ],
            },
        ],
    }


def _open_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.ValidationError("open_id must be a non-empty string", field="open_id")
    return value.strip()


class AsyncAuthClient(AsyncResource):
    """User OAuth for the client's app(s): consent links and cards, the code exchange, the
    device flow, and each user's token status."""

    # -- consent ------------------------------------------------------------------------------

    async def authorization_url(
        self,
        user_hint: str | None = None,
        scopes: Iterable[str] | str | None = None,
        redirect_uri: str | None = None,
        *,
        app_id: str | None = None,
        user: str | None = None,
        method: str = "link",
    ) -> AuthorizationURL:
        """A consent link on the accounts host (``LARK_ACCOUNTS_URL``) with a new session:
        ``state`` (10 minutes, single use), PKCE (S256), ``offline_access`` plus ``scopes``,
        ``redirect_uri`` (default ``LARK_OAUTH_REDIRECT_URL``).

        ``user_hint`` (or ``user``): the open_id the link is for; the completed authorization
        is stored for that user (else for whoever completes it, read from ``user_info``).
        Returns an :class:`AuthorizationURL` (a ``str`` with ``.state`` and ``.expires_at``).
        Raises ValidationError (no or bad redirect URI, bad scopes) before anything is stored.
        """
        if method not in ("link", "card"):
            raise errors.ValidationError("method must be 'link' or 'card'", field="method")
        hint = user_hint if user_hint is not None else user
        if hint is not None:
            hint = _open_id(hint)
        app = await self._pipeline.resolve_app(self._opts(app_id=app_id).app_id)
        return await new_authorization_url(
            self._pipeline, app, user=hint, scopes=scopes, redirect_uri=redirect_uri, method=method
        )

    async def send_auth_card(
        self,
        open_id: str,
        scopes: Iterable[str] | str | None = None,
        reason: str | None = None,
        *,
        redirect_uri: str | None = None,
        language: str = "en",
        app_id: str | None = None,
    ) -> Message:
        """Send ``open_id`` a card with an *Authorize* button (a consent link made for them,
        ``method=card``); ``reason`` says why the app asks. Returns the sent message."""
        user = _open_id(open_id)
        app = await self._pipeline.resolve_app(self._opts(app_id=app_id).app_id)
        link = await new_authorization_url(
            self._pipeline, app, user=user, scopes=scopes, redirect_uri=redirect_uri, method="card"
        )
        card = auth_card(link.url, app_name=app.app_id, reason=reason, language=language)
        return await self._messaging().send_interactive_card(
            user, card, receive_id_type="open_id", app_id=app.app_id
        )

    async def send_auth_link(
        self,
        open_id: str,
        scopes: Iterable[str] | str | None = None,
        reason: str | None = None,
        *,
        redirect_uri: str | None = None,
        language: str = "en",
        app_id: str | None = None,
    ) -> Message:
        """Send ``open_id`` a text message with a consent link made for them."""
        user = _open_id(open_id)
        app = await self._pipeline.resolve_app(self._opts(app_id=app_id).app_id)
        link = await new_authorization_url(
            self._pipeline, app, user=user, scopes=scopes, redirect_uri=redirect_uri, method="link"
        )
        texts = _TEXTS.get(language[:2], _TEXTS["en"])
        text = texts["link"].format(reason=f"{reason}\n" if reason else "", url=link.url)
        return await self._messaging().send_text_message(
            user, text, receive_id_type="open_id", app_id=app.app_id
        )

    async def complete_authorization(self, code: str, state: str) -> Authorized:
        """Finish a consent: consume the session of ``state`` (AuthSessionExpiredError when it
        expired, was used or is unknown: start again), exchange ``code`` with the session's
        PKCE verifier at ``authen/v2/oauth/token``, and store the user's tokens (encrypted).

        The user is the session's ``user_hint``, else the one ``authen/v1/user_info`` names.
        Raises PermissionDeniedError (the user is outside the app's availability),
        InvalidCredentialsError (the app's secret), TokenInvalidError (a dead code).
        """
        if not isinstance(code, str) or not code.strip():
            raise errors.ValidationError("code must be a non-empty string", field="code")
        if not isinstance(state, str) or not state.strip():
            raise errors.ValidationError("state must be a non-empty string", field="state")
        store = session_store(self._pipeline)
        session = await _concurrency.async_blocking(
            store.consume, state.strip(), self._pipeline.pool.clock()
        )
        app = await self._pipeline.resolve_app(session.app_id)
        try:
            body = await token_request(
                self._pipeline,
                app,
                {
                    "grant_type": "authorization_code",
                    "code": code.strip(),
                    "redirect_uri": session.redirect_uri,
                    "code_verifier": session.code_verifier,
                },
            )
        except errors.LarkError as exc:
            raise _oauth.oauth_error(exc) from exc
        open_id = session.user
        if not open_id:
            info = await self._user_info_with(app, str(body.get("access_token") or ""))
            open_id = info.open_id
        key = user_key(app, open_id)
        record = _oauth.token_record(
            key, body, self._pipeline.pool.clock(), fallback_scopes=session.scopes
        )
        await self._pipeline.pool.put(record)
        logger.info(
            "a user authorized %s (%s), %d scopes",
            app.app_id,
            session.method,
            len(record.scopes or ()),
        )
        return Authorized(
            open_id=open_id,
            app_id=app.app_id,
            expires_at=record.expires_at,
            refresh_expires_at=record.refresh_expires_at,
            scopes=list(record.scopes or ()),
            method=session.method,
        )

    # -- the device flow ---------------------------------------------------------------------

    async def start_device_authorization(
        self, scopes: Iterable[str] | str | None = None, *, app_id: str | None = None
    ) -> DeviceAuthorization:
        """Start the device flow (``authen/v2/oauth/device_authorization``): show the user
        ``verification_uri_complete``, then call :meth:`poll_device_authorization`."""
        app = await self._pipeline.resolve_app(self._opts(app_id=app_id).app_id)
        response = await self._pipeline.call(
            app,
            "POST",
            _oauth.DEVICE_PATH,
            RequestOptions(token=None, idempotent=False, error_family="authen.oauth"),
            json={
                "client_id": app.app_id,
                "client_secret": app.app_secret,
                "scope": " ".join(_oauth.normalize_scopes(scopes)),
            },
            envelope=False,
            request_id=_new_id(),
        )
        return DeviceAuthorization.model_validate(response.data)

    async def poll_device_authorization(
        self,
        device: DeviceAuthorization,
        *,
        app_id: str | None = None,
        timeout: float | None = None,
    ) -> Authorized:
        """Poll until the user approves (then store the tokens, as for a card), denies
        (PermissionDeniedError) or the code expires (AuthSessionExpiredError). Waits
        ``interval`` seconds between polls (longer after ``slow_down``)."""
        app = await self._pipeline.resolve_app(self._opts(app_id=app_id).app_id)
        interval = float(device.interval or 5)
        budget = float(timeout if timeout is not None else device.expires_in)
        waited = 0.0
        while True:
            try:
                body = await token_request(
                    self._pipeline,
                    app,
                    {"grant_type": _oauth.DEVICE_GRANT, "device_code": device.device_code},
                )
                break
            except errors.APIError as exc:
                kind = (exc.body or {}).get("error") if isinstance(exc.body, dict) else None
                if kind == "slow_down":
                    interval += 5
                elif kind == "expired_token":
                    raise errors.AuthSessionExpiredError(
                        "the device code expired before the user approved",
                        hint="Run `lark-service auth login` again.",
                    ) from exc
                elif kind != "authorization_pending":
                    raise _oauth.oauth_error(exc) from exc
            if waited >= budget:
                raise errors.AuthSessionExpiredError(
                    "the user did not approve the device authorization in time",
                    hint="Run `lark-service auth login` again.",
                )
            await _concurrency.async_sleep(interval)
            waited += interval
        info = await self._user_info_with(app, str(body.get("access_token") or ""))
        record = _oauth.token_record(user_key(app, info.open_id), body, self._pipeline.pool.clock())
        await self._pipeline.pool.put(record)
        return Authorized(
            open_id=info.open_id,
            app_id=app.app_id,
            expires_at=record.expires_at,
            refresh_expires_at=record.refresh_expires_at,
            scopes=list(record.scopes or ()),
            method="device",
        )

    # -- tokens ------------------------------------------------------------------------------

    async def get_user_access_token(self, open_id: str, *, app_id: str | None = None) -> str:
        """``open_id``'s current access token (refreshed when due, rotated under the
        fleet-wide lock). Raises AuthorizationRequiredError (with a fresh link) when the user
        has not authorized or the authorization ended."""
        app, key = await self._key(open_id, app_id)
        pipeline = self._pipeline
        return await pipeline.pool.get_token(key, lambda k: refresh_user_token(pipeline, app, k))

    async def status(self, open_id: str, *, app_id: str | None = None) -> AuthStatus:
        """Whether the app can act as ``open_id`` (no network call): ``authorized`` while the
        access token or the refresh token is alive."""
        app, key = await self._key(open_id, app_id)
        record = await self._pipeline.pool.current(key)
        now = self._pipeline.pool.clock()
        return _status(app.app_id, key.subject, record, now)

    async def revoke(self, open_id: str, *, app_id: str | None = None) -> bool:
        """Forget ``open_id``'s tokens here (memory and store); True when some were stored.

        Feishu has no API that revokes a user token: the user removes the app's
        authorization in Feishu itself (we then get ``auth.user_access_token.revoked_v4``)."""
        _, key = await self._key(open_id, app_id)
        had = await self._pipeline.pool.current(key) is not None
        await self._pipeline.pool.forget(key)
        return had

    async def user_info(self, open_id: str | None = None, *, app_id: str | None = None) -> UserInfo:
        """``authen/v1/user_info`` as ``open_id`` (default: the user of ``as_user``)."""
        opts = self._opts(app_id=app_id, user=open_id)
        if opts.user is None:
            raise errors.ValidationError(
                "name the user: user_info(open_id) or client.as_user(open_id).auth.user_info()",
                field="open_id",
            )
        response = await self._request("GET", _oauth.USER_INFO_PATH, options=opts)
        return UserInfo.model_validate(response.data)

    async def handle_revocation(self, event: Any) -> bool:
        """Handle ``auth.user_access_token.revoked_v4``: the user revoked the app, so their
        tokens are forgotten (the next ``as_user`` call raises AuthorizationRequiredError).
        ``event``: the callback event (or its raw dict). Returns whether a user was named.

        Register it: ``router.event(REVOKED_EVENT)(client.auth.handle_revocation)``.
        """
        raw = getattr(event, "raw", event)
        if not isinstance(raw, dict):
            return False
        body = raw.get("event") or {}
        header = raw.get("header") or {}
        open_id = body.get("open_id") if isinstance(body, dict) else None
        app_id = header.get("app_id") if isinstance(header, dict) else None
        if not open_id:
            return False
        app, key = await self._key(open_id, app_id or None)
        await self._pipeline.pool.forget(key)
        logger.info(
            "a user revoked the authorization of %s; their tokens are forgotten", app.app_id
        )
        return True

    # -- helpers -----------------------------------------------------------------------------

    async def _key(self, open_id: str, app_id: str | None) -> tuple[AppCredentials, TokenKey]:
        user = _open_id(open_id)
        app = await self._pipeline.resolve_app(self._opts(app_id=app_id).app_id)
        return app, user_key(app, user)

    async def _user_info_with(self, app: AppCredentials, access_token: str) -> UserInfo:
        response = await self._pipeline.call(
            app,
            "GET",
            _oauth.USER_INFO_PATH,
            RequestOptions(token=None, headers=(("Authorization", "Bearer " + access_token),)),
            request_id=_new_id(),
        )
        info = UserInfo.model_validate(response.data)
        if not info.open_id:
            raise errors.ServerError("user_info named no open_id", request_id=response.request_id)
        return info

    def _messaging(self) -> AsyncMessagingClient:
        from ..messaging._async_client import AsyncMessagingClient

        return AsyncMessagingClient(
            self._pipeline, dataclasses.replace(self._options, token="tenant", user=None)
        )


def _status(app_id: str, open_id: str, record: TokenRecord | None, now: float) -> AuthStatus:
    if record is None:
        return AuthStatus(open_id=open_id, app_id=app_id, authorized=False)
    refresh_alive = bool(record.refresh_token) and (
        record.refresh_expires_at is None or record.refresh_expires_at > now
    )
    return AuthStatus(
        open_id=open_id,
        app_id=app_id,
        authorized=refresh_alive or record.is_usable(now),
        expires_at=record.expires_at,
        refresh_expires_at=record.refresh_expires_at,
        scopes=list(record.scopes or ()),
    )


def _new_id() -> str:
    import uuid

    return str(uuid.uuid4())

"""``client.auth``: user OAuth (consent by card or link, the device flow) and user tokens.

See docs/auth.md. The flows:

- **link / card**: :meth:`AsyncAuthClient.authorization_url` makes a consent link bound to a
  session (``state``, PKCE S256, 10 minutes, single use); :meth:`send_auth_card` /
  :meth:`send_auth_link` send it to the user; Feishu redirects the browser to the server's
  ``GET /oauth/callback``, which calls :meth:`complete_authorization` (the code exchange at
  ``authen/v2/oauth/token``).
- **device** (command line, no redirect): :meth:`start_device_authorization`, then
  :meth:`poll_device_authorization` (``lark-service auth login``).
- **device card** (no public URL): ``send_auth_card(open_id, method="device")`` starts the
  device flow and sends the card (the verification link, the user code and an *I have
  authorized* button); it completes without any redirect: by the background poll of a
  ``LongConnection`` / ``lark-service listen`` process, by the button's click (over the long
  connection, :func:`~lark_service.auth.include_auth`), or by
  :meth:`complete_device_authorization`.

Afterwards ``client.as_user(open_id)`` calls any endpoint as the user; the token is refreshed
in the last 10 % of its life, the single-use refresh token rotated under the fleet-wide lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import _concurrency, errors, instrumentation
from .._async_resource import AsyncResource
from .._options import RequestOptions
from ..credentials import TokenKey
from ..logging import get_logger
from . import _oauth
from ._async_tokens import (
    new_authorization_url,
    refresh_user_token,
    session_store,
    token_request,
)
from ._helpers import (
    _TEXTS,
    DEVICE_CARD_VALUE,
    DEVICE_MARK,
    REVOKED_EVENT,
    _device_parts,
    _new_id,
    _open_id,
    _status,
    _suppress_lark,
    auth_card,
    device_card,
    device_secret,
    user_key,
)
from ._sessions import AuthSession
from .models import AuthorizationURL, Authorized, AuthStatus, DeviceAuthorization, UserInfo

if TYPE_CHECKING:
    from .._app import AppCredentials
    from ..messaging._async_client import AsyncMessagingClient
    from ..messaging.models import Message

__all__ = ["DEVICE_CARD_VALUE", "REVOKED_EVENT", "AsyncAuthClient", "auth_card", "device_card"]

logger = get_logger("lark_service.auth")


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
        method: str = "link",
    ) -> Message:
        """Send ``open_id`` a card with an *Authorize* button (a consent link made for them,
        ``method=card``); ``reason`` says why the app asks. Returns the sent message.

        ``method="device"`` (no public URL, no redirect): start Feishu's device authorization
        and send a card with its verification link, the user code and an *I have authorized*
        button. It completes by the background poll of a ``LongConnection`` /
        ``lark-service listen`` process of the app, by that button's click (handled by
        ``lark-service serve`` / ``listen``, or a router passed through
        :func:`~lark_service.auth.include_auth`), or by
        :meth:`complete_device_authorization` (``open_id=``). The tokens are stored for the
        user who approved (``authen/v1/user_info``)."""
        if method not in ("link", "device"):
            raise errors.ValidationError("method must be 'link' or 'device'", field="method")
        user = _open_id(open_id)
        if method == "device":
            return await self._send_device_card(user, scopes, reason, language, app_id)
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
            error = _oauth.oauth_error(exc)
            instrumentation.emit(
                "auth.authorization_failed",
                app.app_id,
                method=session.method,
                outcome=type(error).__name__,
            )
            raise error from exc
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
        instrumentation.emit(
            "auth.authorization_completed", app.app_id, method=session.method, outcome="ok"
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
        instrumentation.emit("auth.authorization_started", app.app_id, method="device")
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
                    instrumentation.emit(
                        "auth.authorization_failed", app.app_id, method="device", outcome="expired"
                    )
                    raise errors.AuthSessionExpiredError(
                        "the device code expired before the user approved",
                        hint="Run `lark-service auth login` again.",
                    ) from exc
                elif kind != "authorization_pending":
                    instrumentation.emit(
                        "auth.authorization_failed",
                        app.app_id,
                        method="device",
                        outcome="denied" if kind == "access_denied" else "error",
                    )
                    raise _oauth.oauth_error(exc) from exc
            if waited >= budget:
                instrumentation.emit(
                    "auth.authorization_failed", app.app_id, method="device", outcome="timeout"
                )
                raise errors.AuthSessionExpiredError(
                    "the user did not approve the device authorization in time",
                    hint="Run `lark-service auth login` again.",
                )
            await _concurrency.async_sleep(interval)
            waited += interval
        info = await self._user_info_with(app, str(body.get("access_token") or ""))
        record = _oauth.token_record(user_key(app, info.open_id), body, self._pipeline.pool.clock())
        await self._pipeline.pool.put(record)
        instrumentation.emit(
            "auth.authorization_completed", app.app_id, method="device", outcome="ok"
        )
        return Authorized(
            open_id=info.open_id,
            app_id=app.app_id,
            expires_at=record.expires_at,
            refresh_expires_at=record.refresh_expires_at,
            scopes=list(record.scopes or ()),
            method="device",
        )

    # -- the device flow by card (no public URL) ----------------------------------------------

    async def _send_device_card(
        self,
        user: str,
        scopes: Iterable[str] | str | None,
        reason: str | None,
        language: str,
        app_id: str | None,
    ) -> Message:
        app = await self._pipeline.resolve_app(self._opts(app_id=app_id).app_id)
        device = await self.start_device_authorization(scopes, app_id=app.app_id)
        now = self._pipeline.pool.clock()
        session = AuthSession(
            state=_oauth.new_state(),
            app_id=app.app_id,
            user=user,
            method="card",
            created_at=now,
            expires_at=now + float(device.expires_in),
            scopes=tuple(_oauth.normalize_scopes(scopes)),
            redirect_uri=DEVICE_MARK,
            code_verifier=device_secret(device.device_code, device.interval),
        )
        await _concurrency.async_blocking(session_store(self._pipeline).create, session)
        card = device_card(
            device.verification_uri_complete or device.verification_uri,
            user_code=device.user_code,
            state=session.state,
            app_name=app.app_id,
            reason=reason,
            minutes=max(1, int(device.expires_in) // 60),
            language=language,
        )
        return await self._messaging().send_interactive_card(
            user, card, receive_id_type="open_id", app_id=app.app_id
        )

    async def complete_device_authorization(
        self,
        state: str | None = None,
        *,
        open_id: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        app_id: str | None = None,
    ) -> Authorized | None:
        """Complete a device authorization sent by ``send_auth_card(..., method="device")``:
        the one of ``state`` (the card button's), else the newest pending one sent to
        ``open_id``. Polls Feishu every ``interval`` seconds (longer after ``slow_down``)
        until the user approves, at most until the device code expires (or ``timeout``);
        ``wait=False``: one check, None while the user has not approved.

        Raises AuthSessionExpiredError (no such pending authorization, it expired, or it was
        completed elsewhere), PermissionDeniedError (the user denied)."""
        if state is None and open_id is None:
            raise errors.ValidationError(
                "name the authorization: its state or the open_id it was sent to", field="state"
            )
        session = await self._device_session(state, open_id, app_id)
        _, interval = _device_parts(session)
        budget = float(timeout) if timeout is not None else None
        waited = 0.0
        while True:
            outcome = await self._device_step(session)
            if isinstance(outcome, Authorized):
                return outcome
            if not wait:
                return None
            if outcome == "slow_down":
                interval += 5
            now = self._pipeline.pool.clock()
            if (budget is not None and waited >= budget) or now >= session.expires_at:
                raise errors.AuthSessionExpiredError(
                    "the user did not approve the device authorization in time",
                    hint="Send a new card: client.auth.send_auth_card(open_id, method='device').",
                )
            await _concurrency.async_sleep(interval)
            waited += interval

    async def pending_device_authorizations(
        self, *, app_id: str | None = None
    ) -> list[AuthSession]:
        """Device authorizations sent by card and not finished yet (live, unused)."""
        app = await self._pipeline.resolve_app(self._opts(app_id=app_id).app_id)
        store = session_store(self._pipeline)
        return await _concurrency.async_blocking(
            store.pending, DEVICE_MARK, self._pipeline.pool.clock(), app.app_id
        )

    async def _device_session(
        self, state: str | None, open_id: str | None, app_id: str | None
    ) -> AuthSession:
        store = session_store(self._pipeline)
        now = self._pipeline.pool.clock()
        if state is not None:
            if not isinstance(state, str) or not state.strip():
                raise errors.ValidationError("state must be a non-empty string", field="state")
            session = await _concurrency.async_blocking(store.get, state.strip(), now)
            if session.redirect_uri != DEVICE_MARK:
                raise errors.ValidationError(
                    "this state is a consent link's; finish it with complete_authorization",
                    field="state",
                )
            return session
        user = _open_id(open_id)
        app = await self._pipeline.resolve_app(self._opts(app_id=app_id).app_id)
        found = await _concurrency.async_blocking(store.pending, DEVICE_MARK, now, app.app_id)
        mine = [s for s in found if s.user == user]
        if not mine:
            raise errors.AuthSessionExpiredError(
                f"no pending device authorization for {user} of app {app.app_id}",
                hint="Send a new card: client.auth.send_auth_card(open_id, method='device').",
            )
        return mine[-1]

    async def _device_step(self, session: AuthSession) -> Authorized | str:
        """One check of a device session: the Authorized result, or ``"pending"`` /
        ``"slow_down"``. A denial or an expiry ends the session and raises."""
        app = await self._pipeline.resolve_app(session.app_id)
        device_code, _ = _device_parts(session)
        store = session_store(self._pipeline)
        try:
            body = await token_request(
                self._pipeline, app, {"grant_type": _oauth.DEVICE_GRANT, "device_code": device_code}
            )
        except errors.APIError as exc:
            kind = (exc.body or {}).get("error") if isinstance(exc.body, dict) else None
            if kind in ("authorization_pending", "slow_down"):
                return str(kind)
            if kind not in ("expired_token", "access_denied", "invalid_grant"):
                raise _oauth.oauth_error(exc) from exc  # maybe transient: the session stays
            with _suppress_lark():
                await _concurrency.async_blocking(
                    store.consume, session.state, self._pipeline.pool.clock()
                )
            outcome = {"expired_token": "expired", "access_denied": "denied"}.get(str(kind), "used")
            instrumentation.emit(
                "auth.authorization_failed", app.app_id, method="device", outcome=outcome
            )
            if kind == "expired_token":
                raise errors.AuthSessionExpiredError(
                    "the device code expired before the user approved",
                    hint="Send a new card: client.auth.send_auth_card(open_id, method='device').",
                ) from exc
            if kind == "invalid_grant":
                raise errors.AuthSessionExpiredError(
                    "this device authorization was already completed or is unknown to Feishu",
                    hint="Check client.auth.status(open_id); send a new card if needed.",
                ) from exc
            raise _oauth.oauth_error(exc) from exc
        with _suppress_lark():  # finished: no other poller needs it (the code worked once)
            await _concurrency.async_blocking(
                store.consume, session.state, self._pipeline.pool.clock()
            )
        info = await self._user_info_with(app, str(body.get("access_token") or ""))
        record = _oauth.token_record(
            user_key(app, info.open_id),
            body,
            self._pipeline.pool.clock(),
            fallback_scopes=session.scopes,
        )
        await self._pipeline.pool.put(record)
        logger.info("a user authorized %s (device card)", app.app_id)
        instrumentation.emit(
            "auth.authorization_completed", app.app_id, method="device", outcome="ok"
        )
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
        app, key = await self._key(open_id, app_id)
        had = await self._pipeline.pool.current(key) is not None
        await self._pipeline.pool.forget(key)
        instrumentation.emit(
            "auth.user_token_revoked",
            app.app_id,
            method="local",
            outcome="forgotten" if had else "none",
        )
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

        ``lark-service serve`` and ``listen`` register it for you; a mounted integration
        passes its router through :func:`~lark_service.auth.include_auth` (or registers it:
        ``router.event(REVOKED_EVENT)(client.auth.handle_revocation)``).
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
        instrumentation.emit(
            "auth.user_token_revoked", app.app_id, method="event", outcome="forgotten"
        )
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

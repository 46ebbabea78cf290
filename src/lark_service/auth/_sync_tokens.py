# Generated from src/lark_service/auth/_async_tokens.py by scripts/unasync.py: edit that file instead.
"""User tokens: the code exchange, the refresh with rotation, and fresh consent links.

:func:`refresh_user_token` is the pipeline's fetcher for ``TokenKey(kind="user")``: the
credential pool calls it holding the per-key lock of this process *and* the store's
cross-process lock (the SQLite file lock, or ``pg_advisory_xact_lock`` across hosts), after it
re-read the store. So among every thread, process and host exactly one caller spends the
single-use refresh token; the pool saves the new record (new access token *and* new refresh
token, encrypted) to the store before it returns the access token to anyone, and the others
find it in the store when they get the lock.

A dead refresh token (expired, used, revoked: ``invalid_grant``) or none at all ends the
user's authorization here: the stored token is forgotten and
:class:`~lark_service.errors.AuthorizationRequiredError` carries a fresh consent link (when a
redirect URI is configured).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .. import _concurrency, errors, instrumentation
from .._options import RequestOptions
from ..credentials import TokenKey, TokenRecord
from ..logging import get_logger
from . import _oauth
from ._helpers import DEVICE_MARK, device_secret, session_store, user_key
from ._sessions import AuthSession
from .models import AuthorizationURL

if TYPE_CHECKING:
    from .._app import AppCredentials
    from .._sync_pipeline import Pipeline

__all__ = [
    "DEVICE_MARK",
    "device_secret",
    "new_authorization_url",
    "refresh_user_token",
    "session_store",
    "token_request",
    "user_key",
]

logger = get_logger("lark_service.auth")

_NEVER = "the user must authorize the app first (user OAuth)"
_TOKEN_OPTIONS = RequestOptions(token=None, idempotent=False, error_family="authen.oauth")


def token_request(
    pipeline: Pipeline, app: AppCredentials, body: Mapping[str, Any]
) -> dict[str, Any]:
    """POST ``authen/v2/oauth/token`` (JSON, client credentials in the body); the top-level
    answer. Not retried after it may have reached Feishu: a refresh token works once."""
    payload = {"client_id": app.app_id, "client_secret": app.app_secret, **body}
    response = pipeline.call(
        app,
        "POST",
        _oauth.TOKEN_PATH,
        _TOKEN_OPTIONS,
        json=payload,
        envelope=False,
        request_id=str(uuid.uuid4()),
    )
    return dict(response.data)


def new_authorization_url(
    pipeline: Pipeline,
    app: AppCredentials,
    *,
    user: str | None,
    scopes: Iterable[str] | str | None,
    redirect_uri: str | None,
    method: str = "link",
) -> AuthorizationURL:
    """A consent link with a new session (state, PKCE verifier; 10 minutes, single use)."""
    settings = pipeline.settings
    redirect = _oauth.check_redirect_uri(redirect_uri or settings.oauth_redirect_url)
    granted = _oauth.normalize_scopes(scopes)
    state = _oauth.new_state()
    verifier = _oauth.new_verifier()
    now = pipeline.pool.clock()
    session = AuthSession(
        state=state,
        app_id=app.app_id,
        user=user,
        method=method,
        created_at=now,
        expires_at=now + _oauth.SESSION_TTL,
        scopes=tuple(granted),
        redirect_uri=redirect,
        code_verifier=verifier,
    )
    store = session_store(pipeline)
    _concurrency.blocking(store.create, session)
    instrumentation.emit("auth.authorization_started", app.app_id, method=method)
    url = _oauth.authorize_url(
        _oauth.accounts_url(app.base_url, settings.accounts_url),
        app_id=app.app_id,
        redirect_uri=redirect,
        scopes=granted,
        state=state,
        challenge=_oauth.code_challenge(verifier),
    )
    return AuthorizationURL(url, state=state, expires_at=session.expires_at)


def authorization_required(
    pipeline: Pipeline,
    app: AppCredentials,
    key: TokenKey,
    why: str,
    scopes: Iterable[str] | None = None,
) -> errors.AuthorizationRequiredError:
    """The error for a user who must authorize again, with a fresh link when one can be made
    (scopes: those the user had granted)."""
    link: str | None = None
    try:
        link = new_authorization_url(
            pipeline, app, user=key.subject, scopes=scopes, redirect_uri=None
        )
    except errors.LarkError as exc:
        logger.info("no re-authorization link for a user of %s: %s", app.app_id, exc.msg)
    hint = (
        f"Send the user this link (valid 10 minutes): {link}"
        if link
        else "Send the user a new authorization (client.auth.send_auth_card(open_id)); set "
        "LARK_OAUTH_REDIRECT_URL so this error can carry a link."
    )
    if scopes is None and why == _NEVER:
        msg = f"no user token stored for {key.subject} of app {app.app_id}: {why}"
    else:
        msg = f"user {key.subject} must authorize app {app.app_id} again: {why}"
    return errors.AuthorizationRequiredError(
        msg,
        authorization_url=link,
        open_id=key.subject,
        hint=hint,
    )


def refresh_user_token(
    pipeline: Pipeline, app: AppCredentials, key: TokenKey
) -> TokenRecord:
    """A new access token for the user of ``key`` from the stored refresh token (rotated).

    Called by the credential pool under its locks (see the module docstring). Raises
    :class:`~lark_service.errors.AuthorizationRequiredError` when the user has no usable
    authorization (the stored token is then forgotten).
    """
    pool = pipeline.pool
    current = pool.current(key)
    now = pool.clock()
    if current is None:
        raise authorization_required(pipeline, app, key, _NEVER)
    if not current.refresh_token:
        pool.forget(key)
        raise authorization_required(
            pipeline,
            app,
            key,
            "the access token expired and there is no refresh token",
            current.scopes,
        )
    if current.refresh_expires_at is not None and current.refresh_expires_at <= now:
        pool.forget(key)
        raise authorization_required(
            pipeline, app, key, "the authorization expired", current.scopes
        )
    try:
        body = token_request(
            pipeline,
            app,
            {"grant_type": "refresh_token", "refresh_token": current.refresh_token},
        )
    except errors.LarkError as exc:
        if _oauth.is_dead_grant(exc):
            instrumentation.emit(
                "auth.user_token_refreshed", app.app_id, method="refresh_token", outcome="dead"
            )
            pool.forget(key)
            error = authorization_required(
                pipeline, app, key, f"Feishu refused the refresh token ({exc.msg})", current.scopes
            )
            raise error from exc
        instrumentation.emit(
            "auth.user_token_refreshed",
            app.app_id,
            method="refresh_token",
            outcome=type(exc).__name__,
        )
        raise _oauth.oauth_error(exc) from exc
    instrumentation.emit(
        "auth.user_token_refreshed", app.app_id, method="refresh_token", outcome="ok"
    )
    record = _oauth.token_record(key, body, pool.clock(), fallback_scopes=current.scopes)
    if record.refresh_token is None and current.refresh_expires_at is not None:
        # Feishu answered without a new refresh token: the old one is spent either way.
        logger.warning("the refresh answer for a user of %s had no refresh token", app.app_id)
    return record

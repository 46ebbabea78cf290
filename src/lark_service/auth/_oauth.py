"""Pure OAuth helpers: the accounts host, state and PKCE (S256), the authorize URL, the token
answer as a :class:`~lark_service.credentials.TokenRecord`, and OAuth errors as typed errors.

Wire facts (../shared/openapi-reference.md §1): the consent page is
``{accounts}/open-apis/authen/v1/authorize`` (``scope`` space-separated; ``offline_access``
makes Feishu issue a refresh token); codes and refresh tokens are exchanged at
``/open-apis/authen/v2/oauth/token`` with a JSON body, answered at the top level
(``access_token``, ``expires_in``, ``refresh_token``, ``refresh_token_expires_in``, ``scope``, or
``error``/``error_description``/``code``). Each refresh token works once.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from .. import errors
from ..config import FEISHU_BASE_URL, LARK_BASE_URL
from ..credentials import TokenKey, TokenRecord

__all__ = [
    "AUTHORIZE_PATH",
    "DEFAULT_SCOPES",
    "DEVICE_GRANT",
    "DEVICE_PATH",
    "SESSION_TTL",
    "TOKEN_PATH",
    "USER_INFO_PATH",
    "accounts_url",
    "authorize_url",
    "code_challenge",
    "is_dead_grant",
    "new_state",
    "new_verifier",
    "normalize_scopes",
    "oauth_error",
    "token_record",
]

AUTHORIZE_PATH = "/open-apis/authen/v1/authorize"
TOKEN_PATH = "/open-apis/authen/v2/oauth/token"
DEVICE_PATH = "/open-apis/authen/v2/oauth/device_authorization"
USER_INFO_PATH = "/open-apis/authen/v1/user_info"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_SCOPES: tuple[str, ...] = ("offline_access",)
"""Always asked for: without ``offline_access`` Feishu issues no refresh token."""
SESSION_TTL = 600.0
"""An authorization session (its ``state``) lives 10 minutes and works once."""

_ACCOUNTS = {
    FEISHU_BASE_URL: "https://accounts.feishu.cn",
    LARK_BASE_URL: "https://accounts.larksuite.com",
}
# OAuth ``error`` values / codes that say the code or refresh token can never work again.
_DEAD_ERRORS = frozenset({"invalid_grant", "expired_token"})
_DEAD_CODES = frozenset({20003, 20004, 20005, 20026, 20037, 20064, 20073, 99991669})


def accounts_url(base_url: str, configured: str | None = None) -> str:
    """The OAuth accounts host: ``LARK_ACCOUNTS_URL`` when set; Feishu's / Lark's accounts
    host for their open platform; else the base URL itself (a private deployment, the
    emulator)."""
    if configured:
        return configured.rstrip("/")
    base = base_url.rstrip("/")
    return _ACCOUNTS.get(base, base)


def new_state() -> str:
    """An unguessable ``state`` (the session key; 43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def new_verifier() -> str:
    """A PKCE code verifier (RFC 7636: 43-128 characters of [A-Za-z0-9-._~])."""
    return secrets.token_urlsafe(48)


def code_challenge(verifier: str) -> str:
    """The S256 challenge of ``verifier``: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def normalize_scopes(scopes: Iterable[str] | str | None) -> list[str]:
    """``offline_access`` plus ``scopes`` (a list or a space-separated string), deduplicated,
    in order. Raises ValidationError for a scope with spaces or an empty one."""
    raw = scopes.split() if isinstance(scopes, str) else list(scopes or [])
    result = list(DEFAULT_SCOPES)
    for scope in raw:
        if not isinstance(scope, str) or not scope.strip() or any(c.isspace() for c in scope):
            raise errors.ValidationError(
                f"invalid scope {scope!r}: scopes are names without spaces", field="scopes"
            )
        if scope not in result:
            result.append(scope)
    return result


def check_redirect_uri(redirect_uri: str | None) -> str:
    """``redirect_uri`` if it is an absolute http(s) URL, else ValidationError."""
    if not redirect_uri:
        raise errors.ValidationError(
            "no redirect URI: pass redirect_uri= or set LARK_OAUTH_REDIRECT_URL to the public "
            "URL of the server's /oauth/callback",
            field="redirect_uri",
        )
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise errors.ValidationError(
            f"redirect_uri must be an absolute http(s) URL, not {redirect_uri!r}",
            field="redirect_uri",
        )
    return redirect_uri


def authorize_url(
    accounts: str,
    *,
    app_id: str,
    redirect_uri: str,
    scopes: Iterable[str],
    state: str,
    challenge: str,
) -> str:
    """The consent page's URL (PKCE S256)."""
    query = urlencode(
        {
            "client_id": app_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "response_type": "code",
        }
    )
    return f"{accounts}{AUTHORIZE_PATH}?{query}"


def token_record(
    key: TokenKey,
    body: Mapping[str, Any],
    now: float,
    *,
    fallback_scopes: tuple[str, ...] | None = None,
    request_id: str | None = None,
) -> TokenRecord:
    """The token answer as a record (ServerError when it lacks the token or its lifetime)."""
    value = body.get("access_token")
    expires_in = body.get("expires_in")
    if not isinstance(value, str) or not value or not isinstance(expires_in, (int, float)):
        raise errors.ServerError(
            "the OAuth token answer lacks access_token/expires_in", request_id=request_id
        )
    refresh = body.get("refresh_token")
    refresh_in = body.get("refresh_token_expires_in")
    scope = body.get("scope")
    scopes = tuple(str(scope).split()) if isinstance(scope, str) and scope else fallback_scopes
    return TokenRecord(
        key=key,
        value=value,
        expires_at=now + float(expires_in),
        issued_at=now,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        refresh_expires_at=(
            now + float(refresh_in)
            if isinstance(refresh, str) and refresh and isinstance(refresh_in, (int, float))
            else None
        ),
        scopes=scopes,
    )


def _body(exc: errors.LarkError) -> Mapping[str, Any]:
    body = getattr(exc, "body", None)
    return body if isinstance(body, Mapping) else {}


def is_dead_grant(exc: errors.LarkError) -> bool:
    """Whether a token-endpoint error says the code / refresh token will never work again."""
    body = _body(exc)
    return body.get("error") in _DEAD_ERRORS or (exc.code in _DEAD_CODES)


def oauth_error(exc: errors.LarkError) -> errors.LarkError:
    """A token-endpoint failure as the typed error to raise (``error``/``error_description``
    of the top-level OAuth answer)."""
    if not isinstance(exc, errors.APIError):
        return exc
    body = _body(exc)
    kind = body.get("error")
    text = str(body.get("error_description") or exc.msg)
    ids: dict[str, Any] = {
        "code": exc.code,
        "request_id": exc.request_id,
        "log_id": exc.log_id,
        "http_status": exc.http_status,
    }
    if kind == "invalid_client" or exc.code == 20002:
        return errors.InvalidCredentialsError(
            f"Feishu rejected the app's client_id/client_secret: {text}",
            hint="Check the app id and secret.",
            **ids,
        )
    if exc.code == 20010:
        return errors.PermissionDeniedError(
            f"the user is outside the app's availability: {text}",
            hint="Add the user to the app's availability range in the developer console.",
            body=body,
            **ids,
        )
    if kind == "access_denied":
        return errors.PermissionDeniedError(
            f"the user denied the authorization: {text}", body=body, **ids
        )
    if kind in ("invalid_scope",):
        return errors.InvalidParameterError(f"invalid scope: {text}", body=body, **ids)
    if kind in _DEAD_ERRORS:
        return errors.TokenInvalidError(f"{kind}: {text}", body=body, retryable=False, **ids)
    if kind:
        return errors.InvalidParameterError(f"{kind}: {text}", body=body, **ids)
    return exc

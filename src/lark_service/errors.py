"""Every error lark-service raises.

```
LarkError
├── ConfigError
│   ├── AppNotSpecifiedError      no app_id anywhere and not exactly one active app
│   ├── AppNotFoundError          the app_id is not registered
│   ├── AppDisabledError          the app is disabled; no network call was made
│   ├── InvalidCredentialsError   Feishu rejected app_id / app_secret (never retried)
│   └── EncryptionKeyError        LARK_CONFIG_ENCRYPTION_KEY missing or wrong
├── ValidationError               a local check failed; nothing was sent
│   └── AmbiguousChatNameError    several chats match a name (candidates listed)
├── TransportError
│   ├── TimeoutError              connect/read/write/pool timeout
│   └── ConnectionError           refused, reset, DNS, TLS
├── APIError                      Feishu answered code != 0, or a non-2xx status
│   ├── TokenInvalidError         expired/revoked token (the pipeline refetches once itself)
│   ├── RateLimitedError          retry_after seconds
│   ├── PermissionDeniedError     missing_scopes
│   ├── NotFoundError
│   ├── ConflictError
│   ├── QuotaExceededError
│   ├── InvalidParameterError
│   └── ServerError               5xx, "internal error", non-JSON error pages
├── UserTokenMissingError         no user token is stored for the user a call runs as
│   └── AuthorizationRequiredError  the user must authorize (again): carries authorization_url
├── AuthSessionExpiredError       an OAuth state expired (10 min) or was used: start again
├── LockTimeoutError              a token refresh lock was not acquired in time
├── StorageUnavailableError       the state database cannot be written (callbacks answer 503)
├── LongConnectionError           the long connection (WebSocket event mode) failed
│   └── HandshakeError            the WebSocket handshake was refused (handshake-status 403/514)
│       └── ConnectionLimitError  the app already has 50 long connections (1000040350)
├── GatewayError                  the HTTP gateway refused a request before calling Feishu
│   ├── AuthenticationError       no API key, or an unknown, revoked or expired one (401)
│   ├── ForbiddenError            the key may not use this app or scope (403)
│   ├── KeyRateLimitedError       the API key's own rate limit (429, retry_after)
│   └── IdempotencyConflictError  an Idempotency-Key in use, or reused for another request (409)
└── CallbackError
    ├── SignatureError            bad signature / verification token
    ├── ReplayError               timestamp outside the window, or a replayed event
    ├── DecryptError              the encrypted body could not be decrypted
    ├── MalformedCallbackError    not the JSON object of a callback (400)
    ├── PayloadTooLargeError      body over the limit (413)
    ├── UnknownAppError           no keys for the app in the URL (404)
    └── KeysUnavailableError      the app's keys cannot be read now (503)
```

Every error carries ``code`` (Feishu's, when there is one), ``msg``, ``request_id``,
``log_id``, ``http_status``, ``retryable`` and ``hint`` (what to do next). ``str(e)`` shows
all of them that are set. :func:`error_from_response` is the one place that turns a Feishu
answer into one of these classes, using the table :data:`CODE_TABLE`.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CODE_TABLE",
    "CODE_TABLES",
    "APIError",
    "AmbiguousChatNameError",
    "AppDisabledError",
    "AppNotFoundError",
    "AppNotSpecifiedError",
    "AuthSessionExpiredError",
    "AuthenticationError",
    "AuthorizationRequiredError",
    "CallbackError",
    "CodeRule",
    "ConfigError",
    "ConflictError",
    "ConnectionError",
    "ConnectionLimitError",
    "DecryptError",
    "EncryptionKeyError",
    "ForbiddenError",
    "GatewayError",
    "HandshakeError",
    "IdempotencyConflictError",
    "InvalidCredentialsError",
    "InvalidParameterError",
    "KeyRateLimitedError",
    "KeysUnavailableError",
    "LarkError",
    "LockTimeoutError",
    "LongConnectionError",
    "MalformedCallbackError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitedError",
    "ReplayError",
    "ServerError",
    "SignatureError",
    "StorageUnavailableError",
    "TimeoutError",
    "TokenInvalidError",
    "TransportError",
    "UnknownAppError",
    "UserTokenMissingError",
    "ValidationError",
    "endpoint_family",
    "error_from_response",
    "register_codes",
    "rule_for",
]


class LarkError(Exception):
    """Base of every lark-service error."""

    default_retryable = False

    def __init__(
        self,
        msg: str,
        *,
        code: int | None = None,
        request_id: str | None = None,
        log_id: str | None = None,
        http_status: int | None = None,
        retryable: bool | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(msg)
        self.msg = msg
        self.code = code
        self.request_id = request_id
        self.log_id = log_id
        self.http_status = http_status
        self.retryable = self.default_retryable if retryable is None else retryable
        self.hint = hint

    def __str__(self) -> str:
        head = f"[{self.code}] {self.msg}" if self.code is not None else self.msg
        parts = [head]
        if self.http_status is not None:
            parts.append(f"http_status={self.http_status}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        if self.log_id:
            parts.append(f"log_id={self.log_id}")
        text = " | ".join(parts)
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.msg!r}, code={self.code!r}, request_id={self.request_id!r})"


# --- configuration ---------------------------------------------------------------------


class ConfigError(LarkError):
    """The library is configured in a way that cannot work."""


class AppNotSpecifiedError(ConfigError):
    """No app_id was given anywhere and there is not exactly one active app."""


class AppNotFoundError(ConfigError):
    """The app_id is not in the registry."""


class AppDisabledError(ConfigError):
    """The app is disabled in the registry; no request was sent."""


class InvalidCredentialsError(ConfigError):
    """Feishu rejected the app_id / app_secret pair."""


class EncryptionKeyError(ConfigError):
    """The Fernet key for secrets is missing, malformed, or does not decrypt the data."""


# --- local validation --------------------------------------------------------------------


class ValidationError(LarkError, ValueError):
    """Bad input caught locally; nothing was sent to Feishu."""

    def __init__(self, msg: str, *, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(msg, hint=hint)
        self.field = field


# --- transport ---------------------------------------------------------------------------


class TransportError(LarkError):
    """The request did not get an HTTP answer.

    ``request_sent`` is False when the request surely never reached Feishu (the connection
    could not be made), True when it may have been processed (read timeout, dropped
    connection): only the former is retried for calls that are not idempotent.
    """

    default_retryable = True

    def __init__(self, msg: str, *, request_sent: bool = True, **kw: Any) -> None:
        super().__init__(msg, **kw)
        self.request_sent = request_sent


class TimeoutError(TransportError, builtins.TimeoutError):
    """Connect, read, write or pool timeout."""


class ConnectionError(TransportError, builtins.ConnectionError):
    """Connection refused or reset, DNS or TLS failure."""


# --- Feishu answered with an error ------------------------------------------------------


class APIError(LarkError):
    """Feishu answered with a non-zero code or a non-2xx status."""

    def __init__(
        self,
        msg: str,
        *,
        code: int | None = None,
        request_id: str | None = None,
        log_id: str | None = None,
        http_status: int | None = None,
        retryable: bool | None = None,
        hint: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(
            msg,
            code=code,
            request_id=request_id,
            log_id=log_id,
            http_status=http_status,
            retryable=retryable,
            hint=hint,
        )
        self.body = body


class TokenInvalidError(APIError):
    """The access token is invalid, expired or revoked."""


class RateLimitedError(APIError):
    """Feishu throttled the call; wait ``retry_after`` seconds (None if not said)."""

    default_retryable = True

    def __init__(self, msg: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(msg, **kw)
        self.retry_after = retry_after


class PermissionDeniedError(APIError):
    """The app (or user) lacks a scope or data range; see ``missing_scopes``."""

    def __init__(self, msg: str, *, missing_scopes: list[str] | None = None, **kw: Any) -> None:
        super().__init__(msg, **kw)
        self.missing_scopes = list(missing_scopes or [])


class NotFoundError(APIError):
    """The resource does not exist (or is not visible to this app)."""


class ConflictError(APIError):
    """A concurrent write or a state conflict; re-read and retry."""


class QuotaExceededError(APIError):
    """A size or count quota was exceeded."""


class InvalidParameterError(APIError):
    """Feishu rejected a parameter."""


class ServerError(APIError):
    """Feishu failed internally, or answered with a non-JSON error page."""

    default_retryable = True


# --- the rest ------------------------------------------------------------------------------


class LockTimeoutError(LarkError):
    """A token refresh lock was not acquired in time."""


class CallbackError(LarkError):
    """A callback request failed verification."""


class SignatureError(CallbackError):
    """The signature or verification token does not match."""


class ReplayError(CallbackError):
    """The request timestamp is outside the window, or the event was already seen."""


class DecryptError(CallbackError):
    """The encrypted callback body could not be decrypted."""


class UserTokenMissingError(LarkError):
    """A call runs as a user (``as_user``) for whom no user access token is stored: the user
    must authorize the app first (user OAuth)."""


class AuthorizationRequiredError(UserTokenMissingError):
    """The user's authorization is missing or dead (a refresh token that expired, was used
    or was revoked; the ``auth.user_access_token.revoked_v4`` event): the user must authorize
    the app again. ``authorization_url`` is a fresh link for that (None when it could not be
    made); ``open_id`` is the user."""

    def __init__(
        self,
        msg: str,
        *,
        authorization_url: str | None = None,
        open_id: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(msg, **kw)
        self.authorization_url = authorization_url
        self.open_id = open_id


class AuthSessionExpiredError(LarkError):
    """An OAuth authorization session (its ``state``) expired after 10 minutes, was already
    used, or is unknown: start the authorization again (a new link or card)."""


class StorageUnavailableError(LarkError):
    """The state database could not be written: a callback is not acknowledged (HTTP 503, so
    Feishu pushes it again later)."""

    default_retryable = True


class GatewayError(LarkError):
    """The HTTP gateway refused a request before any call to Feishu (see docs/gateway.md)."""


class AuthenticationError(GatewayError):
    """No API key, or one that is unknown, revoked or expired (HTTP 401)."""

    def __init__(self, msg: str, **kw: Any) -> None:
        kw.setdefault("http_status", 401)
        super().__init__(msg, **kw)


class ForbiddenError(GatewayError):
    """The API key may not use this app or lacks the operation's scope (HTTP 403);
    ``missing_scopes`` names the gateway scopes it would need."""

    def __init__(self, msg: str, *, missing_scopes: list[str] | None = None, **kw: Any) -> None:
        kw.setdefault("http_status", 403)
        super().__init__(msg, **kw)
        self.missing_scopes = list(missing_scopes or [])


class KeyRateLimitedError(GatewayError):
    """The API key is over its own rate limit (HTTP 429); retry after ``retry_after`` s."""

    default_retryable = True

    def __init__(self, msg: str, *, retry_after: float | None = None, **kw: Any) -> None:
        kw.setdefault("http_status", 429)
        super().__init__(msg, **kw)
        self.retry_after = retry_after


class IdempotencyConflictError(GatewayError):
    """An ``Idempotency-Key`` whose first request is still running, or that was used for a
    different request (HTTP 409)."""

    def __init__(self, msg: str, **kw: Any) -> None:
        kw.setdefault("http_status", 409)
        super().__init__(msg, **kw)


class MalformedCallbackError(CallbackError):
    """The body is not the JSON object of a callback (HTTP 400)."""

    def __init__(self, msg: str, **kw: Any) -> None:
        kw.setdefault("http_status", 400)
        super().__init__(msg, **kw)


class PayloadTooLargeError(CallbackError):
    """The body is larger than the limit (HTTP 413)."""

    def __init__(self, msg: str, **kw: Any) -> None:
        kw.setdefault("http_status", 413)
        super().__init__(msg, **kw)


class UnknownAppError(CallbackError):
    """No keys are known for the app named in the URL (HTTP 404)."""

    def __init__(self, msg: str, **kw: Any) -> None:
        kw.setdefault("http_status", 404)
        super().__init__(msg, **kw)


class KeysUnavailableError(CallbackError):
    """The app's keys cannot be read right now (HTTP 503: Feishu pushes again later)."""

    def __init__(self, msg: str, **kw: Any) -> None:
        kw.setdefault("http_status", 503)
        kw.setdefault("retryable", True)
        super().__init__(msg, **kw)


class LongConnectionError(LarkError):
    """The long connection (:mod:`lark_service.longconn`) failed: the endpoint answer or the
    WebSocket could not be used. ``retryable`` tells whether reconnecting may help."""


class HandshakeError(LongConnectionError):
    """The WebSocket handshake was refused: ``http_status`` is the ``handshake-status``
    header (403 forbidden, 514 authentication failed) and ``code`` the
    ``handshake-autherrcode`` when one was sent."""


class ConnectionLimitError(HandshakeError):
    """The app already has Feishu's maximum of 50 long connections (514 with
    ``handshake-autherrcode`` 1000040350): stop another listener of this app first."""


class AmbiguousChatNameError(ValidationError):
    """Several chats match a name: pass a more exact name or the ``chat_id``.

    A :class:`ValidationError` because the *input* is ambiguous (the caller fixes it; retrying
    cannot help), unlike ``ConflictError``, which means a state conflict worth retrying.
    ``candidates`` holds the matching chats (``chat_id`` and ``name``); the message lists them.
    """

    def __init__(self, name: str, candidates: Sequence[Any], *, exact: bool) -> None:
        self.name = name
        self.candidates = list(candidates)
        kind = "chats are named exactly" if exact else "chats have names containing"
        listed = "; ".join(f"{c.chat_id} {c.name!r}" for c in self.candidates[:20])
        more = f" (+{len(self.candidates) - 20} more)" if len(self.candidates) > 20 else ""
        super().__init__(
            f"{len(self.candidates)} {kind} {name!r}: {listed}{more}",
            field="name",
            hint="Use the chat_id or a more exact name.",
        )


# --- the one mapping table -------------------------------------------------------------------


@dataclass(frozen=True)
class CodeRule:
    """How one Feishu code is raised: class, whether a retry may help, what to tell the caller,
    and (rate limits) how long to wait when Feishu sends no reset header."""

    cls: type[APIError] | type[ConfigError]
    retryable: bool
    hint: str
    retry_after: float | None = None


def _rule(
    cls: type[APIError] | type[ConfigError],
    retryable: bool,
    hint: str,
    retry_after: float | None = None,
) -> CodeRule:
    return CodeRule(cls, retryable, hint, retry_after)


_BUSY = "Feishu is busy; lark-service retries with backoff."
_RATE = "Rate limited; lark-service waits x-ogw-ratelimit-reset and retries."
_TOKEN = "The token was refreshed and the call retried once; if this persists, check the app."
_ID = "The id does not exist or belongs to another app/tenant; ids like open_id differ per app."

CODE_TABLE: Mapping[int, CodeRule] = {
    # generic / auth
    99991400: _rule(RateLimitedError, True, _RATE),
    99991401: _rule(
        PermissionDeniedError, False, "The caller IP is not in the app's IP allowlist."
    ),
    99991402: _rule(RateLimitedError, True, _RATE),
    99991661: _rule(TokenInvalidError, False, "The Authorization header is missing or malformed."),
    99991663: _rule(TokenInvalidError, True, _TOKEN),
    99991664: _rule(TokenInvalidError, True, _TOKEN),
    99991665: _rule(InvalidParameterError, False, "Invalid tenant code."),
    99991668: _rule(TokenInvalidError, True, "The user token is invalid; re-authorize the user."),
    99991669: _rule(
        TokenInvalidError, False, "The refresh token is invalid; re-authorize the user."
    ),
    99991671: _rule(TokenInvalidError, False, "The token must start with t- or u-."),
    99991672: _rule(
        PermissionDeniedError,
        False,
        "Enable the missing scopes for the app in the developer console and publish a version.",
    ),
    99991673: _rule(
        PermissionDeniedError, False, "The app is not available (status/installation)."
    ),
    99991676: _rule(PermissionDeniedError, False, "The token lacks the permission for this API."),
    99991677: _rule(TokenInvalidError, True, _TOKEN),
    99991679: _rule(
        PermissionDeniedError, False, "The user has not granted the scope; re-authorize with it."
    ),
    99991681: _rule(PermissionDeniedError, False, "Third-party authorization failed."),
    **{c: _rule(NotFoundError, False, _ID) for c in range(99992351, 99992365)},
    10003: _rule(InvalidParameterError, False, "Check the request parameters."),
    10012: _rule(ServerError, True, _BUSY),
    10013: _rule(ServerError, True, _BUSY),
    10014: _rule(InvalidCredentialsError, False, "Check app_secret (and that the app is enabled)."),
    10015: _rule(InvalidCredentialsError, False, "Check app_secret."),
    9499: _rule(InvalidParameterError, False, "Check the request parameters."),
    5000: _rule(ServerError, True, _BUSY),
    1500: _rule(ServerError, True, _BUSY),
    10101: _rule(ServerError, True, _BUSY),
    10500: _rule(ServerError, True, _BUSY),
    11232: _rule(RateLimitedError, True, _RATE),
    11233: _rule(RateLimitedError, True, _RATE),
    11247: _rule(RateLimitedError, True, _RATE),
    20002: _rule(InvalidCredentialsError, False, "OAuth: invalid client_id / client_secret."),
    20010: _rule(PermissionDeniedError, False, "The user is outside the app's availability range."),
    20070: _rule(InvalidParameterError, False, "Use one OAuth client authentication method."),
    # IM
    230001: _rule(InvalidParameterError, False, "Check the message content and receive_id."),
    230002: _rule(PermissionDeniedError, False, "Add the bot to the chat first."),
    230006: _rule(PermissionDeniedError, False, "Enable the bot ability for the app."),
    230011: _rule(NotFoundError, False, "The message was already recalled."),
    230013: _rule(PermissionDeniedError, False, "The bot is not available to this user."),
    230015: _rule(InvalidParameterError, False, "A p2p chat cannot be shared."),
    230017: _rule(PermissionDeniedError, False, "The bot is not the owner of the resource."),
    230018: _rule(PermissionDeniedError, False, "Blocked by the group's settings."),
    230019: _rule(NotFoundError, False, "The thread does not exist."),
    # 5 messages/s per receiver, answered without a reset header: waiting one second (the
    # receiver's whole window) always makes room, where the 30 s default would stall a batch
    230020: _rule(
        RateLimitedError,
        True,
        "Five messages per second to one user or chat; lark-service waits a second and retries.",
        retry_after=1.0,
    ),
    230022: _rule(InvalidParameterError, False, "The content was flagged as sensitive."),
    230025: _rule(QuotaExceededError, False, "Text is limited to 150 KB, post and card to 30 KB."),
    230027: _rule(PermissionDeniedError, False, "The app lacks a permission for this message."),
    230028: _rule(InvalidParameterError, False, "The content failed the DLP audit."),
    230029: _rule(NotFoundError, False, "The user has resigned."),
    230034: _rule(InvalidParameterError, False, "Check receive_id and receive_id_type."),
    230035: _rule(PermissionDeniedError, False, "Muted or blocked."),
    230038: _rule(PermissionDeniedError, False, "Cross-tenant p2p messages are not allowed."),
    230049: _rule(ConflictError, True, "The message is still being sent; retry later."),
    230050: _rule(PermissionDeniedError, False, "The message is invisible to the operator."),
    230053: _rule(PermissionDeniedError, False, "The user blocked the bot."),
    230054: _rule(InvalidParameterError, False, "Unsupported for this message type."),
    230055: _rule(InvalidParameterError, False, "The uploaded file type does not match msg_type."),
    # 230071/230072/230075 mean other things on edit: see CODE_TABLES["im.edit"]
    230071: _rule(InvalidParameterError, False, "Reply in thread is unsupported here."),
    230072: _rule(InvalidParameterError, False, "Reply in thread is unsupported here."),
    230075: _rule(InvalidParameterError, False, "Encrypted messages are unsupported."),
    230031: _rule(InvalidParameterError, False, "Cards older than 14 days cannot be updated."),
    230099: _rule(InvalidParameterError, False, "The card content is invalid."),
    231003: _rule(NotFoundError, False, "The message does not exist."),
    232006: _rule(NotFoundError, False, "The chat does not exist (or is invisible to the app)."),
    232009: _rule(NotFoundError, False, "The chat was dissolved."),
    232011: _rule(PermissionDeniedError, False, "Add the bot to the chat first."),
    232019: _rule(RateLimitedError, True, "The chat's rate limit was hit; lark-service backs off."),
    234001: _rule(InvalidParameterError, False, "Check the upload parameters."),
    234002: _rule(PermissionDeniedError, False, "The app may not access this resource."),
    234006: _rule(QuotaExceededError, False, "Images are limited to 10 MB, files to 30 MB."),
    234010: _rule(InvalidParameterError, False, "The uploaded file is empty."),
    234043: _rule(InvalidParameterError, False, "This resource cannot be downloaded."),
    # contact
    40001: _rule(InvalidParameterError, False, "Check the contact parameters."),
    40003: _rule(ServerError, True, _BUSY),
    40004: _rule(
        PermissionDeniedError, False, "Widen the app's contacts data range to this department."
    ),
    40011: _rule(InvalidParameterError, False, "page_size must be 1-50."),
    40012: _rule(InvalidParameterError, False, "The page_token is invalid."),
    40014: _rule(InvalidParameterError, False, "Feishu refused the department parameters."),
    40015: _rule(NotFoundError, False, "The department does not exist or was deleted."),
    43010: _rule(
        InvalidParameterError,
        False,
        "The department is too large to list recursively; walk its sub-departments instead.",
    ),
    41009: _rule(InvalidParameterError, False, "Give an email or a mobile."),
    41012: _rule(InvalidParameterError, False, "Invalid user id."),
    41050: _rule(
        PermissionDeniedError, False, "The user is outside the app's contacts data range."
    ),
    # bitable
    1254002: _rule(ServerError, True, _BUSY),
    1254040: _rule(NotFoundError, False, "The base app_token does not exist."),
    1254041: _rule(NotFoundError, False, "The table does not exist."),
    1254042: _rule(NotFoundError, False, "The view does not exist."),
    1254104: _rule(QuotaExceededError, False, "At most 500 records per batch."),
    1254290: _rule(RateLimitedError, True, _RATE),
    1254291: _rule(ConflictError, True, "Concurrent writes to one table; retried serially."),
    1254302: _rule(PermissionDeniedError, False, "Add the app to the base (advanced permissions)."),
    1255001: _rule(ServerError, True, _BUSY),
    1255002: _rule(ServerError, True, _BUSY),
    1255040: _rule(ServerError, True, _BUSY),
    # drive
    1061001: _rule(ServerError, True, _BUSY),
    1061003: _rule(NotFoundError, False, "The file does not exist."),
    1061004: _rule(PermissionDeniedError, False, "No permission on this file."),
    1061006: _rule(ServerError, True, _BUSY),
    1061045: _rule(RateLimitedError, True, _RATE),
}

CODE_TABLES: dict[str, Mapping[int, CodeRule]] = {
    # token endpoints: here 10003 means Feishu does not know the app_id
    "auth": {
        10003: _rule(InvalidCredentialsError, False, "Check app_id: Feishu does not know it."),
    },
    # PUT /im/v1/messages/:id (the edit page)
    "im.edit": {
        230071: _rule(
            PermissionDeniedError,
            False,
            "Only the sender can edit a message.",
        ),
        230072: _rule(ConflictError, False, "A message can be edited at most 20 times."),
        230075: _rule(ConflictError, False, "The edit window of this message has passed."),
    },
    # DELETE /im/v1/messages/:id (the recall page)
    "im.recall": {
        230026: _rule(
            PermissionDeniedError, False, "The app may not recall this message (not its sender)."
        ),
        230009: _rule(ConflictError, False, "The recall window of this message has passed."),
        230110: _rule(NotFoundError, False, "The message was deleted."),
    },
}
"""Code tables per endpoint family: Feishu's codes mean different things on different endpoints
(230071 is "not the sender" on edit, "reply in thread unsupported" on reply). A family's table
is consulted first, then its parents' (``im.edit`` → ``im``), then :data:`CODE_TABLE`."""


def register_codes(family: str, table: Mapping[int, CodeRule]) -> None:
    """Add a domain's code table for the endpoint ``family`` (merged into an existing one)."""
    CODE_TABLES[family] = {**CODE_TABLES.get(family, {}), **table}


def rule_for(code: int, family: str | None = None) -> CodeRule | None:
    """The rule for ``code`` on an endpoint of ``family`` (its table, its parents', then the
    generic table)."""
    while family:
        table = CODE_TABLES.get(family)
        if table is not None and code in table:
            return table[code]
        family = family.rpartition(".")[0]
    return CODE_TABLE.get(code)


def endpoint_family(method: str, path: str) -> str:
    """The error family of ``method path``: ``auth``, ``im.edit``, ``im.recall``, ``im.reply``,
    else the path's service (``im``, ``contact``, ``docx``...)."""
    parts = path.split("/")
    service = parts[2] if len(parts) > 2 and parts[1] == "open-apis" else ""
    if service == "auth":
        return "auth"
    if service == "im" and len(parts) >= 6 and parts[4] == "messages":
        if len(parts) == 6:
            if method == "PUT":
                return "im.edit"
            if method == "DELETE":
                return "im.recall"
        elif parts[6:7] == ["reply"]:
            return "im.reply"
    return service


_STATUS_CLASS: Mapping[int, type[APIError]] = {
    400: InvalidParameterError,
    401: TokenInvalidError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: QuotaExceededError,
    429: RateLimitedError,
}


def _missing_scopes(body: Mapping[str, Any]) -> list[str]:
    error = body.get("error")
    if not isinstance(error, Mapping):
        return []
    scopes: list[str] = []
    for violation in error.get("permission_violations") or []:
        if isinstance(violation, Mapping) and violation.get("subject"):
            scopes.append(str(violation["subject"]))
    return scopes


def _field_hint(body: Mapping[str, Any]) -> str | None:
    error = body.get("error")
    if not isinstance(error, Mapping):
        return None
    fields = [
        f"{v.get('field')}: {v.get('description')}"
        for v in error.get("field_violations") or []
        if isinstance(v, Mapping)
    ]
    return "; ".join(fields) or None


def error_from_response(
    *,
    http_status: int,
    body: Mapping[str, Any] | None,
    text: str = "",
    request_id: str | None = None,
    log_id: str | None = None,
    retry_after: float | None = None,
    family: str | None = None,
) -> APIError | ConfigError | TransportError:
    """Map a Feishu answer to the error to raise (the business code decides before the status).

    ``body`` is the parsed JSON envelope, or None when the answer was not JSON (then ``text``
    holds the start of it). ``family`` is the endpoint family (:func:`endpoint_family`) whose
    code table is consulted first. Unknown codes become a plain :class:`APIError`.
    """
    ids: dict[str, Any] = {"request_id": request_id, "log_id": log_id, "http_status": http_status}
    if body is None:
        snippet = " ".join(text.split())[:200]
        msg = f"non-JSON answer with HTTP {http_status}" + (f": {snippet}" if snippet else "")
        if http_status == 429:
            return RateLimitedError(msg, retry_after=retry_after, hint=_RATE, **ids)
        if http_status == 400:
            # Feishu answers every 400 with its JSON envelope: a bare 400 came from a server
            # that could not parse our request (a connection corrupted, e.g. shared across a
            # fork) — a transport failure, not a parameter of ours.
            return ConnectionError(
                msg,
                request_sent=True,
                hint="The HTTP exchange was garbled on the way; check proxies, and never "
                "share a client's connections across fork().",
                **ids,
            )
        if http_status >= 500 or http_status < 400:  # an error page, or a garbled 2xx answer
            return ServerError(msg, hint=_BUSY, **ids)
        cls = _STATUS_CLASS.get(http_status, APIError)
        return cls(msg, **ids)

    raw_code = body.get("code")
    code = raw_code if isinstance(raw_code, int) else None
    msg = str(body.get("msg") or body.get("error_description") or f"HTTP {http_status}")
    rule = rule_for(code, family) if code is not None else None
    hint = _field_hint(body)
    if rule is not None:
        hint = hint or rule.hint
        if issubclass(rule.cls, ConfigError):
            return rule.cls(msg, code=code, retryable=False, hint=hint, **ids)
        if rule.cls is PermissionDeniedError:
            scopes = _missing_scopes(body)
            if scopes:
                hint = f"Missing scopes: {', '.join(scopes)}. {rule.hint}"
            return PermissionDeniedError(
                msg, code=code, missing_scopes=scopes, hint=hint, body=body, **ids
            )
        if rule.cls is RateLimitedError:
            wait = retry_after if retry_after is not None else rule.retry_after
            return RateLimitedError(msg, code=code, retry_after=wait, hint=hint, body=body, **ids)
        return rule.cls(msg, code=code, retryable=rule.retryable, hint=hint, body=body, **ids)

    if http_status == 429:
        return RateLimitedError(
            msg, code=code, retry_after=retry_after, hint=_RATE, body=body, **ids
        )
    if http_status >= 500:
        return ServerError(msg, code=code, hint=_BUSY, body=body, **ids)
    if code is None or code == 0:
        cls = _STATUS_CLASS.get(http_status, APIError)
        return cls(msg, code=code, hint=hint, body=body, **ids)
    return APIError(msg, code=code, hint=hint, body=body, **ids)

"""Checking a callback request before anything runs: size, JSON, decryption, signature,
timestamp window, verification token — each step a small function, the clock injectable.

:class:`CallbackVerifier` turns ``(kind, app_id, headers, raw body)`` into a
:class:`VerifiedCallback` or raises a :class:`~lark_service.errors.CallbackError` whose
``http_status`` is what the server answers: 413 too large, 400 malformed (or undecryptable),
401 a wrong/missing signature, stale timestamp or wrong verification token, 404 an unknown app,
503 when the app's keys cannot be read (the registry's database is down, or its encryption key
does not open the secrets). Error messages never contain a key, a token or the body.

The verified payload has the app's verification token removed
(:func:`~lark_service.callbacks.models.without_verification_token`): it is never stored.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import (
    CallbackError,
    KeysUnavailableError,
    MalformedCallbackError,
    PayloadTooLargeError,
    ReplayError,
    SignatureError,
    UnknownAppError,
)
from . import crypto
from .keys import CallbackKeys, KeyLookup
from .models import CallbackEvent, parse_callback, without_verification_token

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_WINDOW",
    "HEADER_NONCE",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "CallbackVerifier",
    "KeysUnavailableError",
    "Kind",
    "MalformedCallbackError",
    "PayloadTooLargeError",
    "UnknownAppError",
    "VerifiedCallback",
    "check_body_size",
    "check_signature",
    "check_timestamp",
    "check_verification_token",
    "open_body",
]

Kind = Literal["event", "card"]

HEADER_TIMESTAMP = "X-Lark-Request-Timestamp"
HEADER_NONCE = "X-Lark-Request-Nonce"
HEADER_SIGNATURE = "X-Lark-Signature"

DEFAULT_WINDOW = 300.0
"""Seconds a request timestamp may differ from our clock (replay protection)."""
DEFAULT_MAX_BODY = 1024 * 1024
"""Largest accepted body in bytes (Feishu's callbacks are a few KB)."""


def _unauthorized(cls: type[CallbackError], msg: str, hint: str | None = None) -> CallbackError:
    return cls(msg, http_status=401, hint=hint)


@dataclass(frozen=True)
class VerifiedCallback:
    """A callback that passed every check. ``challenge`` is set for ``url_verification``.

    ``payload`` is the decrypted callback without the app's verification token.
    """

    app_id: str
    kind: Kind
    payload: dict[str, Any]
    event: CallbackEvent | None
    challenge: str | None = None
    received_at: float = 0.0


# --- the steps ---------------------------------------------------------------------------


def check_body_size(body: bytes, limit: int) -> None:
    """413 when ``body`` is longer than ``limit`` bytes."""
    if len(body) > limit:
        raise PayloadTooLargeError(f"callback body of {len(body)} bytes exceeds {limit} bytes")


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedCallbackError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise MalformedCallbackError(f"{what} must be a JSON object")
    return value


def open_body(body: bytes, encrypt_key: str | None) -> tuple[dict[str, Any], bool]:
    """The callback payload: parsed, and decrypted when it is ``{"encrypt": ...}``.

    Returns ``(payload, was_encrypted)``.
    """
    outer = _json_object(body, "callback body")
    if "encrypt" not in outer:
        return outer, False
    blob = outer["encrypt"]
    if not isinstance(blob, str) or not blob:
        raise MalformedCallbackError("the encrypt field must be a non-empty string")
    if not encrypt_key:
        raise MalformedCallbackError(
            "callback is encrypted but no encrypt key is configured for this app",
            hint="Set the app's encrypt key (LARK_ENCRYPT_KEY or `lark-service app update`).",
        )
    plain = crypto.decrypt(encrypt_key, blob)
    return _json_object(plain, "decrypted callback"), True


def check_timestamp(timestamp: str | None, *, now: float, window: float) -> None:
    """401 when the request timestamp is missing, malformed or outside ``now ± window``."""
    if not timestamp:
        raise _unauthorized(ReplayError, f"missing {HEADER_TIMESTAMP} header")
    try:
        value = float(timestamp)
    except ValueError:
        raise _unauthorized(ReplayError, f"malformed {HEADER_TIMESTAMP} header") from None
    if value != value or abs(now - value) > window:  # NaN, or stale / from the future
        raise _unauthorized(
            ReplayError,
            f"request timestamp is outside the {window:.0f} s window",
            hint="A replayed request, or this server's clock is wrong (check NTP).",
        )


def check_signature(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    sign: Callable[[str, str, str, bytes], str],
) -> None:
    """401 unless ``X-Lark-Signature`` is ``sign(timestamp, nonce, secret, body)``."""
    headers = _lower(headers)
    timestamp = headers.get(HEADER_TIMESTAMP.lower()) or ""
    nonce = headers.get(HEADER_NONCE.lower())
    given = headers.get(HEADER_SIGNATURE.lower())
    if nonce is None or not given:
        raise _unauthorized(SignatureError, "missing X-Lark-Request-Nonce or X-Lark-Signature")
    expected = sign(timestamp, nonce, secret, body)
    if not crypto.signatures_equal(expected, given):
        raise _unauthorized(
            SignatureError,
            "callback signature does not match",
            hint="Check the app's encrypt key (or, for legacy card callbacks, its verification "
            "token) against the Feishu console.",
        )


def check_verification_token(given: Any, expected: str) -> None:
    """401 unless the payload's verification token equals ``expected`` (constant time)."""
    if not isinstance(given, str) or not hmac.compare_digest(
        given.encode("utf-8"), expected.encode("utf-8")
    ):
        raise _unauthorized(
            SignatureError,
            "verification token does not match",
            hint="Check the app's verification token against the Feishu console.",
        )


def _configured(found: CallbackKeys) -> CallbackKeys:
    if not found.configured:
        raise _unauthorized(
            SignatureError,
            f"app {found.app_id} has neither an encrypt key nor a verification token",
            hint="Set them from the Feishu console (Events & Callbacks > Encryption).",
        )
    return found


def _keys_unavailable(what: str, exc: Exception) -> CallbackError:
    # The type only: a database error's text may hold the registry URL (and its password).
    return KeysUnavailableError(
        f"the callback keys of {what} cannot be read ({type(exc).__name__})",
        hint="Check the config database (LARK_CONFIG_DB_URL) and LARK_CONFIG_ENCRYPTION_KEY.",
    )


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _payload_token(payload: Mapping[str, Any]) -> Any:
    header = payload.get("header")
    if payload.get("schema") and isinstance(header, dict):
        return header.get("token")
    return payload.get("token")


def _is_legacy_card(kind: Kind, payload: Mapping[str, Any]) -> bool:
    return kind == "card" and not payload.get("schema") and "uuid" not in payload


# --- the verifier ------------------------------------------------------------------------


class CallbackVerifier:
    """Runs every check on one request; see the module docstring for the answers.

    ``clock`` returns epoch seconds (tests pass a fake); ``window`` bounds the timestamp's age;
    ``max_body`` the body size.
    """

    def __init__(
        self,
        keys: KeyLookup,
        *,
        clock: Callable[[], float] = time.time,
        window: float = DEFAULT_WINDOW,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.keys = keys
        self.clock = clock
        self.window = window
        self.max_body = max_body

    def app_keys(self, app_id: str | None) -> CallbackKeys:
        """The keys of ``app_id`` (None: the default app); 404 when unknown, 503 when the
        key source fails. May block: a registry-backed lookup reads its database."""
        try:
            chosen = app_id or self.keys.default_app_id()
        except Exception as exc:
            raise _keys_unavailable("the default app", exc) from None
        if not chosen:
            raise UnknownAppError(
                "no default app for /callbacks/event and /callbacks/card",
                hint="Use /callbacks/<app_id>/event, or set LARK_APP_ID.",
            )
        try:
            found = self.keys.get(chosen)
        except Exception as exc:
            raise _keys_unavailable(f"app {chosen}", exc) from None
        if found is None:
            raise UnknownAppError(f"unknown app {chosen}")
        return _configured(found)

    def app_keys_nowait(self, app_id: str | None) -> CallbackKeys | None:
        """:meth:`app_keys` if the lookup answers from memory now (``blocking = False``, or
        its ``peek`` knows the app); None when only the blocking :meth:`app_keys` can tell."""
        if not getattr(self.keys, "blocking", True):
            return self.app_keys(app_id)
        peek = getattr(self.keys, "peek", None)
        if not callable(peek):
            return None
        try:
            found = peek(app_id)
        except Exception:
            return None  # the blocking path reports it
        return _configured(found) if isinstance(found, CallbackKeys) else None

    def verify(
        self,
        kind: Kind,
        app_id: str | None,
        headers: Mapping[str, str],
        body: bytes,
        *,
        keys: CallbackKeys | None = None,
    ) -> VerifiedCallback:
        """Check one request; raises a :class:`CallbackError` carrying the HTTP status.

        ``keys``: the app's keys if already resolved (:meth:`app_keys`, which may block on a
        registry: the server resolves them in a thread then); else looked up here.
        """
        check_body_size(body, self.max_body)
        headers = _lower(headers)
        timestamp = headers.get(HEADER_TIMESTAMP.lower())
        keys = keys or self.app_keys(app_id)
        payload, encrypted = open_body(body, keys.encrypt_key)
        now = self.clock()

        if payload.get("type") == "url_verification":
            challenge = payload.get("challenge")
            if not isinstance(challenge, str):
                raise MalformedCallbackError("url_verification without a challenge string")
            if keys.verification_token:
                check_verification_token(payload.get("token"), keys.verification_token)
            elif not encrypted:  # decrypting it proved the sender knows the encrypt key
                raise _unauthorized(SignatureError, "unauthenticated url_verification")
            return VerifiedCallback(keys.app_id, kind, payload, None, challenge, now)

        if _is_legacy_card(kind, payload):
            if not keys.verification_token:
                raise _unauthorized(
                    SignatureError,
                    "legacy card callbacks need the app's verification token",
                )
            check_timestamp(timestamp, now=now, window=self.window)
            check_signature(headers, body, keys.verification_token, crypto.card_signature)
        else:
            if keys.encrypt_key:
                check_timestamp(timestamp, now=now, window=self.window)
                check_signature(headers, body, keys.encrypt_key, crypto.event_signature)
            elif timestamp:
                check_timestamp(timestamp, now=now, window=self.window)
            if keys.verification_token:
                check_verification_token(_payload_token(payload), keys.verification_token)

        payload = without_verification_token(payload, kind)  # checked: never stored
        try:
            event = parse_callback(payload, kind, keys.app_id)
        except ValueError:  # pydantic's ValidationError
            raise MalformedCallbackError("callback fields have the wrong types") from None
        if event.app_id and event.app_id != keys.app_id:
            raise MalformedCallbackError(f"callback is for app {event.app_id}, not {keys.app_id}")
        return VerifiedCallback(keys.app_id, kind, payload, event, None, now)

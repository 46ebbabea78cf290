"""The emulator's user-OAuth state: consent codes, single-use refresh tokens, device codes.

Kept in ``EmulatorState.domain("oauth")`` (dropped by ``reset``). Tests reach it with
:func:`oauth` (``oauth(emu.state).refresh_requests`` ...).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from .state import EmulatorState

__all__ = [
    "ACCESS_TTL",
    "CODE_TTL",
    "DEVICE_TTL",
    "REFRESH_TTL",
    "AuthCode",
    "DeviceCode",
    "OAuthDomain",
    "RefreshToken",
    "oauth",
]

CODE_TTL = 5 * 60.0
"""An authorization code lives 5 minutes and works once (Feishu's rule)."""
ACCESS_TTL = 7200.0
REFRESH_TTL = 30 * 86400.0
DEVICE_TTL = 600.0


@dataclass
class AuthCode:
    code: str
    app_id: str
    user_id: str
    scopes: list[str]
    redirect_uri: str | None
    code_challenge: str | None
    challenge_method: str | None
    issued_at: float
    used: bool = False


@dataclass
class RefreshToken:
    value: str
    app_id: str
    user_id: str
    scopes: list[str]
    issued_at: float
    expires_at: float
    used: bool = False
    revoked: bool = False


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    app_id: str
    scopes: list[str]
    issued_at: float
    expires_at: float
    interval: int = 5
    status: str = "pending"  # pending | approved | denied | done
    user_id: str | None = None


@dataclass
class OAuthDomain:
    """Everything the OAuth endpoints keep, and counters tests assert on."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    devices: dict[str, DeviceCode] = field(default_factory=dict)
    token_scopes: dict[str, list[str]] = field(default_factory=dict)
    """Scopes of each user access token (by value)."""
    signed_in: str | None = None
    """The user the authorize page acts for (``POST /_emulator/oauth/signin``)."""
    access_ttl: float = ACCESS_TTL
    refresh_ttl: float = REFRESH_TTL
    device_interval: int = 5
    """The ``interval`` (s) device authorizations announce (``/_emulator/oauth/config``)."""
    refresh_requests: int = 0
    """Requests with ``grant_type=refresh_token`` (successful or not)."""
    invalid_grants: int = 0
    """Token requests answered ``invalid_grant``."""
    code_exchanges: int = 0
    grants: list[dict[str, Any]] = field(default_factory=list)
    """Every token request: ``{"grant_type", "ok", "error"}`` (no secrets)."""

    def new_code(self, **kw: Any) -> AuthCode:
        code = AuthCode(code="c" + secrets.token_hex(16), **kw)
        with self.lock:
            self.codes[code.code] = code
        return code

    def new_refresh_token(self, app_id: str, user_id: str, scopes: list[str], now: float) -> str:
        value = "ur-" + secrets.token_urlsafe(32)
        with self.lock:
            self.refresh_tokens[value] = RefreshToken(
                value, app_id, user_id, list(scopes), now, now + self.refresh_ttl
            )
        return value

    def revoke_user(self, app_id: str, user_id: str) -> int:
        """Revoke every refresh token of the user for the app; return how many."""
        count = 0
        with self.lock:
            for token in self.refresh_tokens.values():
                if token.app_id == app_id and token.user_id == user_id and not token.revoked:
                    token.revoked = True
                    count += 1
        return count

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "refresh_requests": self.refresh_requests,
                "invalid_grants": self.invalid_grants,
                "code_exchanges": self.code_exchanges,
                "live_refresh_tokens": sum(
                    1 for t in self.refresh_tokens.values() if not (t.used or t.revoked)
                ),
                "grants": list(self.grants),
            }


def oauth(state: EmulatorState) -> OAuthDomain:
    """The OAuth state of ``state`` (made on first use)."""
    return state.domain("oauth", OAuthDomain)

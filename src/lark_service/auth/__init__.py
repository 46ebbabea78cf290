"""User identity (``client.auth``): OAuth consent by card, link or device code, and user
tokens refreshed with their single-use refresh tokens rotated safely across a fleet.

See ``docs/auth.md``.
"""

from ._async_client import AsyncAuthClient
from ._helpers import DEVICE_CARD_VALUE, REVOKED_EVENT, auth_card, device_card
from ._oauth import DEFAULT_SCOPES, SESSION_TTL, accounts_url, code_challenge
from ._router import include_auth
from ._sync_client import AuthClient
from .models import AuthorizationURL, Authorized, AuthStatus, DeviceAuthorization, UserInfo

__all__ = [
    "DEFAULT_SCOPES",
    "DEVICE_CARD_VALUE",
    "REVOKED_EVENT",
    "SESSION_TTL",
    "AsyncAuthClient",
    "AuthClient",
    "AuthStatus",
    "AuthorizationURL",
    "Authorized",
    "DeviceAuthorization",
    "UserInfo",
    "accounts_url",
    "auth_card",
    "code_challenge",
    "device_card",
    "include_auth",
]

"""Results of ``client.auth``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AuthStatus", "AuthorizationURL", "Authorized", "DeviceAuthorization", "UserInfo"]


class AuthorizationURL(str):
    """The consent link (a ``str``), with the session it belongs to: ``state``,
    ``expires_at`` (epoch seconds; 10 minutes after it was made) and ``url`` (itself)."""

    state: str
    expires_at: float

    def __new__(cls, url: str, *, state: str, expires_at: float) -> AuthorizationURL:
        value = super().__new__(cls, url)
        value.state = state
        value.expires_at = expires_at
        return value

    @property
    def url(self) -> str:
        return str.__str__(self)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AuthStatus(_Model):
    """Whether lark-service can act as the user (``authorized``), until when the access token
    and the refresh token (the authorization itself) last, and the scopes granted."""

    open_id: str
    app_id: str
    authorized: bool
    expires_at: float | None = None
    refresh_expires_at: float | None = None
    scopes: list[str] = Field(default_factory=list)


class Authorized(_Model):
    """A completed authorization (no token in it)."""

    open_id: str
    app_id: str
    expires_at: float
    refresh_expires_at: float | None = None
    scopes: list[str] = Field(default_factory=list)
    method: str | None = None


class UserInfo(_Model):
    """``authen/v1/user_info``: the user behind a user access token."""

    open_id: str
    union_id: str | None = None
    user_id: str | None = None
    name: str | None = None
    en_name: str | None = None
    email: str | None = None
    mobile: str | None = None
    tenant_key: str | None = None


class DeviceAuthorization(_Model):
    """A started device flow: show ``verification_uri_complete`` (or ``verification_uri``
    and ``user_code``) to the user, then poll with ``device_code`` every ``interval`` s."""

    device_code: str = Field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None = None
    expires_in: int = 600
    interval: int = 5

"""What the app registry hands out and lists: plain values, no database code.

This module imports nothing from the rest of the package but ``errors`` and ``config``, so
``lark_service._app`` (the resolver every client uses) can depend on it without an import
cycle: ``_app`` -> ``apps``, never the other way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .. import errors
from ..config import FEISHU_BASE_URL, LARK_BASE_URL

if TYPE_CHECKING:
    from sqlalchemy import Row

__all__ = [
    "DOMAINS",
    "AppCredentials",
    "AppInfo",
    "AppSecrets",
    "AppSource",
    "AuditEntry",
    "Status",
    "resolve_domain",
    "secret_fingerprint",
]

Status = Literal["active", "disabled"]

#: Domain names ``--domain`` accepts besides a URL.
DOMAINS: Mapping[str, str] = {"feishu": FEISHU_BASE_URL, "lark": LARK_BASE_URL}

_APP_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_MAX_TEXT = 255
_SECRET_FIELDS = ("app_secret", "encrypt_key", "verification_token")


def secret_fingerprint(secret: str, base_url: str = "") -> str:
    """A short, non-reversible digest of a secret (and the base URL it is used with): keys
    tokens to the secret that fetched them *and the host that issued them*, so a token is
    never sent to another host (an app moved from the emulator to Feishu, a proxy)."""
    material = secret if not base_url else f"{base_url.rstrip('/')}\n{secret}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class AppCredentials:
    """An app as the pipeline needs it. The secret never appears in ``repr``."""

    app_id: str
    app_secret: str = field(repr=False)
    base_url: str
    source: Literal["argument", "env", "registry"]
    status: Literal["active", "disabled"] = "active"
    fingerprint: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(
                self, "fingerprint", secret_fingerprint(self.app_secret, self.base_url)
            )


class AppSource(Protocol):
    """A registry of apps (the config database), consulted for app ids not given ad hoc."""

    def get_app(self, app_id: str) -> AppCredentials | None:
        """The app, or None when it is not registered (disabled apps are returned too)."""

    def active_app_ids(self) -> list[str]:
        """The ids of every active app."""

    def is_fresh(self) -> bool:
        """Whether the two methods above answer from memory now (no database I/O)."""


def resolve_domain(domain: str) -> str:
    """``feishu``/``lark`` or an http(s) base URL, as the base URL (no trailing slash)."""
    value = domain.strip()
    named = DOMAINS.get(value.lower())
    if named is not None:
        return named
    if not re.match(r"^https?://[^\s/]+", value):
        raise errors.ValidationError(
            f"domain must be 'feishu', 'lark' or an http(s) base URL, not {domain!r}",
            field="domain",
        )
    return value.rstrip("/")


@dataclass(frozen=True)
class AppInfo:
    """A registered app as listed and shown: everything but the secret values."""

    app_id: str
    name: str
    description: str
    status: Status
    domain: str
    created_by: str
    created_at: float
    updated_at: float
    has_encrypt_key: bool
    has_verification_token: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``--json``)."""
        return {
            "app_id": self.app_id,
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "domain": self.domain,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "has_encrypt_key": self.has_encrypt_key,
            "has_verification_token": self.has_verification_token,
        }


@dataclass(frozen=True)
class AppSecrets:
    """An app's decrypted secrets (callbacks need the last two). Never shown in ``repr``."""

    app_secret: str = field(repr=False)
    encrypt_key: str | None = field(default=None, repr=False)
    verification_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AuditEntry:
    """One change to the registry: who, when, which fields (names only, never values)."""

    id: int
    app_id: str
    action: str
    actor: str
    fields: tuple[str, ...]
    at: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "id": self.id,
            "app_id": self.app_id,
            "action": self.action,
            "actor": self.actor,
            "fields": list(self.fields),
            "at": self.at,
        }


def _info(row: Row[Any]) -> AppInfo:
    return AppInfo(
        app_id=row.app_id,
        name=row.name,
        description=row.description,
        status=row.status,
        domain=row.domain,
        created_by=row.created_by,
        created_at=float(row.created_at),
        updated_at=float(row.updated_at),
        has_encrypt_key=row.encrypt_key_enc is not None,
        has_verification_token=row.verification_token_enc is not None,
    )


def _check_app_id(app_id: str) -> None:
    if not isinstance(app_id, str) or not _APP_ID.match(app_id):
        raise errors.ValidationError(
            "app_id must be 1-64 letters, digits, '_', '-' or '.', e.g. cli_a1b2c3 "
            f"(got {app_id!r})",
            field="app_id",
        )


def _check_secret(label: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise errors.ValidationError(f"{label} cannot be empty", field=label)
    if value != value.strip():
        raise errors.ValidationError(
            f"{label} has leading or trailing whitespace (a copy-paste slip?)", field=label
        )


def _check_text(label: str, value: str) -> None:
    if len(value) > _MAX_TEXT:
        raise errors.ValidationError(f"{label} is longer than {_MAX_TEXT} characters", field=label)

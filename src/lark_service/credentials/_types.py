"""Token records, the store protocol every backend implements, and the in-memory store."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "LockHandle",
    "MemoryTokenStore",
    "TokenKey",
    "TokenKind",
    "TokenRecord",
    "TokenStore",
]

TokenKind = Literal["tenant", "app", "user"]


@dataclass(frozen=True)
class TokenKey:
    """Identifies one token: the app, a fingerprint of the secret it was fetched with, the
    kind, and the subject (the user for user tokens, '' otherwise)."""

    app_id: str
    fingerprint: str
    kind: TokenKind
    subject: str = ""

    def __str__(self) -> str:  # used in logs; holds no secret
        tail = f"/{self.subject}" if self.subject else ""
        return f"{self.app_id}/{self.kind}{tail}"


@dataclass(frozen=True)
class TokenRecord:
    """A token and its lifetime (epoch seconds on the pool's clock)."""

    key: TokenKey
    value: str = field(repr=False)
    expires_at: float
    issued_at: float
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: float | None = None
    scopes: tuple[str, ...] | None = None
    """User tokens: the scopes the user granted (None: not known)."""

    @property
    def lifetime(self) -> float:
        return max(0.0, self.expires_at - self.issued_at)

    def remaining(self, now: float) -> float:
        return self.expires_at - now

    def is_usable(self, now: float, margin: float = 5.0) -> bool:
        """Valid for at least ``margin`` more seconds (so a request can still use it)."""
        return self.remaining(now) > margin

    def wants_refresh(self, now: float, fraction: float) -> bool:
        """At or below ``fraction`` of its lifetime left."""
        return self.remaining(now) <= self.lifetime * fraction


class LockHandle(Protocol):
    def release(self) -> None: ...


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens live between calls and processes.

    ``blocking`` says whether the methods do I/O; async callers then run them in a worker
    thread. ``lock`` takes the cross-process (or cross-host) lock for one key, waiting at most
    ``timeout`` seconds before raising :class:`~lark_service.errors.LockTimeoutError`; the
    pool calls it only after it holds the in-process lock for that key.
    """

    blocking: bool

    def load(self, key: TokenKey) -> TokenRecord | None: ...

    def save(self, record: TokenRecord) -> None: ...

    def delete(self, key: TokenKey, value: str | None = None) -> None:
        """Delete the record; with ``value``, only if it still holds that token."""

    def lock(self, key: TokenKey, timeout: float) -> LockHandle: ...


class _NoLock:
    def release(self) -> None:
        return None


class MemoryTokenStore:
    """Tokens in this process only: the default when no database is configured."""

    blocking = False

    def __init__(self) -> None:
        self._records: dict[TokenKey, TokenRecord] = {}
        self._guard = threading.Lock()

    def load(self, key: TokenKey) -> TokenRecord | None:
        return self._records.get(key)

    def save(self, record: TokenRecord) -> None:
        with self._guard:
            self._records[record.key] = record

    def delete(self, key: TokenKey, value: str | None = None) -> None:
        with self._guard:
            current = self._records.get(key)
            if current is not None and (value is None or current.value == value):
                del self._records[key]

    def lock(self, key: TokenKey, timeout: float) -> LockHandle:
        return _NoLock()

    def clear(self) -> None:
        with self._guard:
            self._records.clear()


Clock = Callable[[], float]

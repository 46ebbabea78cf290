"""Contact: users and departments, with a persistent per-app user cache (``client.contact``).

``UserCache`` (SQLAlchemy) is imported on first use, so importing this package stays light.
See ``docs/contact.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._async_client import AsyncContactClient, ProgressCallback
from ._ids import classify_query, normalize_email, normalize_mobile
from ._sync_client import ContactClient
from .models import Department, DepartmentStatus, User, UserAvatar, UserStatus

if TYPE_CHECKING:
    from .cache import CacheCounters, CacheStats, UserCache

__all__ = [
    "AsyncContactClient",
    "CacheCounters",
    "CacheStats",
    "ContactClient",
    "Department",
    "DepartmentStatus",
    "ProgressCallback",
    "User",
    "UserAvatar",
    "UserCache",
    "UserStatus",
    "classify_query",
    "normalize_email",
    "normalize_mobile",
]

_CACHE_NAMES = ("CacheCounters", "CacheStats", "UserCache")


def __getattr__(name: str) -> Any:
    if name in _CACHE_NAMES:
        from . import cache

        return getattr(cache, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

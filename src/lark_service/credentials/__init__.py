"""Access tokens: kept, shared and refreshed so callers never handle one.

:class:`CredentialPool` / :class:`AsyncCredentialPool` sit on a :class:`TokenStore`
(:class:`MemoryTokenStore` by default).
"""

from ._async_pool import AsyncCredentialPool, AsyncFetcher
from ._sync_pool import CredentialPool, Fetcher
from ._types import LockHandle, MemoryTokenStore, TokenKey, TokenKind, TokenRecord, TokenStore

__all__ = [
    "AsyncCredentialPool",
    "AsyncFetcher",
    "CredentialPool",
    "Fetcher",
    "LockHandle",
    "MemoryTokenStore",
    "TokenKey",
    "TokenKind",
    "TokenRecord",
    "TokenStore",
]

"""Access tokens: kept, shared and refreshed so callers never handle one.

:class:`CredentialPool` / :class:`AsyncCredentialPool` sit on a :class:`TokenStore`
(:class:`SqlTokenStore` in the state database when an encryption key is configured, see
:func:`open_token_store`; :class:`MemoryTokenStore` otherwise). See docs/credentials.md.
"""

from ._async_pool import AsyncCredentialPool, AsyncFetcher
from ._sql_store import SqlTokenStore, StoredToken, open_token_store
from ._sync_pool import CredentialPool, Fetcher
from ._types import LockHandle, MemoryTokenStore, TokenKey, TokenKind, TokenRecord, TokenStore

__all__ = [
    "AsyncCredentialPool",
    "AsyncFetcher",
    "CredentialPool",
    "Fetcher",
    "LockHandle",
    "MemoryTokenStore",
    "SqlTokenStore",
    "StoredToken",
    "TokenKey",
    "TokenKind",
    "TokenRecord",
    "TokenStore",
    "open_token_store",
]

"""Access tokens: kept, shared and refreshed so callers never handle one.

:class:`CredentialPool` / :class:`AsyncCredentialPool` sit on a :class:`TokenStore`
(:class:`SqlTokenStore` in the state database; without a configured encryption key a
:class:`HomeTokenStore` creates ``LARK_HOME`` and its key on first use, see
:func:`open_token_store`; :class:`MemoryTokenStore` where the home cannot be written).
:func:`reset_process_state` forgets the process-wide memory tokens and locks (test fixtures).
See docs/credentials.md.
"""

from ._async_pool import AsyncCredentialPool, AsyncFetcher
from ._sql_store import HomeTokenStore, SqlTokenStore, StoredToken, open_token_store
from ._sync_pool import CredentialPool, Fetcher
from ._types import LockHandle, MemoryTokenStore, TokenKey, TokenKind, TokenRecord, TokenStore
from .locks import reset_process_state

__all__ = [
    "AsyncCredentialPool",
    "AsyncFetcher",
    "CredentialPool",
    "Fetcher",
    "HomeTokenStore",
    "LockHandle",
    "MemoryTokenStore",
    "SqlTokenStore",
    "StoredToken",
    "TokenKey",
    "TokenKind",
    "TokenRecord",
    "TokenStore",
    "open_token_store",
    "reset_process_state",
]

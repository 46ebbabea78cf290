"""Process-wide state shared by every pool: the per-key locks and the default memory store."""

from __future__ import annotations

from .._concurrency import KeyedLocks
from ._types import MemoryTokenStore

__all__ = ["PROCESS_LOCKS", "shared_memory_store"]

#: One lock per token key for the whole process, taken by sync and async pools alike, so
#: threads and tasks of every client in the process make at most one fetch at a time.
PROCESS_LOCKS = KeyedLocks()

_MEMORY_STORE = MemoryTokenStore()


def shared_memory_store() -> MemoryTokenStore:
    """The process-wide in-memory store used when no persistent store is configured."""
    return _MEMORY_STORE

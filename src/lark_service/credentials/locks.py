"""Process-wide state shared by every pool: the per-key locks and the default memory store.

It is reset in a forked child (``os.register_at_fork``): a lock that a background refresh
thread of the parent held at fork time would otherwise stay taken forever in the child, where
that thread does not exist. Pools, stores and registries that hold their own locks register
with :func:`reset_after_fork` and get a fresh start too. :func:`reset_process_state` does the
same on demand (test fixtures).
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Protocol

from .._concurrency import KeyedLocks
from ._types import MemoryTokenStore

__all__ = [
    "PROCESS_LOCKS",
    "reset_after_fork",
    "reset_process_state",
    "shared_memory_store",
]


class _ProcessLocks(KeyedLocks):
    """:class:`KeyedLocks` that can start over (a forked child, a test reset)."""

    def reset(self) -> None:
        KeyedLocks.__init__(self)


#: One lock per token key for the whole process, taken by sync and async pools alike, so
#: threads and tasks of every client in the process make at most one fetch at a time.
PROCESS_LOCKS: KeyedLocks = _ProcessLocks()

_MEMORY_STORE = MemoryTokenStore()


class _Resettable(Protocol):
    def _after_fork(self) -> None: ...


_tracked: weakref.WeakSet[_Resettable] = weakref.WeakSet()


def shared_memory_store() -> MemoryTokenStore:
    """The process-wide in-memory store used when no persistent store is configured."""
    return _MEMORY_STORE


def reset_after_fork(obj: _Resettable) -> None:
    """Call ``obj._after_fork()`` in a forked child (and on :func:`reset_process_state`).

    Held weakly: registering keeps nothing alive.
    """
    _tracked.add(obj)


def _fresh_locks() -> None:
    assert isinstance(PROCESS_LOCKS, _ProcessLocks)
    PROCESS_LOCKS.reset()
    _MEMORY_STORE._guard = threading.Lock()
    for obj in list(_tracked):
        obj._after_fork()


def reset_process_state() -> None:
    """Start this process's credential state over: forget every token kept in the process-wide
    memory store, replace the per-key locks (and those of every live pool), and close the
    state database's circuit breakers.

    For test fixtures (the emulator's calls it before each test) and for code that must not
    reuse tokens fetched earlier in the process. Tokens a live pool holds in its own memory are
    kept; tokens in the state database are untouched (``lark-service token clear`` removes
    those). The once-per-process warnings (a read-only home, a database shared with another
    key) are said again after it. Do not call it while other threads are fetching tokens.
    """
    _MEMORY_STORE.clear()
    _fresh_locks()
    from ..storage.breaker import reset_breakers
    from ._sql_store import _reset_warnings

    reset_breakers()
    _reset_warnings()


def _after_fork_in_child() -> None:
    # The tokens themselves stay valid in the child; only locks and threads must not carry
    # over. Breakers and engines have their own hooks in lark_service.storage.
    _fresh_locks()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

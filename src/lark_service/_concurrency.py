"""Concurrency primitives in async/sync pairs, named so scripts/unasync.py maps one to the other.

``async_x`` / ``AsyncX`` in an ``_async_*.py`` source become ``x`` / ``X`` in its sync twin.
Tests patch :func:`sleep` / :func:`async_sleep` on this module to observe retry delays.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Sequence
from typing import Any, ParamSpec, TypeVar

__all__ = [
    "AsyncBackground",
    "AsyncKeyedLocks",
    "Background",
    "KeyedLocks",
    "async_blocking",
    "async_map_bounded",
    "async_pace",
    "async_sleep",
    "blocking",
    "map_bounded",
    "pace",
    "sleep",
]

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")


def sleep(seconds: float) -> None:
    time.sleep(seconds)


async def async_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def pace(seconds: float) -> None:
    """Wait for a pacing slot (kept apart from retry waits: tests that count retries patch
    :func:`sleep`, and pacing is observed through ``pacing.waited`` events instead)."""
    time.sleep(seconds)


async def async_pace(seconds: float) -> None:
    await asyncio.sleep(seconds)


def blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call ``fn`` (a blocking function); the async twin runs it in a worker thread."""
    return fn(*args, **kwargs)


async def async_blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking ``fn`` in a worker thread so the event loop keeps running."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def map_bounded(fn: Callable[[T], R], items: Sequence[T], limit: int) -> list[R]:
    """``[fn(item) for item in items]``, at most ``limit`` at a time in worker threads."""
    if limit <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    workers = min(limit, len(items))
    with ThreadPoolExecutor(workers, thread_name_prefix="lark-service-map") as pool:
        return list(pool.map(fn, items))


async def async_map_bounded(
    fn: Callable[[T], Awaitable[R]], items: Sequence[T], limit: int
) -> list[R]:
    """``[await fn(item) for item in items]``, at most ``limit`` at a time as tasks."""
    gate = asyncio.Semaphore(max(1, limit))

    async def run(item: T) -> R:
        async with gate:
            return await fn(item)

    return list(await asyncio.gather(*(run(item) for item in items)))


class KeyedLocks:
    """One ``threading.Lock`` per key, created on first use (or taken from ``shared``)."""

    def __init__(self, shared: KeyedLocks | None = None) -> None:
        self._shared = shared
        self._guard = threading.Lock()
        self._locks: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable) -> threading.Lock:
        if self._shared is not None:
            return self._shared.get(key)
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            return lock


class _ThreadAndTaskLock:
    """An async lock that also excludes other event loops' tasks (and sync threads).

    Holding a plain ``threading.Lock`` across an ``await`` would block the loop, so tasks of one
    loop queue on an ``asyncio.Lock`` and the one in front takes the thread lock in a worker
    thread.
    """

    def __init__(self, thread_lock: threading.Lock) -> None:
        self._thread_lock = thread_lock
        self._task_locks: dict[int, asyncio.Lock] = {}

    async def __aenter__(self) -> None:
        loop_lock = self._task_locks.setdefault(id(asyncio.get_running_loop()), asyncio.Lock())
        await loop_lock.acquire()
        try:
            if not self._thread_lock.acquire(blocking=False):
                await self._acquire_in_thread()
        except BaseException:
            loop_lock.release()
            raise

    async def _acquire_in_thread(self) -> None:
        """Wait for the thread lock in a worker thread. If this task is cancelled meanwhile,
        the lock must not stay taken by nobody: whichever side comes second releases it."""
        guard = threading.Lock()
        state = {"cancelled": False, "acquired": False}

        def acquire() -> None:
            self._thread_lock.acquire()
            with guard:
                if state["cancelled"]:
                    self._thread_lock.release()
                else:
                    state["acquired"] = True

        try:
            await asyncio.to_thread(acquire)
        except BaseException:
            with guard:
                state["cancelled"] = True
                if state["acquired"]:
                    self._thread_lock.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._thread_lock.release()
        self._task_locks[id(asyncio.get_running_loop())].release()


class AsyncKeyedLocks:
    """Per-key locks for async code, excluding tasks of every loop and sync threads alike."""

    def __init__(self, thread_locks: KeyedLocks | None = None) -> None:
        self._thread_locks = thread_locks or KeyedLocks()
        self._guard = threading.Lock()
        self._locks: dict[Hashable, _ThreadAndTaskLock] = {}

    def get(self, key: Hashable) -> _ThreadAndTaskLock:
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = _ThreadAndTaskLock(self._thread_locks.get(key))
            return lock


class Background:
    """Runs work in daemon threads; :meth:`wait` joins what is still running (for tests)."""

    def __init__(self) -> None:
        self._threads: set[threading.Thread] = set()
        self._guard = threading.Lock()

    def spawn(self, fn: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                fn()
            finally:
                with self._guard:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=run, name="lark-service-refresh", daemon=True)
        with self._guard:
            self._threads.add(thread)
        thread.start()

    def wait(self, timeout: float = 30.0) -> None:
        with self._guard:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)


class AsyncBackground:
    """Runs coroutines as tasks on the running loop, keeping references until they finish."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, fn: Callable[[], Coroutine[Any, Any, Any] | Awaitable[Any]]) -> None:
        async def run() -> None:
            await fn()

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self, timeout: float = 30.0) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

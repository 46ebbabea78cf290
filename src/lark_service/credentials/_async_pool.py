"""The credential pool: memory -> store -> one locked fetch, refreshed ahead of expiry."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from .. import _concurrency
from .._concurrency import AsyncBackground, AsyncKeyedLocks
from ..logging import get_logger
from ._types import Clock, TokenKey, TokenRecord, TokenStore
from .locks import PROCESS_LOCKS, shared_memory_store

__all__ = ["AsyncCredentialPool", "AsyncFetcher"]

logger = get_logger("lark_service.credentials")

P = ParamSpec("P")
T = TypeVar("T")

AsyncFetcher = Callable[[TokenKey], Awaitable[TokenRecord]]


class AsyncCredentialPool:
    """Hands out tokens; callers never fetch, cache or refresh one themselves.

    ``get_token`` answers from memory while more than ``refresh_fraction`` of the token's life
    is left; below that it still answers at once and starts one background refresh. On a miss
    it reads the store, then takes the per-key lock (threads and tasks of this process), then
    the store's cross-process lock, reads the store again and only then fetches.
    """

    def __init__(
        self,
        store: TokenStore | None = None,
        *,
        clock: Clock | None = None,
        refresh_fraction: float = 0.1,
        lock_timeout: float = 30.0,
    ) -> None:
        self.store: TokenStore = store if store is not None else shared_memory_store()
        self.clock: Clock = clock or time.time
        self.refresh_fraction = refresh_fraction
        self.lock_timeout = lock_timeout
        self._memory: dict[TokenKey, TokenRecord] = {}
        self._locks = AsyncKeyedLocks(PROCESS_LOCKS)
        self._refreshing: set[TokenKey] = set()
        self.background = AsyncBackground()

    async def get_token(self, key: TokenKey, fetch: AsyncFetcher) -> str:
        """The token for ``key``, fetching it with ``fetch`` only when nobody else has it."""
        now = self.clock()
        record = self._memory.get(key)
        if record is None or not record.is_usable(now):
            record = await self._load(key)
            if record is not None and record.is_usable(now):
                self._memory[key] = record
            else:
                record = await self._fetch_locked(key, fetch, reason="missing or expired")
                return record.value
        if record.wants_refresh(now, self.refresh_fraction) and key not in self._refreshing:
            self._refreshing.add(key)
            self.background.spawn(lambda: self._refresh(key, fetch, record))
        return record.value

    async def invalidate(self, key: TokenKey, value: str) -> None:
        """Forget exactly this token value (Feishu rejected it), in memory and in the store."""
        current = self._memory.get(key)
        if current is not None and current.value == value:
            del self._memory[key]
        try:
            await self._store_call(self.store.delete, key, value)
        except Exception:
            logger.exception("token store delete failed for %s", key)
        logger.info("evicted rejected token", extra={"lark_app_id": key.app_id})

    async def _refresh(self, key: TokenKey, fetch: AsyncFetcher, seen: TokenRecord) -> None:
        try:
            await self._fetch_locked(key, fetch, reason="proactive refresh", stale=seen)
        except Exception as exc:  # the current token still works; the next call tries again
            logger.warning("background refresh of %s failed: %s", key, exc)
        finally:
            self._refreshing.discard(key)

    async def _fetch_locked(
        self,
        key: TokenKey,
        fetch: AsyncFetcher,
        *,
        reason: str,
        stale: TokenRecord | None = None,
    ) -> TokenRecord:
        waited_from = time.perf_counter()
        async with self._locks.get(key):
            if self._fresh(self._memory.get(key), stale):
                return self._memory[key]
            handle = await self._store_call(self.store.lock, key, self.lock_timeout)
            try:
                lock_wait = time.perf_counter() - waited_from
                if lock_wait > 0.05:
                    logger.info("waited %.0f ms for the %s token lock", lock_wait * 1000, key)
                record = await self._load(key)
                if self._fresh(record, stale) and record is not None:
                    self._memory[key] = record
                    return record
                started = time.perf_counter()
                record = await fetch(key)
                logger.info(
                    "fetched %s token for %s (%s) in %.0f ms, valid %.0f s",
                    key.kind,
                    key.app_id,
                    reason,
                    (time.perf_counter() - started) * 1000,
                    record.lifetime,
                    extra={"lark_app_id": key.app_id},
                )
                try:
                    await self._store_call(self.store.save, record)
                except Exception:
                    logger.exception("token store write failed for %s; kept in memory", key)
                self._memory[key] = record
                return record
            finally:
                await self._store_call(handle.release)

    def _fresh(self, record: TokenRecord | None, stale: TokenRecord | None) -> bool:
        """Usable, and (for a refresh) not the very token we set out to replace."""
        if record is None:
            return False
        now = self.clock()
        if not record.is_usable(now):
            return False
        if stale is None:
            return True
        return record.value != stale.value and not record.wants_refresh(now, self.refresh_fraction)

    async def _load(self, key: TokenKey) -> TokenRecord | None:
        try:
            return await self._store_call(self.store.load, key)
        except Exception as exc:
            logger.error("token store unreadable (%s); treating as a miss", exc)
            return None

    async def _store_call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self.store.blocking:
            return await _concurrency.async_blocking(fn, *args, **kwargs)
        return fn(*args, **kwargs)

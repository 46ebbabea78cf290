# Generated from src/lark_service/credentials/_async_pool.py by scripts/unasync.py: edit that file instead.
"""The credential pool: memory -> store -> one locked fetch, refreshed ahead of expiry."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from .. import _concurrency, errors, instrumentation
from .._concurrency import Background, KeyedLocks
from ..logging import get_logger
from . import locks
from ._types import Clock, LockHandle, TokenKey, TokenRecord, TokenStore
from .locks import reset_after_fork, shared_memory_store

__all__ = ["CredentialPool", "Fetcher"]

logger = get_logger("lark_service.credentials")

P = ParamSpec("P")
T = TypeVar("T")

Fetcher = Callable[[TokenKey], TokenRecord]

#: Seconds (on the pool's clock) before a failed background refresh is tried again.
REFRESH_RETRY_AFTER = 10.0
_USABLE_MARGIN = 5.0  # TokenRecord.is_usable's default margin


class _NoLock:
    def release(self) -> None:
        return None


class CredentialPool:
    """Hands out tokens; callers never fetch, cache or refresh one themselves.

    ``get_token`` answers from memory while more than ``refresh_fraction`` of the token's life
    is left; below that it still answers at once and starts one background refresh. On a miss
    it reads the store, then takes the per-key lock (threads and tasks of this process), then
    the store's cross-process lock (``lock_timeout`` seconds at most, else
    :class:`~lark_service.errors.LockTimeoutError`), reads the store again and only then
    fetches. An unreachable store is a miss logged at ERROR: the pool keeps working from
    memory (a store whose circuit breaker is open answers at once, logged at DEBUG). Every
    fetch, refresh, eviction and lock wait is logged with the app, the token kind, the reason
    and the duration (never the token), and emitted as an instrumentation event
    (``token.fetched``, ``token.refreshed``, ``token.evicted``, ``token.lock_waited``,
    ``token.failed``, ``token.expiry``; ``subject`` is ``user`` or the token kind, never a
    user id).

    Fork-safe: in a child process the pool starts with fresh locks and no background work
    (a refresh the parent was running is not inherited); the tokens it holds stay valid.
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
        # The hot path: value and the time from which the slow path must look at the token.
        self._hot: dict[TokenKey, tuple[str, float]] = {}
        self._locks = KeyedLocks(locks.PROCESS_LOCKS)
        self._refreshing: set[TokenKey] = set()
        self._refresh_failed: dict[TokenKey, float] = {}
        self.background = Background()
        self._store_down_logged = False
        reset_after_fork(self)

    def _after_fork(self) -> None:
        """A forked child (or a process-state reset): new locks, no inherited background work."""
        self._locks = KeyedLocks(locks.PROCESS_LOCKS)
        self._refreshing = set()
        self._refresh_failed = {}
        self.background = Background()

    def get_token(self, key: TokenKey, fetch: Fetcher) -> str:
        """The token for ``key``, fetching it with ``fetch`` only when nobody else has it.

        Raises what ``fetch`` raises (e.g. :class:`~lark_service.errors.InvalidCredentialsError`)
        and :class:`~lark_service.errors.LockTimeoutError`.
        """
        now = self.clock()
        hot = self._hot.get(key)
        if hot is not None and now < hot[1]:
            return hot[0]
        return self._get_token_slow(key, fetch, now)

    def _get_token_slow(self, key: TokenKey, fetch: Fetcher, now: float) -> str:
        record = self._memory.get(key)
        if record is None or not record.is_usable(now):
            record = self._load(key)
            if record is not None and record.is_usable(now):
                self._remember(record)
            else:
                reason = "expired" if record is not None else "missing"
                record = self._fetch_locked(key, fetch, reason=reason)
                return record.value
        if record.wants_refresh(now, self.refresh_fraction) and key not in self._refreshing:
            failed_at = self._refresh_failed.get(key)
            if failed_at is None or now - failed_at >= REFRESH_RETRY_AFTER:
                self._refreshing.add(key)
                seen = record
                self.background.spawn(lambda: self._refresh(key, fetch, seen))
        return record.value

    def invalidate(self, key: TokenKey, value: str) -> None:
        """Forget exactly this token value (Feishu rejected it), in memory and in the store.

        A newer token that another thread or process already fetched is kept.
        """
        if key.kind == "user":
            self._expire_user_token(key, value)
            return
        started = time.perf_counter()
        current = self._memory.get(key)
        in_memory = current is not None and current.value == value
        if in_memory:
            self._memory.pop(key, None)
            self._hot.pop(key, None)
        instrumentation.emit(
            "token.evicted",
            key.app_id,
            kind=key.kind,
            subject=_subject(key),
            reason="token invalid",
        )
        try:
            self._store_call(self.store.delete, key, value)
        except Exception as exc:
            self._store_log(exc)(
                "token store unreachable while evicting the %s token of %s (%s)",
                key.kind,
                key.app_id,
                _describe(exc),
                extra=_extra(key, reason="store error"),
            )
        duration_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "evicted the rejected %s token of %s (%s) in %.1f ms",
            key.kind,
            key.app_id,
            "from memory and the store" if in_memory else "already replaced in memory; store",
            duration_ms,
            extra=_extra(key, reason="token invalid", duration_ms=round(duration_ms, 1)),
        )

    def _expire_user_token(self, key: TokenKey, value: str) -> None:
        """A rejected user access token: mark it expired, keeping the refresh token (the
        user's authorization), so the next call refreshes. Under both locks, so a record
        another process just rotated is never overwritten with a spent refresh token."""
        with self._locks.get(key):
            current = self._memory.get(key)
            if current is not None and current.value == value:
                self._memory.pop(key, None)
                self._hot.pop(key, None)
            handle = self._cross_process_lock(key, "token invalid")
            try:
                stored = self._load(key)
                if stored is not None and stored.value == value:
                    expired = dataclasses.replace(stored, expires_at=stored.issued_at)
                    self._store_call(self.store.save, expired)
                    self._memory[key] = expired
                elif current is not None and current.value == value and stored is None:
                    self._memory[key] = dataclasses.replace(current, expires_at=current.issued_at)
            except Exception as exc:
                self._store_log(exc)(
                    "token store unreachable while expiring the %s token of %s (%s)",
                    key.kind,
                    key.app_id,
                    _describe(exc),
                    extra=_extra(key, reason="store error"),
                )
            finally:
                with contextlib.suppress(Exception):  # a store failure was logged above
                    self._store_call(handle.release)
        instrumentation.emit(
            "token.evicted",
            key.app_id,
            kind=key.kind,
            subject=_subject(key),
            reason="token invalid",
        )

    def current(self, key: TokenKey) -> TokenRecord | None:
        """The newest record for ``key`` in memory or the store, usable or not (no fetch).

        User tokens: the refresh path reads the refresh token from here, under the lock."""
        record = self._memory.get(key)
        stored = self._load(key)
        if stored is not None and (record is None or stored.issued_at >= record.issued_at):
            return stored
        return record

    def put(self, record: TokenRecord) -> None:
        """Store ``record`` (a user's token from a completed authorization), then keep it in
        memory. Raises when the store cannot be written: a user token that only one process
        knows would be refreshed by another with a dead refresh token."""
        with self._locks.get(record.key):
            self._store_call(self.store.save, record)
            self._remember(record)
            self._refresh_failed.pop(record.key, None)

    def forget(self, key: TokenKey) -> None:
        """Drop ``key``'s token everywhere (memory and store): a user who revoked the app, or
        whose refresh token is dead, is no longer authorized."""
        self._memory.pop(key, None)
        self._hot.pop(key, None)
        try:
            self._store_call(self.store.delete, key)
        except Exception as exc:
            self._store_log(exc)(
                "token store unreachable while forgetting the %s token of %s (%s)",
                key.kind,
                key.app_id,
                _describe(exc),
                extra=_extra(key, reason="store error"),
            )
        instrumentation.emit(
            "token.evicted",
            key.app_id,
            kind=key.kind,
            subject=_subject(key),
            reason="authorization ended",
        )

    def _refresh(self, key: TokenKey, fetch: Fetcher, seen: TokenRecord) -> None:
        try:
            self._fetch_locked(key, fetch, reason="proactive refresh", stale=seen)
        except Exception as exc:  # the current token still works; a later call tries again
            self._refresh_failed[key] = self.clock()  # token.failed was emitted already
            logger.warning(
                "background refresh of the %s token of %s failed: %s",
                key.kind,
                key.app_id,
                _describe(exc),
                extra=_extra(key, reason="proactive refresh"),
            )
        else:
            self._refresh_failed.pop(key, None)
            instrumentation.emit(
                "token.refreshed", key.app_id, kind=key.kind, subject=_subject(key)
            )
        finally:
            self._refreshing.discard(key)

    def _fetch_locked(
        self,
        key: TokenKey,
        fetch: Fetcher,
        *,
        reason: str,
        stale: TokenRecord | None = None,
    ) -> TokenRecord:
        waited_from = time.perf_counter()
        with self._locks.get(key):
            if self._fresh(self._memory.get(key), stale):
                self._log_wait(key, reason, waited_from, "another thread fetched it")
                return self._memory[key]
            handle = self._cross_process_lock(key, reason)
            try:
                record = self._load(key)
                if self._fresh(record, stale) and record is not None:
                    self._log_wait(key, reason, waited_from, "another process fetched it")
                    self._remember(record)
                    return record
                self._log_wait(key, reason, waited_from, "fetching")
                started = time.perf_counter()
                try:
                    record = fetch(key)
                except Exception as exc:
                    if instrumentation.enabled():
                        instrumentation.emit(
                            "token.fetched",
                            key.app_id,
                            kind=key.kind,
                            subject=_subject(key),
                            duration=time.perf_counter() - started,
                            outcome=type(exc).__name__,
                        )
                        instrumentation.emit(
                            "token.failed", key.app_id, kind=key.kind, error=type(exc).__name__
                        )
                    logger.warning(
                        "fetching the %s token of %s (%s) failed after %.0f ms: %s",
                        key.kind,
                        key.app_id,
                        reason,
                        (time.perf_counter() - started) * 1000,
                        _describe(exc),
                        extra=_extra(key, reason=reason, duration_ms=_ms(started)),
                    )
                    raise
                logger.info(
                    "fetched the %s token of %s (%s) in %.0f ms, valid %.0f s",
                    key.kind,
                    key.app_id,
                    reason,
                    (time.perf_counter() - started) * 1000,
                    record.lifetime,
                    extra=_extra(
                        key, reason=reason, duration_ms=_ms(started), lifetime=record.lifetime
                    ),
                )
                instrumentation.emit(
                    "token.fetched",
                    key.app_id,
                    kind=key.kind,
                    subject=_subject(key),
                    duration=time.perf_counter() - started,
                    outcome="ok",
                )
                try:
                    self._store_call(self.store.save, record)
                except Exception as exc:
                    self._store_log(exc)(
                        "token store unreachable: the %s token of %s is kept in memory only (%s)",
                        key.kind,
                        key.app_id,
                        _describe(exc),
                        extra=_extra(key, reason="store error"),
                    )
                self._remember(record)
                return record
            finally:
                try:
                    self._store_call(handle.release)
                except Exception as exc:
                    self._store_log(exc)(
                        "releasing the %s token lock of %s failed (%s)",
                        key.kind,
                        key.app_id,
                        _describe(exc),
                        extra=_extra(key, reason="store error"),
                    )

    def _cross_process_lock(self, key: TokenKey, reason: str) -> LockHandle:
        """The store's lock for ``key``; an unreachable store means no cross-process lock."""
        try:
            return self._store_call(self.store.lock, key, self.lock_timeout)
        except errors.LockTimeoutError:
            instrumentation.emit(
                "token.failed", key.app_id, kind=key.kind, error="LockTimeoutError"
            )
            logger.error(
                "gave up waiting %.0f s for the %s token lock of %s (%s)",
                self.lock_timeout,
                key.kind,
                key.app_id,
                reason,
                extra=_extra(key, reason=reason, duration_ms=self.lock_timeout * 1000),
            )
            raise
        except Exception as exc:
            self._store_log(exc)(
                "token store unreachable: fetching the %s token of %s without the "
                "cross-process lock (%s)",
                key.kind,
                key.app_id,
                _describe(exc),
                extra=_extra(key, reason="store error"),
            )
            return _NoLock()

    def _remember(self, record: TokenRecord) -> None:
        """Keep ``record`` in memory; calls take the hot path until it is due for refresh."""
        self._memory[record.key] = record
        refresh_at = record.expires_at - record.lifetime * self.refresh_fraction
        usable_until = record.expires_at - _USABLE_MARGIN
        self._hot[record.key] = (record.value, min(refresh_at, usable_until))
        if instrumentation.enabled():
            key = record.key
            instrumentation.emit(
                "token.expiry",
                key.app_id,
                kind=key.kind,
                subject=_subject(key),
                expires_in=record.expires_at - self.clock(),
            )

    def _store_log(self, exc: BaseException) -> Callable[..., None]:
        """ERROR for a store failure; DEBUG when the store's circuit breaker refused the call
        at once and this pool has logged the store as unreachable already (log once)."""
        if getattr(exc, "short_circuited", False) and self._store_down_logged:
            return logger.debug
        self._store_down_logged = True
        return logger.error

    def _log_wait(self, key: TokenKey, reason: str, waited_from: float, outcome: str) -> None:
        instrumentation.emit(
            "token.lock_waited",
            key.app_id,
            kind=key.kind,
            wait=time.perf_counter() - waited_from,
            outcome=outcome,
        )
        logger.info(
            "waited %.1f ms for the %s token lock of %s (%s); %s",
            (time.perf_counter() - waited_from) * 1000,
            key.kind,
            key.app_id,
            reason,
            outcome,
            extra=_extra(key, reason=reason, duration_ms=_ms(waited_from), outcome=outcome),
        )

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

    def _load(self, key: TokenKey) -> TokenRecord | None:
        try:
            return self._store_call(self.store.load, key)
        except Exception as exc:
            self._store_log(exc)(
                "token store unreadable, treating the %s token of %s as a miss (%s)",
                key.kind,
                key.app_id,
                _describe(exc),
                extra=_extra(key, reason="store error"),
            )
            return None

    def _store_call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self.store.blocking:
            return _concurrency.blocking(fn, *args, **kwargs)
        return fn(*args, **kwargs)


def _subject(key: TokenKey) -> str:
    """The kind of subject (``user`` for user tokens, else the token kind): never a user id."""
    return "user" if key.subject else key.kind


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def _describe(exc: BaseException) -> str:
    """A short description of a store or fetch failure (no SQL, no parameters)."""
    if isinstance(exc, errors.LarkError):
        return f"{type(exc).__name__}: {exc.msg}"
    orig = getattr(exc, "orig", None)
    if orig is not None:  # SQLAlchemy's own text adds the SQL: show only the driver's first line
        detail = (str(orig).strip().splitlines() or [""])[0][:200]
        return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _extra(key: TokenKey, **fields: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {"lark_app_id": key.app_id, "lark_token_kind": key.kind}
    extra.update({f"lark_{name}": value for name, value in fields.items()})
    return extra

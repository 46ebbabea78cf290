"""A circuit breaker per database: an unreachable store is skipped for a while, not waited on.

A database that accepts connections but never answers costs a connect timeout (5 s) on every
call that touches it; a token miss touches it three or four times. :class:`StoreBreaker`
remembers the failure: for ``retry_after`` seconds calls are refused at once
(:class:`~lark_service.errors.StorageUnavailableError` with ``short_circuited=True``), so the
credential pool goes straight to memory and Feishu. When the interval is over, one background
thread probes the database; calls keep being refused until the probe succeeds, and are let
through again as soon as it does.

This module does not import SQLAlchemy.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from ..errors import StorageUnavailableError
from ..logging import get_logger

__all__ = ["RETRY_AFTER", "StoreBreaker", "breaker_for", "reset_breakers"]

RETRY_AFTER = 15.0
"""Seconds an unreachable database is skipped before it is probed again (in the background)."""

_log = get_logger("lark_service.storage")


class StoreBreaker:
    """Open after one failure; refuse calls until a background probe succeeds.

    ``clock`` (monotonic seconds) is injectable for tests; ``name`` is shown in logs and must
    not hold a password.
    """

    def __init__(
        self,
        name: str,
        *,
        retry_after: float = RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.retry_after = retry_after
        self.clock = clock
        self._guard = threading.Lock()
        self._retry_at: float | None = None
        self._reason = ""
        self._probe: threading.Thread | None = None

    @property
    def is_open(self) -> bool:
        return self._retry_at is not None

    def check(self, probe: Callable[[], object]) -> None:
        """Return when calls may go to the database; else raise at once.

        When the interval is over, starts ``probe`` in a background thread (one at a time);
        its success closes the breaker, its failure keeps it open another interval.
        """
        if self._retry_at is None:
            return
        start = False
        with self._guard:
            retry_at = self._retry_at
            if retry_at is None:
                return
            if self.clock() >= retry_at and self._probe is None:
                self._probe = threading.Thread(
                    target=self._run_probe, args=(probe,), name="lark-service-probe", daemon=True
                )
                start = True
            thread = self._probe
        if start and thread is not None:
            thread.start()
        error = StorageUnavailableError(
            f"{self.name} was unreachable ({self._reason}); skipped until a background probe "
            "reaches it",
            hint="Check that the database answers; calls are served from memory meanwhile.",
        )
        error.short_circuited = True  # type: ignore[attr-defined]
        raise error

    def failure(self, reason: str) -> bool:
        """Record a failed call; return True when this opened the breaker (log it then)."""
        with self._guard:
            opened = self._retry_at is None
            self._retry_at = self.clock() + self.retry_after
            self._reason = reason
        return opened

    def success(self) -> None:
        """Record a call that reached the database."""
        if self._retry_at is None:
            return
        with self._guard:
            was_open = self._retry_at is not None
            self._retry_at = None
        if was_open:
            _log.info("%s is reachable again", self.name)

    def wait_probe(self, timeout: float = 30.0) -> None:
        """Join a running background probe (tests)."""
        thread = self._probe
        if thread is not None:
            thread.join(timeout)

    def reset(self) -> None:
        """Forget everything (a forked child, :func:`reset_breakers`)."""
        self._guard = threading.Lock()
        self._retry_at = None
        self._reason = ""
        self._probe = None

    def _run_probe(self, probe: Callable[[], object]) -> None:
        try:
            probe()
        except Exception as exc:
            with self._guard:
                self._retry_at = self.clock() + self.retry_after
                self._reason = _describe(exc)
            _log.debug("%s still unreachable (%s)", self.name, self._reason)
        else:
            self.success()
        finally:
            with self._guard:
                self._probe = None


_breakers: dict[str, StoreBreaker] = {}
_breakers_guard = threading.Lock()


def breaker_for(key: str, name: str) -> StoreBreaker:
    """The process-wide breaker of the database ``key`` (a normalised URL)."""
    breaker = _breakers.get(key)
    if breaker is not None:
        return breaker
    with _breakers_guard:
        return _breakers.setdefault(key, StoreBreaker(name))


def reset_breakers() -> None:
    """Close every breaker (tests; a forked child starts with none open)."""
    for breaker in list(_breakers.values()):
        breaker.reset()


def _describe(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    detail = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"{type(orig).__name__}: {detail}" if detail else type(orig).__name__


def _after_fork_in_child() -> None:
    global _breakers_guard
    _breakers_guard = threading.Lock()
    reset_breakers()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

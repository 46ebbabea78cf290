"""Retry decisions as data: which failures are retried, and how long to wait before each."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .errors import LarkError, RateLimitedError, TokenInvalidError, TransportError

__all__ = ["DEFAULT_RETRY", "NO_RETRY", "RetryDecision", "RetryPolicy"]


@dataclass(frozen=True)
class RetryDecision:
    """Retry after ``delay`` seconds, for ``reason`` (logged)."""

    delay: float
    reason: str


@dataclass(frozen=True)
class RetryPolicy:
    """How a call is retried.

    ``max_retries`` retries after the first attempt, waiting ``base_delay * 2**n`` (capped by
    ``max_delay``) with up to ``jitter`` of it added at random. Rate limits wait the server's
    ``x-ogw-ratelimit-reset`` when given, else ``rate_limit_delay``. ``total_budget`` caps the
    sum of all waits of one call: a retry that would exceed it is not made.
    """

    max_retries: int = 3
    base_delay: float = 1.0
    max_delay: float = 8.0
    jitter: float = 0.1
    rate_limit_delay: float = 30.0
    total_budget: float = 60.0

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """The wait before retry ``retry_number`` (0-based), jitter included."""
        base = min(self.base_delay * 2.0**retry_number, self.max_delay)
        draw = rng.random() if rng is not None else random.random()
        spread = draw * self.jitter * base
        return base + spread

    def decide(
        self,
        error: LarkError,
        *,
        retry_number: int,
        waited: float,
        idempotent: bool = True,
        rng: random.Random | None = None,
    ) -> RetryDecision | None:
        """Whether to retry after ``error`` (``retry_number`` retries made, ``waited`` s spent).

        A call that is not ``idempotent`` (an edit, a recall, an upload) is retried only when
        Feishu surely did not process it: a rate limit, or a connection that was never made.
        """
        if retry_number >= self.max_retries or not error.retryable:
            return None
        if isinstance(error, TokenInvalidError):
            return None  # the token refresh path handles these, once
        if not idempotent and not _surely_unprocessed(error):
            return None
        if isinstance(error, RateLimitedError):
            delay = error.retry_after if error.retry_after is not None else self.rate_limit_delay
            reason = f"rate limited (code {error.code}, http {error.http_status})"
        else:
            delay = self.backoff(retry_number, rng)
            reason = type(error).__name__ + (f" (code {error.code})" if error.code else "")
            if error.http_status:
                reason += f" http {error.http_status}"
        if waited + delay > self.total_budget:
            return None
        return RetryDecision(delay=max(0.0, delay), reason=reason)


def _surely_unprocessed(error: LarkError) -> bool:
    if isinstance(error, RateLimitedError):
        return True
    return isinstance(error, TransportError) and not error.request_sent


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(max_retries=0)

"""Per-API-key token buckets: ``rate`` tokens a second, at most ``burst`` saved up.

Two stores behind one method, :meth:`take`:

- :class:`LocalBuckets` (default): in this process. Several server processes each give a key
  its whole rate (N processes: up to N x rate).
- :class:`RedisBuckets` (``LARK_REDIS_URL``): one bucket per key shared by every process and
  host, updated atomically by a Lua script on the Redis server's clock. When Redis cannot be
  reached the gateway falls back to the local buckets (logged once) rather than refusing
  every request.

The answer carries what the ``RateLimit-*`` headers say (IETF draft
``draft-ietf-httpapi-ratelimit-headers``): the limit (the burst), the tokens left and the
seconds until the bucket is full again; a refusal carries the seconds until one token.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Bucket", "Buckets", "LocalBuckets", "RedisBuckets", "Take"]

_log = logging.getLogger("lark_service.gateway")


@dataclass(frozen=True)
class Take:
    """One attempt to take a token."""

    allowed: bool
    limit: int
    remaining: int
    reset: float
    """Seconds until the bucket is full again."""
    retry_after: float = 0.0
    """When refused: seconds until one token is there."""

    def headers(self) -> dict[str, str]:
        """``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` (and
        ``Retry-After`` when refused)."""
        values = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(max(0, math.ceil(self.reset))),
        }
        if not self.allowed:
            values["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return values


@dataclass(frozen=True)
class Bucket:
    rate: float
    burst: int


class Buckets(Protocol):
    def take(self, key: str, bucket: Bucket) -> Take: ...


def _answer(tokens: float, bucket: Bucket, allowed: bool) -> Take:
    remaining = max(0, math.floor(tokens))
    reset = (bucket.burst - tokens) / bucket.rate
    retry = 0.0 if allowed else (1.0 - tokens) / bucket.rate
    return Take(allowed, bucket.burst, remaining, max(0.0, reset), max(0.0, retry))


class LocalBuckets:
    """Token buckets in this process (thread-safe; ``clock`` injectable for tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, bucket: Bucket) -> Take:
        now = self.clock()
        with self._lock:
            tokens, last = self._state.get(key, (float(bucket.burst), now))
            tokens = min(float(bucket.burst), tokens + max(0.0, now - last) * bucket.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._state[key] = (tokens, now)
        return _answer(tokens, bucket, allowed)


_TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if ARGV[3] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then tokens = burst; at = now end
if now > at then tokens = math.min(burst, tokens + (now - at) * rate) end
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(math.max(now, at)))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


class RedisBuckets:
    """Token buckets in Redis, shared by every server process and host (redis-py).

    ``clock``: None (default) uses the Redis server's ``TIME`` so hosts need not agree;
    inject one in tests. Keys are ``<prefix>:<api key id>``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        clock: Callable[[], float] | None = None,
        prefix: str = "lark:gateway:bucket",
        timeout: float = 0.5,
        fallback: Buckets | None = None,
    ) -> None:
        self.errors: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OSError)
        if client is None:
            import redis

            client = redis.Redis.from_url(
                url or "redis://127.0.0.1:6379/0",
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
            )
            self.errors = (redis.RedisError, OSError)
        self.client = client
        self.clock = clock
        self.prefix = prefix
        self.fallback = fallback or LocalBuckets()
        self._script = client.register_script(_TAKE_SCRIPT)
        self._warned = False

    def take(self, key: str, bucket: Bucket) -> Take:
        now = "" if self.clock is None else repr(float(self.clock()))
        try:
            allowed, tokens = self._script(
                keys=[f"{self.prefix}:{key}"], args=[repr(bucket.rate), bucket.burst, now]
            )
        except self.errors as exc:
            if not self._warned:
                _log.error("gateway rate limits: Redis unreachable (%s); per process now", exc)
                self._warned = True
            return self.fallback.take(key, bucket)
        self._warned = False
        if isinstance(tokens, bytes):
            tokens = tokens.decode()
        return _answer(float(tokens), bucket, bool(int(allowed)))

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing is best effort
            self.client.close()

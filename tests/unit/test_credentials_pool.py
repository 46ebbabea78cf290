"""The credential pool on its own: memory, store, locks, background refresh, faults and logs."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field

import pytest

from lark_service import errors
from lark_service.credentials import (
    AsyncCredentialPool,
    CredentialPool,
    LockHandle,
    MemoryTokenStore,
    TokenKey,
    TokenRecord,
)

KEY = TokenKey("cli_pool", "fp0001", "tenant")
OTHER = TokenKey("cli_pool", "fp0002", "tenant")


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Fetcher:
    """Issues t-1, t-2, … with ``lifetime`` seconds, counting calls; ``gate`` holds them."""

    clock: FakeClock
    lifetime: float = 7200.0
    calls: list[TokenKey] = field(default_factory=list)
    gate: threading.Event | None = None
    fail_with: Exception | None = None

    def __call__(self, key: TokenKey) -> TokenRecord:
        self.calls.append(key)
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.fail_with is not None:
            raise self.fail_with
        now = self.clock()
        return TokenRecord(
            key=key,
            value=f"t-{len(self.calls)}",
            expires_at=now + self.lifetime,
            issued_at=now,
        )

    async def async_call(self, key: TokenKey) -> TokenRecord:
        return self(key)


class BrokenStore:
    """A store whose database is down: every call raises."""

    blocking = True

    def __init__(self, exc: Exception | None = None) -> None:
        self.exc = exc or OSError("connection refused")
        self.calls = 0

    def _fail(self) -> None:
        self.calls += 1
        raise self.exc

    def load(self, key: TokenKey) -> TokenRecord | None:
        self._fail()
        return None

    def save(self, record: TokenRecord) -> None:
        self._fail()

    def delete(self, key: TokenKey, value: str | None = None) -> None:
        self._fail()

    def lock(self, key: TokenKey, timeout: float) -> LockHandle:
        self._fail()
        raise AssertionError


class TimeoutStore(MemoryTokenStore):
    def lock(self, key: TokenKey, timeout: float) -> LockHandle:
        raise errors.LockTimeoutError(f"lock of {key} not acquired in {timeout} s")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fetcher(clock: FakeClock) -> Fetcher:
    return Fetcher(clock)


def make_pool(clock: FakeClock, store: object | None = None) -> CredentialPool:
    return CredentialPool(store or MemoryTokenStore(), clock=clock)  # type: ignore[arg-type]


def test_memory_hit_does_not_fetch_again(clock: FakeClock, fetcher: Fetcher) -> None:
    pool = make_pool(clock)
    assert pool.get_token(KEY, fetcher) == "t-1"
    clock.advance(3600)
    assert pool.get_token(KEY, fetcher) == "t-1"
    assert len(fetcher.calls) == 1


def test_a_second_pool_on_the_same_store_reads_the_stored_token(
    clock: FakeClock, fetcher: Fetcher
) -> None:
    store = MemoryTokenStore()
    make_pool(clock, store).get_token(KEY, fetcher)
    assert make_pool(clock, store).get_token(KEY, fetcher) == "t-1"
    assert len(fetcher.calls) == 1


def test_keys_differing_only_by_secret_fingerprint_never_share_a_token(
    clock: FakeClock, fetcher: Fetcher
) -> None:
    pool = make_pool(clock)
    assert pool.get_token(KEY, fetcher) == "t-1"
    assert pool.get_token(OTHER, fetcher) == "t-2"


def test_expired_token_is_refetched_synchronously(clock: FakeClock, fetcher: Fetcher) -> None:
    pool = make_pool(clock)
    pool.get_token(KEY, fetcher)
    clock.advance(7200)
    assert pool.get_token(KEY, fetcher) == "t-2"
    assert len(fetcher.calls) == 2


def test_last_tenth_of_life_answers_at_once_and_refreshes_once_in_background(
    clock: FakeClock, fetcher: Fetcher
) -> None:
    pool = make_pool(clock)
    pool.get_token(KEY, fetcher)
    clock.advance(7200 * 0.9 + 1)
    fetcher.gate = threading.Event()  # the refresh blocks until we let it go
    answers = [pool.get_token(KEY, fetcher) for _ in range(20)]
    assert answers == ["t-1"] * 20  # nobody waited for the fetch
    fetcher.gate.set()
    pool.background.wait()
    assert len(fetcher.calls) == 2
    assert pool.get_token(KEY, fetcher) == "t-2"
    assert len(fetcher.calls) == 2


def test_failed_background_refresh_keeps_the_token_and_retries_later(
    clock: FakeClock, fetcher: Fetcher, caplog: pytest.LogCaptureFixture
) -> None:
    pool = make_pool(clock)
    pool.get_token(KEY, fetcher)
    clock.advance(7200 * 0.95)
    fetcher.fail_with = errors.ServerError("busy")
    with caplog.at_level(logging.WARNING, "lark_service"):
        assert pool.get_token(KEY, fetcher) == "t-1"
        pool.background.wait()
    assert "background refresh" in caplog.text
    assert pool.get_token(KEY, fetcher) == "t-1"
    pool.background.wait()
    assert len(fetcher.calls) == 2  # not retried at once
    clock.advance(11)
    fetcher.fail_with = None
    assert pool.get_token(KEY, fetcher) == "t-1"
    pool.background.wait()
    assert len(fetcher.calls) == 3
    assert pool.get_token(KEY, fetcher) == "t-3"


def test_threads_of_a_cold_start_make_one_fetch(clock: FakeClock, fetcher: Fetcher) -> None:
    pool = make_pool(clock)
    fetcher.gate = threading.Event()
    barrier = threading.Barrier(30)
    results: list[str] = []

    def worker() -> None:
        barrier.wait()
        results.append(pool.get_token(KEY, fetcher))

    threads = [threading.Thread(target=worker) for _ in range(30)]
    for thread in threads:
        thread.start()
    while not fetcher.calls:  # one thread is inside the fetch; the others queue
        threading.Event().wait(0.001)
    fetcher.gate.set()
    for thread in threads:
        thread.join(10)
    assert results == ["t-1"] * 30
    assert len(fetcher.calls) == 1


def test_tasks_of_a_cold_start_make_one_fetch(clock: FakeClock, fetcher: Fetcher) -> None:
    pool = AsyncCredentialPool(MemoryTokenStore(), clock=clock)

    async def slow_fetch(key: TokenKey) -> TokenRecord:
        await asyncio.sleep(0)  # let every task reach the lock
        return fetcher(key)

    async def main() -> list[str]:
        return await asyncio.gather(*(pool.get_token(KEY, slow_fetch) for _ in range(40)))

    assert asyncio.run(main()) == ["t-1"] * 40
    assert len(fetcher.calls) == 1


def test_async_refresh_runs_as_one_background_task(clock: FakeClock, fetcher: Fetcher) -> None:
    pool = AsyncCredentialPool(MemoryTokenStore(), clock=clock)

    async def main() -> list[str]:
        await pool.get_token(KEY, fetcher.async_call)
        clock.advance(7000)
        first = [await pool.get_token(KEY, fetcher.async_call) for _ in range(5)]
        await pool.background.wait()
        return [*first, await pool.get_token(KEY, fetcher.async_call)]

    assert asyncio.run(main()) == ["t-1"] * 5 + ["t-2"]
    assert len(fetcher.calls) == 2


def test_invalidate_evicts_exactly_the_rejected_value(clock: FakeClock, fetcher: Fetcher) -> None:
    store = MemoryTokenStore()
    pool = make_pool(clock, store)
    pool.get_token(KEY, fetcher)
    pool.invalidate(KEY, "t-other")  # a stale rejection of some older token
    assert pool.get_token(KEY, fetcher) == "t-1"
    pool.invalidate(KEY, "t-1")
    assert store.load(KEY) is None
    assert pool.get_token(KEY, fetcher) == "t-2"
    assert len(fetcher.calls) == 2


def test_unreachable_store_is_a_miss_logged_at_error_and_memory_keeps_working(
    clock: FakeClock, fetcher: Fetcher, caplog: pytest.LogCaptureFixture
) -> None:
    store = BrokenStore()
    pool = make_pool(clock, store)
    with caplog.at_level(logging.INFO, "lark_service"):
        assert pool.get_token(KEY, fetcher) == "t-1"
        assert pool.get_token(KEY, fetcher) == "t-1"
        pool.invalidate(KEY, "t-1")
        assert pool.get_token(KEY, fetcher) == "t-2"
    errors_logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors_logged, "an unreachable store must be logged at ERROR"
    assert all("connection refused" in r.getMessage() for r in errors_logged)
    assert {r.lark_app_id for r in errors_logged} == {"cli_pool"}  # type: ignore[attr-defined]
    assert len(fetcher.calls) == 2


def test_lock_timeout_is_raised_to_the_caller(clock: FakeClock, fetcher: Fetcher) -> None:
    pool = make_pool(clock, TimeoutStore())
    with pytest.raises(errors.LockTimeoutError):
        pool.get_token(KEY, fetcher)
    assert fetcher.calls == []


def test_fetch_failure_propagates_without_caching(clock: FakeClock, fetcher: Fetcher) -> None:
    pool = make_pool(clock)
    fetcher.fail_with = errors.InvalidCredentialsError("app secret invalid", code=10014)
    with pytest.raises(errors.InvalidCredentialsError):
        pool.get_token(KEY, fetcher)
    fetcher.fail_with = None
    assert pool.get_token(KEY, fetcher) == "t-2"


def test_fetch_refresh_eviction_and_lock_wait_are_logged_with_app_kind_reason_duration(
    clock: FakeClock, fetcher: Fetcher, caplog: pytest.LogCaptureFixture
) -> None:
    pool = make_pool(clock)
    with caplog.at_level(logging.INFO, "lark_service.credentials"):
        pool.get_token(KEY, fetcher)
        clock.advance(7000)
        pool.get_token(KEY, fetcher)
        pool.background.wait()
        pool.invalidate(KEY, "t-2")
    records = [r for r in caplog.records if r.name == "lark_service.credentials"]

    def having(word: str) -> list[logging.LogRecord]:
        return [r for r in records if word in r.getMessage()]

    fetched = having("fetched")
    assert [r.lark_reason for r in fetched] == ["missing", "proactive refresh"]  # type: ignore[attr-defined]
    assert having("waited") and having("evicted")
    for record in [*fetched, *having("waited")]:
        assert record.lark_app_id == "cli_pool"  # type: ignore[attr-defined]
        assert record.lark_token_kind == "tenant"  # type: ignore[attr-defined]
        assert record.lark_duration_ms >= 0  # type: ignore[attr-defined]
    assert having("evicted")[0].lark_reason == "token invalid"  # type: ignore[attr-defined]
    assert not any("t-1" in r.getMessage() or "t-2" in r.getMessage() for r in records)


def test_store_values_are_not_handed_out_after_they_expire(
    clock: FakeClock, fetcher: Fetcher
) -> None:
    store = MemoryTokenStore()
    now = clock()
    store.save(TokenRecord(KEY, "t-old", expires_at=now + 3, issued_at=now - 7197))
    assert make_pool(clock, store).get_token(KEY, fetcher) == "t-1"

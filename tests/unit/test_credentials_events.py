"""The credential pool's instrumentation events (issue 9.5): fetched, refreshed, evicted,
lock_waited, failed and expiry, with the kind of subject, never a user id."""

from __future__ import annotations

import asyncio

import pytest

from lark_service import errors, instrumentation
from lark_service.credentials import AsyncCredentialPool, MemoryTokenStore, TokenKey

from .test_credentials_pool import KEY, FakeClock, Fetcher, make_pool

USER_KEY = TokenKey("cli_pool", "fp0001", "user", "ou_secret_user_id")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fetcher(clock: FakeClock) -> Fetcher:
    return Fetcher(clock)


def test_fetch_refresh_eviction_and_expiry_are_emitted(clock: FakeClock, fetcher: Fetcher) -> None:
    pool = make_pool(clock)
    with instrumentation.EventRecorder(prefix="token.") as events:
        pool.get_token(KEY, fetcher)
        clock.advance(7000)  # below a tenth of its life: a background refresh
        pool.get_token(KEY, fetcher)
        pool.background.wait()
        pool.invalidate(KEY, "t-2")
    names = events.names()
    assert names.count("token.fetched") == 2
    assert "token.refreshed" in names and "token.evicted" in names
    assert "token.lock_waited" in names and "token.expiry" in names
    fetched = events.named("token.fetched")[0]
    assert fetched.app_id == "cli_pool"
    assert fetched["kind"] == "tenant" and fetched["subject"] == "tenant"
    assert fetched["outcome"] == "ok" and fetched["duration"] >= 0
    (evicted,) = events.named("token.evicted")
    assert evicted["reason"] == "token invalid" and evicted["kind"] == "tenant"
    waited = events.named("token.lock_waited")[0]
    assert waited["kind"] == "tenant" and waited["wait"] >= 0
    expiry = events.named("token.expiry")[0]
    assert expiry["expires_in"] == pytest.approx(7200.0)


def test_a_failed_fetch_is_emitted_with_the_error_class(clock: FakeClock, fetcher: Fetcher) -> None:
    pool = make_pool(clock)
    fetcher.fail_with = errors.InvalidCredentialsError("app secret invalid", code=10014)
    with instrumentation.EventRecorder(prefix="token.") as events:
        with pytest.raises(errors.InvalidCredentialsError):
            pool.get_token(KEY, fetcher)
    (failed,) = events.named("token.failed")
    assert failed["kind"] == "tenant" and failed["error"] == "InvalidCredentialsError"
    (fetched,) = events.named("token.fetched")
    assert fetched["outcome"] == "InvalidCredentialsError"


def test_user_tokens_carry_the_kind_of_subject_never_the_user_id(
    clock: FakeClock, fetcher: Fetcher
) -> None:
    pool = make_pool(clock)
    with instrumentation.EventRecorder(prefix="token.") as events:
        pool.get_token(USER_KEY, fetcher)
        pool.invalidate(USER_KEY, "t-1")
    assert events.events
    for event in events.events:
        assert "ou_secret_user_id" not in repr(event.fields)
        if "subject" in event.fields:
            assert event["subject"] == "user"


def test_the_async_pool_emits_the_same_events(clock: FakeClock, fetcher: Fetcher) -> None:
    pool = AsyncCredentialPool(MemoryTokenStore(), clock=clock)

    async def run() -> None:
        await pool.get_token(KEY, fetcher.async_call)
        await pool.invalidate(KEY, "t-1")

    with instrumentation.EventRecorder(prefix="token.") as events:
        asyncio.run(run())
    assert {"token.fetched", "token.expiry", "token.lock_waited", "token.evicted"} <= set(
        events.names()
    )


def test_a_failed_background_refresh_is_one_failure(clock: FakeClock, fetcher: Fetcher) -> None:
    pool = make_pool(clock)
    pool.get_token(KEY, fetcher)
    clock.advance(7000)
    fetcher.fail_with = errors.ServerError("busy")
    with instrumentation.EventRecorder(prefix="token.") as events:
        assert pool.get_token(KEY, fetcher) == "t-1"
        pool.background.wait()
    assert [e["error"] for e in events.named("token.failed")] == ["ServerError"]
    assert events.named("token.refreshed") == []


def test_a_lock_timeout_is_a_failure(clock: FakeClock, fetcher: Fetcher) -> None:
    from .test_credentials_pool import TimeoutStore

    pool = make_pool(clock, TimeoutStore())
    with instrumentation.EventRecorder(prefix="token.") as events:
        with pytest.raises(errors.LockTimeoutError):
            pool.get_token(KEY, fetcher)
    assert [e["error"] for e in events.named("token.failed")] == ["LockTimeoutError"]

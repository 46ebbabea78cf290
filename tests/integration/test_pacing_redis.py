"""A pacing budget shared through the real Redis at ``LARK_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``): two Pacer instances stand for two processes of a fleet.

Unreachable → skipped, or failed under ``CI=true`` (CI must run these). Every test uses its
own key prefix and deletes its keys afterwards. Clocks are fake: the shared budget is given
the same fake clock as both pacers, so nothing sleeps.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator

import pytest

from lark_service._pacing import MINUTE, Pacer, PacingTable, RedisBudget

APP = "cli_fleet"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def require_redis() -> str:
    url = os.environ.get("LARK_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        reason = f"Redis at LARK_TEST_REDIS_URL is unreachable: {type(exc).__name__}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (CI=true: Redis tests must run)")
        pytest.skip(reason)
    return url


@pytest.fixture(scope="module")
def redis_url() -> str:
    return require_redis()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    import redis

    name = f"lark-test:pacing:{secrets.token_hex(6)}"
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=name + ":*"))
    if keys:
        client.delete(*keys)
    client.close()


def fleet(
    redis_url: str, prefix: str, clock: FakeClock, table: PacingTable | None = None
) -> list[Pacer]:
    return [
        Pacer(table, clock=clock, shared=RedisBudget(redis_url, clock=clock, prefix=prefix))
        for _ in range(2)
    ]


def go(pacer: Pacer, clock: FakeClock, family: str, key: str | None) -> float:
    clock.advance(pacer.reserve(APP, family, key))
    while (wait := pacer.admit(APP, family, key)) > 0:
        clock.advance(wait)
    return clock()


def test_two_processes_share_the_per_second_budget(redis_url: str, prefix: str) -> None:
    clock = FakeClock()
    first, second = fleet(redis_url, prefix, clock)
    admitted = [
        pacer.admit(APP, "im.send", f"u{n}") == 0 for n in range(100) for pacer in (first, second)
    ]
    assert sum(admitted) == 45  # together, not 2 x 45 as each would alone
    # the one that was refused is told how long: until the oldest send leaves the second
    assert second.admit(APP, "im.send", "late") == pytest.approx(1.0)
    clock.advance(1.0)
    assert first.admit(APP, "im.send", "late") == 0


def test_two_processes_share_the_minute_and_per_receiver_budgets(
    redis_url: str, prefix: str
) -> None:
    clock = FakeClock()
    table = PacingTable.default().with_limits({"im.send": {"per_second": None}})
    first, second = fleet(redis_url, prefix, clock, table)
    # per receiver: 5 in a second (4.5/s rounded up) across both processes
    same = [p.admit(APP, "im.send", "ou_same") for p in (first, second) * 4]
    assert same.count(0) == 5
    clock.advance(2)
    # per app per minute: 1000 over 61 s across both processes
    sent = 0
    for n in range(1200):
        if (first if n % 2 else second).admit(APP, "im.send", f"r{n}") == 0:
            sent += 1
    assert sent == 1000 - 5
    assert first.admit(APP, "im.send", "r_more") == pytest.approx(MINUTE - 2)


def test_paced_fleet_never_exceeds_the_docx_limit(redis_url: str, prefix: str) -> None:
    """Both processes edit as fast as their pacers let them, alternating: the document sees
    at most 3 edits in any second."""
    clock = FakeClock()
    first, second = fleet(redis_url, prefix, clock)
    times = [go(first if n % 2 else second, clock, "docx.edit", "doc1") for n in range(30)]
    times.sort()
    for i in range(len(times) - 3):
        assert times[i + 3] - times[i] >= 1.0 - 1e-6


def test_server_clock_is_the_default(redis_url: str, prefix: str) -> None:
    """Without an injected clock the script reads Redis's TIME, so hosts need not agree."""
    budget = RedisBudget(redis_url, prefix=prefix)
    pacer = Pacer(PacingTable.default(), shared=budget)
    results = [pacer.admit(APP, "drive.media_upload") for _ in range(6)]
    assert results[:5] == [0] * 5
    assert 0 < results[5] <= 1.0
    budget.close()


def test_receiver_ids_are_not_stored_in_redis(redis_url: str, prefix: str) -> None:
    import redis

    clock = FakeClock()
    first, _ = fleet(redis_url, prefix, clock)
    assert first.admit(APP, "im.send", "ou_private_receiver") == 0
    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in client.scan_iter(match=prefix + ":*")]
    client.close()
    assert len(keys) == 3  # second, minute, receiver windows
    assert not any("ou_private_receiver" in k for k in keys)

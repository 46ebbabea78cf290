"""send_batch: per-receiver results, rate limits (client pacing and Feishu's answers), progress."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter
from typing import Any

import pytest

from lark_service import LarkClient, _concurrency, errors
from lark_service.cards import Card
from lark_service.messaging import (
    DEFAULT_PER_APP,
    DEFAULT_PER_APP_PER_MINUTE,
    DEFAULT_PER_RECEIVER,
    FEISHU_PER_APP,
    FEISHU_PER_APP_PER_MINUTE,
    FEISHU_PER_RECEIVER,
    BatchItem,
    SendRateLimiter,
)
from lark_service.testing import Emulator
from lark_service.testing.emulator.routes_im import im_state

from .conftest import APP_ID, CHAT, NOBOT_CHAT, PNG, SECRET

MESSAGES = "/open-apis/im/v1/messages"


class SteppingClock:
    """A fake clock that the (patched) sleeps move forward; shared by threads."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class RecordingLimiter(SendRateLimiter):
    """The default limits, keeping the clock time of every send it let go."""

    def __init__(self, clock: Any) -> None:
        super().__init__(clock=clock)
        self.sent_at: list[float] = []

    def admit(self, app_id: str, receiver: str) -> float:
        wait = super().admit(app_id, receiver)
        if wait == 0:
            self.sent_at.append(self.clock())
        return wait


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_mixed_receivers_and_an_injected_rate_limit(
    lark: Any, emu: Emulator, alice: str, sleeps: list[float]
) -> None:
    emu.inject_fault(MESSAGES, "rate_limit", count=2, reset=3)
    receivers = [alice, "bob@example.com", CHAT, "ou_nobody", "bad id", NOBOT_CHAT, alice]

    result = lark.messaging.send_batch(receivers, "maintenance at 22:00", concurrency=4)

    assert [i.receive_id for i in result] == receivers[:-1]  # the duplicate is sent once
    by_id = {i.receive_id: i for i in result}
    assert [r for r in receivers[:3] if by_id[r].ok] == receivers[:3]
    assert isinstance(by_id["ou_nobody"].error, errors.NotFoundError)
    assert by_id["ou_nobody"].error.code == 99992351
    assert isinstance(by_id["bad id"].error, errors.ValidationError)
    assert isinstance(by_id[NOBOT_CHAT].error, errors.PermissionDeniedError)
    assert by_id[NOBOT_CHAT].error.code == 230002
    assert not result.ok and len(result.succeeded) == 3 and len(result.failed) == 3
    assert set(result.message_ids) == set(receivers[:3])
    # The two rate-limited attempts waited the reset header, then went through.
    assert sleeps.count(3) == 2
    assert len(emu.requests(path=MESSAGES, code=99991400)) == 2
    # No receiver got two messages; nothing was sent to the bad ones.
    sent = Counter(m.receive_id for m in emu.messages())
    assert sent == Counter(receivers[:3])
    for item in result.succeeded:
        assert item.message_id == next(
            m.message_id for m in emu.messages() if m.receive_id == item.receive_id
        )
    with pytest.raises(errors.NotFoundError):
        result.raise_for_errors()


def test_emulator_rate_limits_are_waited_out(
    lark: Any, emu: Emulator, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per-receiver (230020, no reset header: the receiver's 1 s window) and per-app
    (99991400: the reset header) limits: the pipeline waits them out on the emulator clock and
    every receiver gets exactly one message."""
    im_state(emu).set_rate_limits(per_app=2, per_receiver=1, window=1)
    waited: list[float] = []

    def advance(seconds: float) -> None:
        waited.append(seconds)
        emu.advance_clock(seconds)

    async def aadvance(seconds: float) -> None:
        advance(seconds)

    monkeypatch.setattr(_concurrency, "sleep", advance)
    monkeypatch.setattr(_concurrency, "async_sleep", aadvance)
    lark.messaging.limiter = SendRateLimiter(per_app=None, per_receiver=None)  # no pacing here
    # alice twice (open_id and email: the same p2p chat), bob, and the team chat.
    receivers = [alice, "alice@example.com", "bob", CHAT]

    result = lark.messaging.send_batch(receivers, "hi", concurrency=1)

    assert result.ok, [(i.receive_id, i.error) for i in result.failed]
    codes = Counter(r.code for r in emu.requests(path=MESSAGES) if r.code)
    assert codes == {230020: 1, 99991400: 1}
    assert [w for w in waited if w >= 1] == [1, 1]  # the receiver's window; the reset header
    per_chat = Counter(m.chat_id for m in emu.messages())
    assert per_chat[CHAT] == 1 and sum(per_chat.values()) == 4


def test_rate_limited_until_the_retries_run_out(lark: Any, emu: Emulator, bob: str) -> None:
    im_state(emu).set_rate_limits(per_receiver=1, window=600)
    lark.messaging.limiter = SendRateLimiter(per_app=None, per_receiver=None)
    result = lark.messaging.send_batch(["bob", bob], "twice?", concurrency=1)
    first, second = result.items
    assert first.ok
    assert isinstance(second.error, errors.RateLimitedError)
    # no reset header on 230020: each retry waited the receiver's 1 s window, in vain here
    assert (second.error.code, second.error.retry_after) == (230020, 1.0)
    assert len(emu.messages()) == 1


def test_default_pace_is_under_feishus_limits() -> None:
    limiter = SendRateLimiter()
    assert (limiter.per_app, limiter.per_receiver) == (DEFAULT_PER_APP, DEFAULT_PER_RECEIVER)
    assert DEFAULT_PER_APP < FEISHU_PER_APP and DEFAULT_PER_RECEIVER < FEISHU_PER_RECEIVER
    assert limiter.per_app_per_minute == DEFAULT_PER_APP_PER_MINUTE == 1000
    assert FEISHU_PER_APP_PER_MINUTE == 1000
    with pytest.raises(errors.ValidationError, match="per_app_per_minute"):
        SendRateLimiter(per_app_per_minute=0)


def paced_send_times(limiter: SendRateLimiter, clock: FakeClock, count: int) -> list[float]:
    """Send ``count`` messages one after another as ``send_batch`` does (reserve, wait,
    admit until 0), moving the fake clock instead of sleeping; the times they went."""
    sent = []
    for n in range(count):
        clock.now += limiter.reserve(APP_ID, f"u{n}")
        while (wait := limiter.admit(APP_ID, f"u{n}")) > 0:
            clock.now += wait
        sent.append(clock.now)
    return sent


def test_default_limiter_stays_under_1000_sends_per_minute() -> None:
    """Feishu allows 1000 sends/min per app as well as 50/s; at 45/s alone, 1,200 sends
    would go in 27 s. The default admits at most 1000 in any 60 s (a sliding window)."""
    clock = FakeClock()
    sent = paced_send_times(SendRateLimiter(clock=clock), clock, 1200)

    for i in range(len(sent) - 1000):
        assert sent[i + 1000] - sent[i] >= 61 - 1e-9  # never 1001 in a minute (+1 s slack)
    # The first 1000 are not slowed down: they go at the per-second pace (45/s) …
    assert sent[999] - sent[0] == pytest.approx(999 / 45, abs=0.1)
    # … and the rest as the minute window frees room, still at most 45 in a second.
    for i in range(len(sent) - 45):
        assert sent[i + 45] - sent[i] >= 1 - 1e-9
    assert sent[-1] - sent[0] >= 60


def test_per_minute_limit_is_configurable() -> None:
    clock = FakeClock()
    sent = paced_send_times(SendRateLimiter(per_app_per_minute=10, clock=clock), clock, 25)
    assert sent[9] - sent[0] < 1 and sent[10] - sent[0] == pytest.approx(61)
    assert sent[20] - sent[0] == pytest.approx(122)
    clock = FakeClock()
    unlimited = SendRateLimiter(per_app_per_minute=None, clock=clock)
    assert paced_send_times(unlimited, clock, 1000)[-1] - 1000 < 23  # 45/s only


def test_long_batch_stays_under_the_emulators_minute_limit(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,050 receivers against an emulator enforcing Feishu's 1000/min per app (and 5/s
    per receiver): the default limiter keeps every minute under it, so nothing is throttled.
    The limiter reads the emulator clock; waits move it forward instead of sleeping."""
    im_state(emu).set_rate_limits(per_receiver=5, per_app_per_minute=1000)
    receivers = [f"m{n:04d}" for n in range(1050)]
    for user in receivers:
        emu.add_user(user, name=user)
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        emu.advance_clock(seconds)

    monkeypatch.setattr(_concurrency, "sleep", sleep)
    with LarkClient(APP_ID, SECRET, base_url=emu.url) as client:
        client.messaging.limiter = SendRateLimiter(clock=emu.now)  # the defaults
        # One at a time, so each wait moves the shared clock exactly as far as it would
        # really take (concurrent fake waits would add up and spread the sends out).
        result = client.messaging.send_batch(receivers, "long batch", concurrency=1)

    assert result.ok, [(i.receive_id, i.error) for i in result.failed][:3]
    assert emu.requests(path=MESSAGES, code=99991400) == []  # never throttled
    assert emu.requests(path=MESSAGES, code=230020) == []
    times = sorted(m.create_time / 1000 for m in emu.messages())
    assert len(times) == 1050
    for i in range(len(times) - 1000):
        assert times[i + 1000] - times[i] >= 60
    assert max(waited) > 30  # the 1001st waited for the minute to free room


def test_limiter_spaces_sends_per_app_and_per_receiver() -> None:
    clock = FakeClock()
    limiter = SendRateLimiter(per_app=50, per_receiver=5, clock=clock)
    slots = [clock.now + limiter.reserve(APP_ID, f"u{i}") for i in range(160)]
    assert slots[0] == clock.now  # the first goes at once
    ordered = sorted(slots)
    for i in range(len(ordered) - 50):
        assert ordered[i + 50] - ordered[i] >= 1.0 - 1e-9  # never 51 in one second
    assert ordered[-1] - ordered[0] == pytest.approx(159 / 50)

    same = [clock.now + limiter.reserve(APP_ID, "u_same") for _ in range(6)]
    gaps = [b - a for a, b in itertools.pairwise(same)]
    assert all(g >= 0.2 - 1e-9 for g in gaps)  # 5/s to one receiver
    # Waiting for one receiver does not hold up the others: the next free app slot is used.
    other = clock.now + limiter.reserve(APP_ID, "u_other")
    assert other < same[-1]
    # Another app has its own budget.
    assert limiter.reserve("cli_else", "u0") == 0


def test_limiter_time_passing_frees_slots() -> None:
    clock = FakeClock()
    limiter = SendRateLimiter(per_app=2, per_receiver=None, clock=clock)
    assert [limiter.reserve("a", str(i)) for i in range(3)] == [0, 0.5, 1.0]
    clock.now += 10
    assert limiter.reserve("a", "x") == 0


def test_batch_is_paced_by_the_limiter(
    emu: Emulator, lark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(120):
        emu.add_user(f"p{n:03d}", name=f"P{n}")
    clock = SteppingClock()
    limiter = lark.messaging.limiter = RecordingLimiter(clock)

    def sleep(seconds: float) -> None:
        clock.advance(seconds)
        time.sleep(0)

    async def async_sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    monkeypatch.setattr(_concurrency, "sleep", sleep)
    monkeypatch.setattr(_concurrency, "async_sleep", async_sleep)
    done: list[tuple[str, int, int]] = []

    def progress(item: BatchItem, finished: int, total: int) -> None:
        done.append((item.receive_id, finished, total))

    receivers = [f"p{n:03d}" for n in range(120)]
    result = lark.messaging.send_batch(receivers, "paced", concurrency=16, progress=progress)

    assert result.ok and len(emu.messages()) == 120
    # On the limiter's clock, no one-second window ever held more than 45 sends.
    sent = sorted(limiter.sent_at)
    assert len(sent) == 120
    for i in range(len(sent) - 45):
        assert sent[i + 45] - sent[i] >= 1.0 - 1e-9
    assert sent[-1] - sent[0] >= (120 - 45) / 45
    assert sorted(n for _, n, _ in done) == list(range(1, 121))
    assert {t for _, _, t in done} == {120}
    assert {r for r, _, _ in done} == set(receivers)


def test_admit_caps_every_second_even_after_a_stall() -> None:
    clock = FakeClock()
    limiter = SendRateLimiter(clock=clock)  # 45/s per app, 4.5/s per receiver
    # Everyone slept through their slots (a stall): they all wake at the same instant.
    assert [limiter.admit(APP_ID, f"u{i}") for i in range(45)] == [0] * 45
    assert limiter.admit(APP_ID, "u45") == pytest.approx(1.0)
    clock.now += 0.5
    assert limiter.admit(APP_ID, "u45") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.admit(APP_ID, "u45") == 0
    # Per receiver: at most 5 in a second (4.5/s rounds up; Feishu allows 5).
    other = SendRateLimiter(per_app=None, clock=clock)
    assert [other.admit(APP_ID, "same") for _ in range(5)] == [0] * 5
    assert other.admit(APP_ID, "same") == pytest.approx(1.0)
    assert other.admit(APP_ID, "different") == 0


def test_batch_of_cards_and_images(lark: Any, emu: Emulator, alice: str, bob: str) -> None:
    cards = lark.messaging.send_batch(
        [alice, bob], Card("Notice").markdown("x"), msg_type="interactive"
    )
    assert cards.ok
    images = lark.messaging.send_batch([alice, bob, CHAT], PNG, msg_type="image")
    assert images.ok
    assert len(emu.requests(path="/open-apis/im/v1/images")) == 1  # uploaded once
    keys = {m.content["image_key"] for m in emu.messages(msg_type="image")}
    assert len(keys) == 1


@pytest.mark.anyio
async def test_async_batch_runs_as_tasks(emu: Emulator, alice: str, bob: str) -> None:
    from lark_service import AsyncLarkClient

    from .conftest import SECRET

    async with AsyncLarkClient(APP_ID, SECRET, base_url=emu.url) as client:
        client.messaging.limiter = SendRateLimiter(clock=FakeClock())
        result = await client.messaging.send_batch([alice, bob, CHAT, "ou_x"], "async")
    assert [i.ok for i in result] == [True, True, True, False]
    assert result["ou_x"].error is not None and result["ou_x"].error.code == 99992351

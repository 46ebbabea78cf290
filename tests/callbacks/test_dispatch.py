"""The in-process dispatcher: outbox first, workers, inline answers, retries, resume."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from lark_service.callbacks import (
    CallbackRouter,
    CallbackVerifier,
    CardResponse,
    InProcessDispatcher,
    OutboxStore,
    StaticKeys,
    Toast,
)
from lark_service.callbacks.dispatch import CardUpdater
from lark_service.callbacks.models import CallbackEvent
from lark_service.callbacks.simulate import card_action_payload

from ._support import APP, VT, FakeClock, FlakyClient, sign

pytestmark = pytest.mark.anyio


class RecordingUpdater(CardUpdater):
    def __init__(self) -> None:
        super().__init__(client_factory=lambda: None)  # type: ignore[arg-type,return-value]
        self.applied: list[tuple[str, dict[str, Any] | None]] = []

    async def apply(self, event: CallbackEvent, app_id: str, response: CardResponse | None) -> bool:
        if response is None or response.raw_card is None:
            return False
        self.applied.append((getattr(event, "token", ""), response.raw_card))
        return True


def verified(
    keys: StaticKeys,
    clock: FakeClock,
    value: dict[str, Any] | None = None,
    card_token: str = "c-t",
) -> Any:
    payload = card_action_payload(
        APP, value=value or {"a": 1}, verification_token=VT, card_token=card_token
    )
    headers, body = sign(payload, clock)
    return CallbackVerifier(keys, clock=clock).verify("card", APP, headers, body)


def make(router: CallbackRouter, db_url: str, clock: FakeClock, **kw: Any) -> InProcessDispatcher:
    kw.setdefault("updater", RecordingUpdater())
    kw.setdefault("retry_delays", (10.0, 20.0))
    return InProcessDispatcher(router, OutboxStore(db_url, clock=clock), **kw)


async def test_fast_handler_answers_inline_and_is_done(
    router: CallbackRouter, db_url: str, clock: FakeClock, keys: StaticKeys
) -> None:
    router.card_action()(lambda e: CardResponse(toast=Toast("ok"), card={"elements": []}))
    dispatcher = make(router, db_url, clock)
    await dispatcher.start()
    try:
        sub = await dispatcher.submit(verified(keys, clock))
        assert await sub.reply(5.0) == CardResponse(toast=Toast("ok"), card={"elements": []})
        sub.mark_answered()
        await dispatcher.join()
        assert dispatcher.store.counts() == {"done": 1}
        assert dispatcher.updater.applied == []  # type: ignore[attr-defined]
    finally:
        await dispatcher.stop(1)


async def test_slow_handler_card_goes_through_the_delayed_update_after_the_answer(
    router: CallbackRouter, db_url: str, clock: FakeClock, keys: StaticKeys
) -> None:
    release = asyncio.Event()

    @router.card_action()
    async def slow(event: Any) -> dict[str, Any]:
        await release.wait()
        return {"elements": ["late"]}

    dispatcher = make(router, db_url, clock)
    await dispatcher.start()
    try:
        sub = await dispatcher.submit(verified(keys, clock))
        assert await sub.reply(0.01) is None  # the answer goes out without waiting more
        release.set()
        await asyncio.sleep(0)
        assert dispatcher.updater.applied == []  # type: ignore[attr-defined]  # not before the answer
        sub.mark_answered()
        await dispatcher.join()
        assert dispatcher.updater.applied == [("c-t", {"elements": ["late"]})]  # type: ignore[attr-defined]
    finally:
        await dispatcher.stop(1)


async def test_duplicates_are_not_queued(
    router: CallbackRouter, db_url: str, clock: FakeClock, keys: StaticKeys
) -> None:
    runs: list[int] = []
    router.card_action()(lambda e: runs.append(1))
    dispatcher = make(router, db_url, clock)
    await dispatcher.start()
    try:
        v = verified(keys, clock)
        first = await dispatcher.submit(v)
        second = await dispatcher.submit(v)
        assert not first.duplicate and second.duplicate
        await dispatcher.join()
        assert runs == [1]
    finally:
        await dispatcher.stop(1)


async def test_failures_retry_with_backoff_then_die(
    router: CallbackRouter, db_url: str, clock: FakeClock, keys: StaticKeys
) -> None:
    attempts: list[int] = []

    @router.card_action()
    def always_fails(event: Any, ctx: Any) -> None:
        attempts.append(ctx.attempt)
        raise ValueError("handler bug")

    dispatcher = make(router, db_url, clock, max_attempts=3)
    await dispatcher.start()
    sub = await dispatcher.submit(verified(keys, clock))
    assert sub.outbox_id is not None
    await dispatcher.join()
    await dispatcher.stop(1)  # from here run_due drives it, on the fake clock
    assert attempts == [1]
    assert await dispatcher.run_due() == 0  # backoff: not due yet
    clock.advance(10)
    assert await dispatcher.run_due() == 1
    clock.advance(20)
    assert await dispatcher.run_due() == 1
    assert attempts == [1, 2, 3]
    (dead,) = dispatcher.store.items("dead")
    assert dead.id == sub.outbox_id and "handler bug" in (dead.last_error or "")
    clock.advance(1000)
    assert await dispatcher.run_due() == 0


async def test_pending_work_resumes_after_a_restart(
    router: CallbackRouter, db_url: str, clock: FakeClock, keys: StaticKeys
) -> None:
    runs: list[str] = []
    router.card_action()(lambda e: runs.append(e.event_id))
    crashed = make(router, db_url, clock, lease=30)
    v = verified(keys, clock)
    await crashed.submit(v)  # stored and acknowledged, then the process "dies"
    assert runs == []

    restarted = make(router, db_url, clock, lease=30)
    assert await restarted.run_due() == 0  # the dead process's lease still holds
    clock.advance(31)
    await restarted.start()
    try:
        await restarted.poll_once()
        await restarted.join()
    finally:
        await restarted.stop(1)
    assert runs == [v.event.event_id]
    assert restarted.store.counts() == {"done": 1}


async def test_stop_releases_queued_work(
    router: CallbackRouter, db_url: str, clock: FakeClock, keys: StaticKeys
) -> None:
    gate = asyncio.Event()

    @router.card_action()
    async def blocked(event: Any) -> None:
        await gate.wait()

    dispatcher = make(router, db_url, clock, workers=1, handler_timeout=0.2)
    await dispatcher.start()
    for i in range(3):
        await dispatcher.submit(verified(keys, clock, {"i": i}))
    await dispatcher.stop(timeout=0.05)
    counts = dispatcher.store.counts()
    assert counts.get("pending", 0) + counts.get("running", 0) == 3 - counts.get("done", 0)
    assert counts.get("pending", 0) >= 1  # never started: released, due now


CARD_TOKEN = "c-0123456789abcdef0123456789abcdef01234567"


async def test_a_failed_delayed_update_is_retried_alone_with_backoff(
    router: CallbackRouter,
    db_url: str,
    clock: FakeClock,
    keys: StaticKeys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="lark_service")
    runs: list[int] = []

    @router.card_action()
    async def slow(event: Any, ctx: Any) -> dict[str, Any]:
        runs.append(ctx.attempt)
        return {"elements": [f"run {ctx.attempt}"]}

    client = FlakyClient(failures=1)
    updater = CardUpdater(client_factory=lambda: client)  # type: ignore[arg-type,return-value]
    dispatcher = make(router, db_url, clock, updater=updater)
    await dispatcher.start()
    sub = await dispatcher.submit(verified(keys, clock, card_token=CARD_TOKEN))
    assert await sub.reply(0) is None  # answered at once: the card goes by delayed update
    sub.mark_answered()
    await dispatcher.join()
    await dispatcher.stop(1)
    assert runs == [1] and client.updates == []
    (row,) = dispatcher.store.items()
    assert row.status == "pending" and "ServerError" in (row.last_error or "")  # not done
    assert await dispatcher.run_due() == 0  # the schedule's backoff (10 s) applies
    clock.advance(10)
    assert await dispatcher.run_due() == 1
    assert runs == [1]  # issue 10.3: the update is retried, the handler does not run again
    assert client.updates == [{"token": CARD_TOKEN, "card": {"elements": ["run 1"]}}]
    assert dispatcher.store.counts() == {"done": 1}
    # the c- token is a bearer credential: in no log line and not in last_error
    assert "failed (ServerError)" in caplog.text and "attempt 1 failed" in caplog.text
    assert CARD_TOKEN not in caplog.text
    assert "token ***" in (row.last_error or "") and CARD_TOKEN not in (row.last_error or "")


async def test_a_delayed_update_that_always_fails_ends_dead(
    router: CallbackRouter, db_url: str, clock: FakeClock, keys: StaticKeys
) -> None:
    router.card_action()(lambda e: {"elements": []})
    updater = CardUpdater(client_factory=lambda: FlakyClient(failures=99))  # type: ignore[arg-type,return-value]
    dispatcher = make(router, db_url, clock, updater=updater, max_attempts=2, reply_wait=0)
    sub = await dispatcher.submit(verified(keys, clock, card_token=CARD_TOKEN))
    sub.mark_answered()
    await dispatcher.stop(0)  # no workers: run_due drives it on the fake clock
    clock.advance(31 + dispatcher.lease)
    assert await dispatcher.run_due() == 1
    clock.advance(10)
    assert await dispatcher.run_due() == 1
    (dead,) = dispatcher.store.items("dead")
    assert "ServerError" in (dead.last_error or "") and CARD_TOKEN not in (dead.last_error or "")


def test_constructor_validates() -> None:
    with pytest.raises(ValueError):
        InProcessDispatcher(CallbackRouter(), OutboxStore("sqlite://"), workers=0)

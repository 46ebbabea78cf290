"""Dispatch hardening (issues 9.6, 10.2, 10.3, 10.7, 10.8, 10.11): one outcome and retry
schedule, owned outbox rows, no_handler kept, card updates retried alone, content dedup,
poison callbacks isolated, the relay's reconnect backoff."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lark_service import instrumentation
from lark_service.callbacks import (
    CallbackRouter,
    CallbackVerifier,
    InProcessDispatcher,
    OutboxStore,
    StaticKeys,
    crypto,
)
from lark_service.callbacks.dispatch import CardUpdater
from lark_service.callbacks.execution import (
    DEFAULT_RETRY_SCHEDULE,
    RetrySchedule,
    run_handler,
)
from lark_service.callbacks.models import parse_callback
from lark_service.callbacks.rabbitmq import RabbitDispatcher, RabbitTopology
from lark_service.callbacks.router import HandlerContext
from lark_service.callbacks.simulate import card_action_payload
from lark_service.callbacks.verify import VerifiedCallback
from lark_service.cli import cli
from lark_service.errors import InvalidParameterError, MalformedCallbackError

from ._support import APP, EK, VT, FakeClock, FlakyClient, sign

pytestmark = pytest.mark.anyio

TOKEN = "c-0123456789abcdef0123456789abcdef01234567"


def card(keys: StaticKeys, clock: FakeClock, value: dict[str, Any] | None = None) -> Any:
    payload = card_action_payload(
        APP, value=value or {"a": 1}, verification_token=VT, card_token=TOKEN
    )
    headers, body = sign(payload, clock)
    return CallbackVerifier(keys, clock=clock).verify("card", APP, headers, body)


def event(payload: dict[str, Any]) -> VerifiedCallback:
    return VerifiedCallback(
        app_id=APP, kind="event", payload=payload, event=parse_callback(payload, "event", APP)
    )


def updater_for(client: FlakyClient) -> CardUpdater:
    return CardUpdater(client_factory=lambda: client)  # type: ignore[arg-type,return-value]


# --- 9.6: one outcome value, one retry schedule -------------------------------------------


def test_one_retry_schedule_for_both_paths() -> None:
    schedule = RetrySchedule((10.0, 20.0), max_attempts=3)
    assert [schedule.delay_after(n) for n in (1, 2, 3, 4)] == [10.0, 20.0, None, None]
    assert [schedule.index_after(n) for n in (1, 2, 3)] == [0, 1, None]
    assert RetrySchedule((), max_attempts=5).delay_after(1) is None  # no delays: no retries
    with pytest.raises(ValueError):
        RetrySchedule(max_attempts=0)
    # the defaults are one value, not three copies that may drift
    assert RabbitTopology().retry == DEFAULT_RETRY_SCHEDULE
    dispatcher = InProcessDispatcher(CallbackRouter(), OutboxStore("sqlite://"))
    assert dispatcher.retry == DEFAULT_RETRY_SCHEDULE
    assert RabbitTopology.with_schedule(schedule).retry == schedule
    tuned = InProcessDispatcher(CallbackRouter(), OutboxStore("sqlite://"), retry=schedule)
    assert (tuned.max_attempts, tuned.retry_delays) == (3, (10.0, 20.0))


async def test_run_handler_outcomes_and_events(keys: StaticKeys, clock: FakeClock) -> None:
    router = CallbackRouter(name="svc")

    @router.card_action(value_key="ok")
    async def ok(event: Any) -> dict[str, Any]:
        return {"elements": ["x"]}

    @router.card_action(value_key="boom")
    def boom(event: Any) -> None:
        raise RuntimeError(f"failed for token {TOKEN}")

    ctx = HandlerContext(app_id=APP)
    with instrumentation.EventRecorder(prefix="callback.") as events:
        handled = await run_handler(router, card(keys, clock, {"ok": 1}).event, ctx, timeout=5)
        failed = await run_handler(router, card(keys, clock, {"boom": 1}).event, ctx, timeout=5)
        missing = await run_handler(router, card(keys, clock, {"none": 1}).event, ctx, timeout=5)
    assert handled.status == "handled" and handled.card == {"elements": ["x"]}
    assert failed.status == "failed" and "RuntimeError" in (failed.error or "")
    assert TOKEN not in (failed.error or "")
    assert missing.status == "no_handler" and "svc" in (missing.error or "")
    assert events.names() == ["callback.handled", "callback.failed"]
    assert events.named("callback.failed")[0]["error"] == "RuntimeError"


async def test_the_card_updater_goes_through_the_cards_client(
    keys: StaticKeys, clock: FakeClock
) -> None:
    class CardsOnly:  # no request(): the updater must use client.cards
        def __init__(self) -> None:
            self.calls: list[tuple[str, Any, str | None]] = []
            self.cards = self

        async def update_card_by_token(
            self, token: str, card: Any, *, open_ids: Any = None, app_id: str | None = None
        ) -> None:
            self.calls.append((token, card, app_id))

        async def aclose(self) -> None:
            pass

    client = CardsOnly()
    updater = CardUpdater(client_factory=lambda: client)  # type: ignore[arg-type,return-value]
    result = await updater.attempt(card(keys, clock).event, APP, {"elements": []})
    assert result.status == "applied" and result.uses == 1
    assert client.calls == [(TOKEN, {"elements": []}, APP)]


# --- 10.2: owned rows, no_handler -----------------------------------------------------------


async def test_two_services_sharing_a_database_run_only_their_own_rows(
    db_url: str, clock: FakeClock
) -> None:
    runs: list[str] = []
    router_a, router_b = CallbackRouter(name="svc-a"), CallbackRouter(name="svc-b")
    router_a.event("*")(lambda e: runs.append("a"))
    router_b.event("*")(lambda e: runs.append("b"))
    store = OutboxStore(db_url, clock=clock)
    for owner in ("svc-a", "svc-b"):
        store.accept(
            app_id=APP,
            kind="event",
            dedup_keys=[f"{APP}:evt:{owner}"],
            event_id=owner,
            event_type="x.y",
            payload={"schema": "2.0", "header": {"event_id": owner, "event_type": "x.y"}},
            owner=owner,
        )
    b = InProcessDispatcher(router_b, store, updater=updater_for(FlakyClient(0)))
    assert await b.run_due() == 1
    assert runs == ["b"]
    assert {i.owner: i.status for i in store.items()} == {"svc-a": "pending", "svc-b": "done"}
    a = InProcessDispatcher(router_a, store, updater=updater_for(FlakyClient(0)))
    assert await a.run_due() == 1
    assert runs == ["b", "a"]


def test_router_names_are_stable_and_explicit(tmp_path: Path) -> None:
    from lark_service.callbacks.loader import load_routers

    assert CallbackRouter().name == __name__
    assert CallbackRouter(name="billing").name == "billing"
    spec = str(Path(__file__).parent / "sample_handlers.py") + ":router"
    assert load_routers([spec]).name == "sample_handlers"  # not the loader's random module
    with pytest.raises(ValueError):
        CallbackRouter(name="")


async def test_an_unmatched_callback_is_kept_as_no_handler_and_listed(
    db_url: str, clock: FakeClock, keys: StaticKeys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lark_service")
    router = CallbackRouter(name="svc")
    router.event("im.message.receive_v1")(lambda e: None)  # nothing for card actions
    dispatcher = InProcessDispatcher(
        router, OutboxStore(db_url, clock=clock), updater=updater_for(FlakyClient(0))
    )
    with instrumentation.EventRecorder(prefix="callback.dead") as events:
        sub = await dispatcher.submit(card(keys, clock))
        sub.mark_answered()
        await dispatcher.run_due()
        await dispatcher.start()
        await dispatcher.join()
        await dispatcher.stop(1)
    (row,) = dispatcher.store.items()
    assert row.status == "no_handler" and "no_handler" in (row.last_error or "")
    assert [e["reason"] for e in events.events] == ["no_handler"]
    warnings = [r for r in caplog.records if "no handler" in r.getMessage()]
    assert warnings and all(r.levelno == logging.WARNING for r in warnings)
    assert not any("acknowledged" in r.getMessage() for r in caplog.records)

    runner = CliRunner()
    args = ["--source", "outbox", "--database-url", db_url]
    listed = runner.invoke(cli, ["callbacks", "dlq", "list", *args])
    assert listed.exit_code == 0, listed.output
    assert "no_handler" in listed.output and "owner=svc" in listed.output
    replayed = runner.invoke(cli, ["callbacks", "dlq", "replay", *args])
    assert replayed.exit_code == 0 and "replayed 1" in replayed.output
    assert OutboxStore(db_url).counts() == {"pending": 1}


# --- 10.3: a failed card update never re-runs the handler ------------------------------------


async def test_a_card_update_that_cannot_succeed_is_dead_alone_and_replays_alone(
    db_url: str, clock: FakeClock, keys: StaticKeys
) -> None:
    runs: list[int] = []

    @(router := CallbackRouter(name="svc")).card_action()
    def handler(event: Any, ctx: Any) -> dict[str, Any]:
        runs.append(ctx.attempt)
        return {"elements": ["new"]}

    client = FlakyClient(
        failures=1, error=lambda t: InvalidParameterError(f"token {t} used up", code=200340)
    )
    dispatcher = InProcessDispatcher(
        router,
        OutboxStore(db_url, clock=clock),
        updater=updater_for(client),
        reply_wait=0,
        retry=RetrySchedule((10.0,), 5),
    )
    with instrumentation.EventRecorder(prefix="callback.dead") as events:
        sub = await dispatcher.submit(card(keys, clock))
        sub.mark_answered()
        await dispatcher.stop(0)
        clock.advance(dispatcher.lease + 1)
        assert await dispatcher.run_due() == 1
    (row,) = dispatcher.store.items()
    # not retryable: dead at once, the update alone, with its own reason
    assert row.status == "dead" and row.card_update == {"elements": ["new"]}
    assert "card update failed" in (row.last_error or "") and TOKEN not in (row.last_error or "")
    assert [e["reason"] for e in events.events] == ["card_update"]
    assert runs == [1] and client.calls == 1
    assert dispatcher.store.revive() == 1
    assert await dispatcher.run_due() == 1
    assert runs == [1] and client.updates == [{"token": TOKEN, "card": {"elements": ["new"]}}]
    assert dispatcher.store.counts() == {"done": 1}


async def test_a_card_update_is_tried_at_most_twice_for_the_token(
    db_url: str, clock: FakeClock, keys: StaticKeys
) -> None:
    runs: list[int] = []

    @(router := CallbackRouter(name="svc")).card_action()
    def handler(event: Any) -> dict[str, Any]:
        runs.append(1)
        return {"elements": []}

    client = FlakyClient(failures=99)  # ServerError: retryable, but may have used the token
    dispatcher = InProcessDispatcher(
        router,
        OutboxStore(db_url, clock=clock),
        updater=updater_for(client),
        reply_wait=0,
        retry=RetrySchedule((10.0,), 9),
    )
    await dispatcher.run_due()
    sub = await dispatcher.submit(card(keys, clock))
    sub.mark_answered()
    await dispatcher.stop(0)
    for _ in range(6):
        clock.advance(dispatcher.lease + 10)
        await dispatcher.run_due()
    (row,) = dispatcher.store.items()
    assert runs == [1] and client.calls == 2  # two uses of the token, never more
    assert row.status == "dead" and row.update_uses == 2


async def test_an_expired_card_token_is_not_used(
    db_url: str, clock: FakeClock, keys: StaticKeys
) -> None:
    router = CallbackRouter(name="svc")
    router.card_action()(lambda e: {"elements": []})
    client = FlakyClient(failures=1)
    dispatcher = InProcessDispatcher(
        router,
        OutboxStore(db_url, clock=clock),
        updater=updater_for(client),
        reply_wait=0,
        retry=RetrySchedule((3600.0,), 5),
    )
    sub = await dispatcher.submit(card(keys, clock))
    sub.mark_answered()
    await dispatcher.stop(0)
    clock.advance(dispatcher.lease + 1)
    await dispatcher.run_due()  # fails once (retryable), next try in an hour
    clock.advance(3600)
    await dispatcher.run_due()
    (row,) = dispatcher.store.items()
    assert client.calls == 1 and row.status == "dead" and "expired" in (row.last_error or "")


def test_simulate_of_a_slow_card_handler_ends_done_not_dead(tmp_path: Path) -> None:
    import threading

    from lark_service.callbacks import CallbackKeys
    from lark_service.server import create_app

    from ._support import ServerThread

    release = threading.Event()
    runs: list[int] = []
    router = CallbackRouter(name="svc")

    @router.card_action()
    def slow(event: Any) -> dict[str, Any]:
        release.wait(10)
        runs.append(1)
        return {"elements": ["late"]}

    client = FlakyClient(failures=99)  # Feishu would refuse a made-up token
    store = OutboxStore(f"sqlite:///{tmp_path / 'state.db'}")
    dispatcher = InProcessDispatcher(router, store, updater=updater_for(client), reply_wait=0)
    keys = StaticKeys(CallbackKeys(APP, encrypt_key=EK, verification_token=VT))
    with ServerThread(create_app(router, keys=keys, dispatcher=dispatcher)) as url:
        result = CliRunner().invoke(
            cli,
            [
                "callbacks",
                "simulate",
                "--url",
                f"{url}/callbacks/{APP}/card",
                "--app-id",
                APP,
                "--encrypt-key",
                EK,
                "--verification-token",
                VT,
            ],
        )
        assert result.exit_code == 0, result.output
        release.set()
        from ._support import wait_until

        wait_until(lambda: store.counts() == {"done": 1}, what="the simulated callback done")
    assert runs == [1] and client.calls == 0


# --- 10.7: events without an id --------------------------------------------------------------


async def test_an_event_without_an_id_is_deduplicated_by_its_content(
    db_url: str, clock: FakeClock, keys: StaticKeys
) -> None:
    payload = {
        "schema": "2.0",
        "header": {"event_type": "custom.thing_v1", "token": VT, "app_id": APP},
        "event": {"n": 1},
    }
    verifier = CallbackVerifier(keys, clock=clock)
    first = verifier.verify("event", APP, *sign(payload, clock))
    replay = verifier.verify("event", APP, *sign(payload, clock))  # new nonce, same content
    other = verifier.verify("event", APP, *sign({**payload, "event": {"n": 2}}, clock))
    assert first.event is not None and replay.event is not None and other.event is not None
    assert first.event.event_id == ""
    assert first.event.dedup_keys == replay.event.dedup_keys != other.event.dedup_keys
    assert first.event.dedup_keys[0].startswith(f"{APP}:body:")
    router = CallbackRouter(name="svc")
    router.event("*")(lambda e: None)
    dispatcher = InProcessDispatcher(router, OutboxStore(db_url, clock=clock))
    assert not (await dispatcher.submit(first)).duplicate
    assert (await dispatcher.submit(replay)).duplicate
    assert not (await dispatcher.submit(other)).duplicate
    await dispatcher.stop(0)


# --- 10.8: one poison callback does not fail its group commit ------------------------------


async def test_a_poison_callback_is_rejected_alone_and_the_others_commit(
    db_url: str, clock: FakeClock, keys: StaticKeys
) -> None:
    router = CallbackRouter(name="svc")
    dispatcher = InProcessDispatcher(router, OutboxStore(db_url, clock=clock))

    def payload(n: int, text: str) -> dict[str, Any]:
        return {
            "schema": "2.0",
            "header": {"event_id": f"e{n}", "event_type": "x.y", "app_id": APP},
            "event": {"text": text},
        }

    # a lone surrogate survives JSON decoding and the signature: the verifier passes it
    poison_body = {**payload(999, "\ud800"), "header": {**payload(999, "")["header"], "token": VT}}
    body = crypto.encrypt(EK, json.dumps(poison_body).encode("ascii"))
    raw = json.dumps({"encrypt": body}).encode()
    ts, nonce = str(int(clock())), "n1"
    headers = {
        "X-Lark-Request-Timestamp": ts,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": crypto.event_signature(ts, nonce, EK, raw),
    }
    signed_poison = CallbackVerifier(keys, clock=clock).verify("event", APP, headers, raw)

    valid = [event(payload(n, f"ok {n}")) for n in range(200)]
    poison = [signed_poison, *(event(payload(1000 + n, "bad \udcff")) for n in range(4))]
    mixed: list[VerifiedCallback] = []
    for i, v in enumerate(valid):
        mixed.append(v)
        if i % 40 == 0 and poison:
            mixed.append(poison.pop())
    results = await asyncio.gather(*(dispatcher.submit(v) for v in mixed), return_exceptions=True)
    await dispatcher.stop(0)
    rejected = [r for r in results if isinstance(r, BaseException)]
    assert len(rejected) == 5 and all(isinstance(r, MalformedCallbackError) for r in rejected)
    assert all(getattr(r, "http_status", None) == 400 for r in rejected)
    stored = [r for r in results if not isinstance(r, BaseException)]
    assert len(stored) == 200 and all(s.outbox_id is not None for s in stored)
    assert sum(dispatcher.store.counts().values()) == 200


# --- 10.11: the relay follows its backoff whatever the traffic ------------------------------


class _Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_the_relay_reconnects_on_its_backoff_whatever_the_traffic(
    db_url: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lark_service")
    attempts: list[str] = []

    async def unreachable(url: str, timeout: float) -> Any:
        attempts.append(url)
        raise ConnectionRefusedError("amqp://guest:secret@broker/ refused")

    monotonic = _Monotonic()
    dispatcher = RabbitDispatcher(
        OutboxStore(db_url, clock=clock),
        "amqp://guest:secret@broker/",
        reconnect_delays=(5.0, 30.0),
        relay_interval=0.01,
        connect=unreachable,
        clock=monotonic,
        owner="svc",
    )

    async def spin() -> None:
        for _ in range(50):
            await asyncio.sleep(0)

    await dispatcher.start()
    try:
        for n in range(100):  # a burst of traffic during the outage
            payload = {"schema": "2.0", "header": {"event_id": f"e{n}", "event_type": "x"}}
            await dispatcher.submit(event(payload))
            await spin()
        assert len(attempts) == 1  # the start's attempt only: the backoff (5 s) holds
        monotonic.now += 5.0
        dispatcher._wake.set()
        for _ in range(20):
            await spin()
            if len(attempts) == 2:
                break
            await asyncio.sleep(0.01)
        await dispatcher.submit(event({"schema": "2.0", "header": {"event_id": "late"}}))
        await spin()
        assert len(attempts) == 2  # next one after 30 s
    finally:
        await dispatcher.stop(0)
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == len(attempts) == 2
    assert "attempt 1 failed, next in 5.0 s" in lines[0].getMessage()
    assert "secret" not in caplog.text
    assert dispatcher.store.counts() == {"pending": 101}


# --- 9.5: the dispatch side's events --------------------------------------------------------


async def test_dispatch_emits_dispatched_handled_failed_and_dead_lettered(
    db_url: str, clock: FakeClock, keys: StaticKeys
) -> None:
    router = CallbackRouter(name="svc")

    @router.card_action(value_key="boom")
    def boom(event: Any) -> None:
        raise RuntimeError("no")

    router.card_action()(lambda e: None)
    dispatcher = InProcessDispatcher(
        router,
        OutboxStore(db_url, clock=clock),
        updater=updater_for(FlakyClient(0)),
        retry=RetrySchedule((), 1),
    )
    with instrumentation.EventRecorder(prefix="callback.") as events:
        for value in ({"ok": 1}, {"boom": 1}):
            (await dispatcher.submit(card(keys, clock, value))).mark_answered()
        await dispatcher.start()
        await dispatcher.join()
        await dispatcher.stop(1)
    names = events.names()
    assert names.count("callback.dispatched") == 2
    assert {"callback.handled", "callback.failed", "callback.dead_lettered"} <= set(names)
    dispatched = events.named("callback.dispatched")[0]
    assert dispatched["dispatcher"] == "inprocess" and dispatched.app_id == APP
    assert events.named("callback.dead_lettered")[0]["reason"] == "max_attempts"

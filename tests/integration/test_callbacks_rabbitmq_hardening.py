"""RabbitMQ dispatch hardening against the real broker (issues 10.2, 10.3, 10.12, 10.15):
workers wait for the broker, skip outbox ids already handled, dead-letter unmatched callbacks
and failed card updates alone."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lark_service.callbacks import CallbackRouter, OutboxStore, RabbitTopology, RabbitWorker
from lark_service.callbacks.dispatch import CardUpdater
from lark_service.callbacks.rabbitmq import RabbitPublisher, dlq_list, dlq_replay
from lark_service.callbacks.rabbitmq.topology import connect_robust
from lark_service.callbacks.simulate import card_action_payload
from lark_service.callbacks.store import OutboxItem
from lark_service.errors import InvalidParameterError
from tests.callbacks._support import FlakyClient, free_port

pytestmark = [pytest.mark.anyio, pytest.mark.rabbitmq]

APP = "cli_cbmqh"
ROOT = Path(__file__).resolve().parents[2]
HANDLERS = str(ROOT / "tests" / "callbacks" / "sample_handlers.py") + ":router"
TOKEN = "c-feedfacefeedfacefeedfacefeedfacefeedface"


@pytest.fixture
async def topology(amqp_url: str) -> AsyncIterator[RabbitTopology]:
    import aio_pika

    name = f"lt.cbh.{secrets.token_hex(5)}"
    topo = RabbitTopology(exchange=name, queue=name, retry_delays=(0.05, 0.1), max_attempts=3)
    yield topo
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        await topo.delete(await connection.channel())


async def eventually(predicate: Any, timeout: float = 15.0, what: str = "condition") -> None:
    """Wait (bounded) for work happening in other tasks or processes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def item(outbox_id: int, value: dict[str, Any] | None = None) -> OutboxItem:
    payload = card_action_payload(APP, value=value or {}, card_token=TOKEN)
    return OutboxItem(
        outbox_id,
        APP,
        "card",
        payload["header"]["event_id"],
        "card.action.trigger",
        payload,
        created_at=__import__("time").time(),
    )


async def dead_letters(amqp_url: str, topology: RabbitTopology, n: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for _ in range(300):
        found = await dlq_list(amqp_url, topology)
        if len(found) >= n:
            break
        await asyncio.sleep(0.02)
    return found


# --- 10.15: a republished row does not run the handler twice ------------------------------


async def test_a_republished_outbox_row_runs_the_handler_once(
    amqp_url: str, topology: RabbitTopology, tmp_path: Path
) -> None:
    """A server killed between the broker's confirm and marking its row done republishes the
    row after the lease: the worker that shares the state database skips the copy."""
    runs: Counter[str] = Counter()
    router = CallbackRouter(name="svc")

    @router.card_action()
    async def handler(event: Any) -> None:
        runs[event.event_id] += 1

    store = OutboxStore(f"sqlite:///{tmp_path / 'state.db'}")
    worker = RabbitWorker(router, amqp_url, topology=topology, store=store)
    publisher = RabbitPublisher(amqp_url, topology)
    await worker.start()
    try:
        row = item(41)
        await publisher.publish(row)
        await eventually(lambda: runs[row.event_id or ""] == 1, what="first copy handled")
        await publisher.publish(row)  # the republished copy
        await eventually(lambda: worker.skipped == 1, what="second copy skipped")
        assert runs[row.event_id or ""] == 1
        assert store.is_processed(f"{APP}:handled:41")
    finally:
        await publisher.close()
        await worker.stop(5)


async def test_a_copy_arriving_while_the_original_runs_is_skipped(
    amqp_url: str, topology: RabbitTopology, tmp_path: Path
) -> None:
    """After a broker reconnect the server republishes rows whose confirms it lost: the copy
    can reach the worker while the original's handler still runs (prefetch > 1)."""
    runs: Counter[str] = Counter()
    release = asyncio.Event()
    router = CallbackRouter(name="svc")

    @router.card_action()
    async def handler(event: Any) -> None:
        runs[event.event_id] += 1
        await release.wait()

    store = OutboxStore(f"sqlite:///{tmp_path / 'state.db'}")
    worker = RabbitWorker(router, amqp_url, topology=topology, store=store)
    publisher = RabbitPublisher(amqp_url, topology)
    await worker.start()
    try:
        row = item(43)
        await publisher.publish(row)
        await eventually(lambda: runs[row.event_id or ""] == 1, what="original running")
        await publisher.publish(row)  # the copy, while the original is still running
        await eventually(lambda: worker.skipped == 1, what="copy skipped")
        release.set()
        await eventually(lambda: worker.processed == 1, what="original acked")
        assert runs[row.event_id or ""] == 1
    finally:
        release.set()
        await publisher.close()
        await worker.stop(5)


async def test_without_the_state_database_every_copy_runs(
    amqp_url: str, topology: RabbitTopology
) -> None:
    runs: list[str] = []
    router = CallbackRouter(name="svc")
    router.card_action()(lambda e: runs.append(e.event_id))
    worker = RabbitWorker(router, amqp_url, topology=topology)  # no store: no dedup
    publisher = RabbitPublisher(amqp_url, topology)
    await worker.start()
    try:
        row = item(42)
        await publisher.publish(row)
        await publisher.publish(row)
        await eventually(lambda: len(runs) == 2, what="both copies handled")
    finally:
        await publisher.close()
        await worker.stop(5)


# --- 10.2 on a worker: no handler → DLQ with its reason ----------------------------------


async def test_a_message_without_a_handler_is_dead_lettered_as_no_handler(
    amqp_url: str, topology: RabbitTopology, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lark_service")
    router = CallbackRouter(name="events-only")
    router.event("im.message.receive_v1")(lambda e: None)
    worker = RabbitWorker(router, amqp_url, topology=topology)
    publisher = RabbitPublisher(amqp_url, topology)
    await worker.start()
    try:
        await publisher.publish(item(43))
        (dead,) = await dead_letters(amqp_url, topology, 1)
    finally:
        await publisher.close()
        await worker.stop(5)
    assert dead["error"].startswith("no_handler") and dead["attempts"] == 1
    assert any(
        r.levelno == logging.WARNING and "no handler" in r.getMessage() for r in caplog.records
    )


# --- 10.3 on a worker: the update alone is dead-lettered, and replayed alone ----------------


async def test_a_failed_card_update_is_dead_lettered_alone_and_replayed_alone(
    amqp_url: str, topology: RabbitTopology
) -> None:
    runs: list[int] = []
    router = CallbackRouter(name="svc")

    @router.card_action()
    async def handler(event: Any, ctx: Any) -> dict[str, Any]:
        runs.append(ctx.attempt)
        return {"elements": ["new"]}

    client = FlakyClient(
        failures=1, error=lambda t: InvalidParameterError(f"token {t} refused", code=200340)
    )
    updater = CardUpdater(client_factory=lambda: client)  # type: ignore[arg-type,return-value]
    worker = RabbitWorker(router, amqp_url, topology=topology, updater=updater)
    publisher = RabbitPublisher(amqp_url, topology)
    await worker.start()
    try:
        await publisher.publish(item(44))
        (dead,) = await dead_letters(amqp_url, topology, 1)
        assert dead["stage"] == "card_update" and "card update failed" in dead["error"]
        assert TOKEN not in dead["error"] and runs == [1]
        assert await dlq_replay(amqp_url, topology) == 1
        await eventually(lambda: client.updates, what="the update replayed")
    finally:
        await publisher.close()
        await worker.stop(5)
    assert runs == [1]  # the handler never ran again
    assert client.updates == [{"token": TOKEN, "card": {"elements": ["new"]}}]
    assert await dlq_list(amqp_url, topology) == []


# --- 10.12: the worker waits for the broker ---------------------------------------------------


async def test_a_worker_waits_for_an_unreachable_broker_then_consumes(
    amqp_url: str, topology: RabbitTopology, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lark_service")
    attempts = 0

    async def flaky_connect(url: str, timeout: float) -> Any:
        nonlocal attempts
        attempts += 1
        if attempts <= 3:
            raise ConnectionRefusedError(f"{url} refused")  # the URL must not reach a log
        return await connect_robust(url, timeout)

    runs: list[str] = []
    router = CallbackRouter(name="svc")
    router.card_action()(lambda e: runs.append(e.event_id))
    worker = RabbitWorker(
        router, amqp_url, topology=topology, reconnect_delays=(0.0,), connect=flaky_connect
    )
    stop = asyncio.Event()
    assert not worker.ready and (await worker.readiness()) == {"broker": "unavailable"}
    task = asyncio.create_task(worker.run(stop))
    publisher = RabbitPublisher(amqp_url, topology)
    try:
        await eventually(lambda: worker.ready, what="the worker consuming")
        assert attempts == 4 and (await worker.readiness()) == {"broker": "ok"}
        await publisher.publish(item(45))
        await eventually(lambda: len(runs) == 1, what="handled after the wait")
    finally:
        await publisher.close()
        stop.set()
        await task
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 3 and all(r.levelno == logging.WARNING for r in warnings)
    assert "guest" not in caplog.text and amqp_url not in caplog.text


def test_the_worker_command_does_not_exit_when_the_broker_is_down(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    dead_broker = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lark_service.cli",
                "worker",
                "--handlers",
                HANDLERS,
                "--amqp-url",
                dead_broker,
                "--ready-file",
                str(ready),
            ],
            env={**os.environ, "PYTHONPATH": str(ROOT), "CB_EFFECTS": str(tmp_path / "fx")},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        from tests.callbacks._support import wait_until

        wait_until(
            lambda: log.read_text().count("attempt 2 failed") >= 1 or proc.poll() is not None,
            timeout=30,
            what="two connection attempts",
        )
        assert proc.poll() is None, log.read_text()  # still running, waiting for the broker
        assert not ready.exists()  # not ready
        text = log.read_text()
        assert text.count("worker not ready; attempt 1 failed") == 1
        assert "guest:guest" not in text
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(20)
    assert code == 0, log.read_text()


async def test_the_rabbitmq_dispatcher_emits_dispatched_once_confirmed(
    amqp_url: str, topology: RabbitTopology, tmp_path: Path
) -> None:
    from lark_service import instrumentation
    from lark_service.callbacks import RabbitDispatcher
    from lark_service.callbacks.models import parse_callback
    from lark_service.callbacks.verify import VerifiedCallback

    store = OutboxStore(f"sqlite:///{tmp_path / 'state.db'}")
    dispatcher = RabbitDispatcher(store, amqp_url, topology=topology, owner="svc")
    payload = card_action_payload(APP, value={}, card_token=TOKEN)
    verified = VerifiedCallback(APP, "card", payload, parse_callback(payload, "card", APP))
    with instrumentation.EventRecorder(prefix="callback.dispatched") as events:
        await dispatcher.start()
        try:
            await dispatcher.submit(verified)
            await eventually(lambda: store.counts() == {"done": 1}, what="confirmed")
        finally:
            await dispatcher.stop(5)
    (event,) = events.events
    assert event["dispatcher"] == "rabbitmq" and event["event_type"] == "card.action.trigger"
    assert [i.owner for i in store.items()] == ["svc"]


async def test_a_server_killed_after_the_confirm_does_not_run_the_handler_twice(
    amqp_url: str, topology: RabbitTopology, tmp_path: Path
) -> None:
    """The row was published and confirmed, but the server died before marking it done: a
    restarted server's relay republishes it after the lease; the worker skips the copy."""
    from sqlalchemy import update

    from lark_service.callbacks import RabbitDispatcher
    from lark_service.callbacks.models import parse_callback
    from lark_service.callbacks.verify import VerifiedCallback
    from lark_service.storage.tables import callback_outbox

    runs: Counter[str] = Counter()
    router = CallbackRouter(name="svc")

    @router.card_action()
    async def handler(event: Any) -> None:
        runs[event.event_id] += 1

    store = OutboxStore(f"sqlite:///{tmp_path / 'state.db'}")
    worker = RabbitWorker(router, amqp_url, topology=topology, store=store)
    await worker.start()
    payload = card_action_payload(APP, value={}, card_token=TOKEN)
    verified = VerifiedCallback(APP, "card", payload, parse_callback(payload, "card", APP))
    first = RabbitDispatcher(store, amqp_url, topology=topology, owner="svc")
    try:
        await first.start()
        await first.submit(verified)
        await eventually(lambda: sum(runs.values()) == 1, what="handled once")
        await eventually(lambda: store.counts() == {"done": 1}, what="confirmed")
        await first.stop(5)
        # what the store looks like when the server died between the confirm and the mark
        with store.engine.begin() as conn:
            conn.execute(update(callback_outbox).values(status="running", available_at=0.0))
        restarted = RabbitDispatcher(store, amqp_url, topology=topology, owner="svc")
        await restarted.start()
        try:
            await eventually(lambda: store.counts() == {"done": 1}, what="republished")
            await eventually(lambda: worker.skipped == 1, what="the copy skipped")
        finally:
            await restarted.stop(5)
    finally:
        await worker.stop(5)
    assert list(runs.values()) == [1]

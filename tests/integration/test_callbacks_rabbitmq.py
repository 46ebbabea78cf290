"""RabbitMQ dispatch against the real broker: workers, outages, crashes, the DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import json
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
from click.testing import CliRunner

from lark_service.callbacks import (
    CallbackKeys,
    CallbackRouter,
    OutboxStore,
    RabbitDispatcher,
    RabbitTopology,
    RabbitWorker,
    StaticKeys,
)
from lark_service.callbacks.rabbitmq import dlq_list
from lark_service.callbacks.simulate import card_action_payload
from lark_service.cli import cli
from lark_service.server import create_app
from tests.callbacks._support import EK, VT, free_port, serve, signed_request
from tests.callbacks.sample_handlers import read_effects

pytestmark = [pytest.mark.anyio, pytest.mark.rabbitmq]

APP = "cli_cbmq"
KEYS = StaticKeys(CallbackKeys(APP, encrypt_key=EK, verification_token=VT))
ROOT = Path(__file__).resolve().parents[2]
HANDLERS = str(ROOT / "tests" / "callbacks" / "sample_handlers.py") + ":router"


@pytest.fixture
async def topology(amqp_url: str) -> AsyncIterator[RabbitTopology]:
    import aio_pika

    name = f"lt.cb.{secrets.token_hex(5)}"
    topo = RabbitTopology(exchange=name, queue=name, retry_delays=(0.05, 0.1), max_attempts=3)
    yield topo
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        await topo.delete(await connection.channel())


def card_request(value: dict[str, Any] | None = None) -> tuple[dict[str, str], bytes, str]:
    payload = card_action_payload(APP, value=value or {}, verification_token=VT)
    headers, body = signed_request(payload, encrypt_key=EK)
    return headers, body, payload["header"]["event_id"]


async def eventually(predicate: Any, timeout: float = 15.0, what: str = "condition") -> None:
    """Wait (bounded) for work happening in other tasks or processes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Proxy:
    """A TCP proxy to the broker that the test switches on and off (a broker outage)."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self._server: asyncio.AbstractServer | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        for task in (
            asyncio.create_task(pipe(reader, up_writer)),
            asyncio.create_task(pipe(up_reader, writer)),
        ):
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)


def counting_router(seen: Counter[str], tag: str, per_worker: Counter[str]) -> CallbackRouter:
    router = CallbackRouter()

    @router.card_action()
    async def handler(event: Any) -> None:
        await asyncio.sleep(0)
        seen[event.event_id] += 1
        per_worker[tag] += 1

    return router


async def test_end_to_end_with_two_workers(
    tmp_path: Path, amqp_url: str, topology: RabbitTopology
) -> None:
    seen: Counter[str] = Counter()
    per_worker: Counter[str] = Counter()
    workers = [
        RabbitWorker(
            counting_router(seen, name, per_worker), amqp_url, topology=topology, prefetch=1
        )
        for name in ("w1", "w2")
    ]
    for w in workers:
        await w.start()
    store = OutboxStore(f"sqlite:///{tmp_path / 'state.db'}")
    app = create_app(keys=KEYS, dispatcher=RabbitDispatcher(store, amqp_url, topology=topology))
    sent: list[str] = []
    try:
        async with serve(app) as http:
            assert (await http.get("/readyz")).json()["broker"] == "ok"
            for i in range(30):
                headers, body, event_id = card_request({"i": i})
                r = await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
                assert r.status_code == 200 and r.json() == {}
                sent.append(event_id)
                if i == 0:  # a replayed request is acknowledged but not queued again
                    again = await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
                    assert again.status_code == 200
            await eventually(lambda: sum(seen.values()) >= 30, what="30 handled")
    finally:
        for w in workers:
            await w.stop(5)
    assert seen == Counter(sent) and set(seen.values()) == {1}
    assert per_worker["w1"] > 0 and per_worker["w2"] > 0
    assert store.counts() == {"done": 30}


async def test_broker_outage_keeps_callbacks_in_the_outbox_until_it_returns(
    tmp_path: Path, amqp_url: str, topology: RabbitTopology
) -> None:
    from urllib.parse import urlparse

    parsed = urlparse(amqp_url)
    proxy = Proxy(parsed.port or 5672)
    via_proxy = amqp_url.replace(f":{parsed.port or 5672}", f":{proxy.port}", 1)
    store = OutboxStore(f"sqlite:///{tmp_path / 'state.db'}")
    dispatcher = RabbitDispatcher(
        store,
        via_proxy,
        topology=topology,
        relay_interval=0.05,
        reconnect_delays=(0.05,),
        connect_timeout=1.0,
    )
    seen: Counter[str] = Counter()
    worker = RabbitWorker(counting_router(seen, "w", Counter()), amqp_url, topology=topology)
    await worker.start()
    sent: list[str] = []
    try:
        async with serve(create_app(keys=KEYS, dispatcher=dispatcher)) as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["broker"] == "unavailable"
            for i in range(12):  # the broker is unreachable: accepted into the outbox
                headers, body, event_id = card_request({"i": i})
                r = await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
                assert r.status_code == 200
                sent.append(event_id)
            assert store.counts() == {"pending": 12}
            assert sum(seen.values()) == 0
            await proxy.start()  # the broker is back
            await eventually(lambda: sum(seen.values()) >= 12, what="relayed callbacks handled")
            await eventually(lambda: store.counts() == {"done": 12}, what="outbox flushed")
            headers, body, event_id = card_request({"after": True})
            assert (
                await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
            ).status_code == 200
            sent.append(event_id)
            await eventually(lambda: sum(seen.values()) >= 13, what="live publish")
    finally:
        await worker.stop(5)
        await proxy.stop()
    assert seen == Counter(sent) and set(seen.values()) == {1}


async def test_broker_lost_mid_run_loses_nothing(
    tmp_path: Path, amqp_url: str, topology: RabbitTopology
) -> None:
    """The broker goes away while the server is publishing, then comes back: callbacks
    accepted meanwhile wait in the outbox and each is handled once."""
    from urllib.parse import urlparse

    parsed = urlparse(amqp_url)
    proxy = Proxy(parsed.port or 5672)
    via_proxy = amqp_url.replace(f":{parsed.port or 5672}", f":{proxy.port}", 1)
    await proxy.start()
    store = OutboxStore(f"sqlite:///{tmp_path / 'state.db'}")
    dispatcher = RabbitDispatcher(
        store,
        via_proxy,
        topology=topology,
        relay_interval=0.05,
        reconnect_delays=(0.05,),
        connect_timeout=1.0,
    )
    seen: Counter[str] = Counter()
    worker = RabbitWorker(counting_router(seen, "w", Counter()), amqp_url, topology=topology)
    await worker.start()
    sent: list[str] = []

    async def post(http: Any, i: int) -> None:
        headers, body, event_id = card_request({"i": i})
        r = await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
        assert r.status_code == 200
        sent.append(event_id)

    try:
        async with serve(create_app(keys=KEYS, dispatcher=dispatcher)) as http:
            assert (await http.get("/readyz")).json()["broker"] == "ok"
            for i in range(5):  # the broker is up: published at once
                await post(http, i)
            await eventually(lambda: store.counts() == {"done": 5}, what="first five confirmed")
            await proxy.stop()  # the broker is lost mid-run
            await eventually(
                lambda: not dispatcher.publisher.connected, what="the connection noticed lost"
            )
            for i in range(5, 12):
                await post(http, i)
            assert (await http.get("/readyz")).json()["broker"] == "unavailable"
            assert store.counts().get("done") == 5 and sum(seen.values()) == 5
            await proxy.start()  # back
            await eventually(lambda: sum(seen.values()) >= 12, what="the backlog handled")
            await eventually(lambda: store.counts() == {"done": 12}, what="outbox flushed")
    finally:
        await worker.stop(5)
        await proxy.stop()
    assert seen == Counter(sent) and set(seen.values()) == {1}


async def test_published_messages_hold_no_verification_token_or_encrypt_key(
    tmp_path: Path, amqp_url: str, topology: RabbitTopology
) -> None:
    import aio_pika

    store = OutboxStore(f"sqlite:///{tmp_path / 'state.db'}")
    app = create_app(keys=KEYS, dispatcher=RabbitDispatcher(store, amqp_url, topology=topology))
    payload = card_action_payload(APP, value={"x": 1}, verification_token=VT, card_token="c-kept")
    async with serve(app) as http:
        headers, body = signed_request(payload, encrypt_key=EK)
        assert (
            await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
        ).status_code == 200
        await eventually(lambda: store.counts() == {"done": 1}, what="confirmed")
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(topology.queue, durable=True)
        message = await queue.get(no_ack=True, fail=False)
    assert message is not None
    assert VT.encode() not in message.body and EK.encode() not in message.body
    data = json.loads(message.body)
    assert "token" not in data["payload"]["header"]
    assert data["payload"]["event"]["token"] == "c-kept"  # the worker's delayed update needs it


async def test_a_failed_card_update_on_a_worker_is_retried_alone(
    amqp_url: str, topology: RabbitTopology, tmp_path: Path
) -> None:
    from lark_service.callbacks import CardUpdater
    from tests.callbacks._support import FlakyClient

    runs: list[int] = []
    router = CallbackRouter()

    @router.card_action()
    async def handler(event: Any, ctx: Any) -> dict[str, Any]:
        runs.append(ctx.attempt)
        return {"elements": [f"run {ctx.attempt}"]}

    client = FlakyClient(failures=1)
    updater = CardUpdater(client_factory=lambda: client)  # type: ignore[arg-type,return-value]
    worker = RabbitWorker(router, amqp_url, topology=topology, updater=updater)
    await worker.start()
    store = OutboxStore(f"sqlite:///{tmp_path / 'state.db'}")
    app = create_app(keys=KEYS, dispatcher=RabbitDispatcher(store, amqp_url, topology=topology))
    try:
        async with serve(app) as http:
            payload = card_action_payload(APP, value={}, verification_token=VT, card_token="c-u1")
            headers, body = signed_request(payload, encrypt_key=EK)
            r = await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
            assert r.status_code == 200
            await eventually(lambda: client.updates, what="the card updated on the retry")
    finally:
        await worker.stop(5)
    assert runs == [1]  # issue 10.3: the update is retried alone, the handler runs once
    assert client.updates == [{"token": "c-u1", "card": {"elements": ["run 1"]}}]
    assert await dlq_list(amqp_url, topology) == []


def _worker_process(
    amqp_url: str, topology: RabbitTopology, effects: Path, **env: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lark_service.cli",
            "worker",
            "--handlers",
            HANDLERS,
            "--amqp-url",
            amqp_url,
            "--exchange",
            topology.exchange,
            "--queue",
            topology.queue,
            "--retry-delays",
            ",".join(str(d) for d in topology.retry_delays),
            "--max-attempts",
            str(topology.max_attempts),
            "--prefetch",
            "1",
        ],
        env={**os.environ, "CB_EFFECTS": str(effects), "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_a_worker_killed_mid_handler_is_redelivered_and_completed(
    tmp_path: Path, amqp_url: str, topology: RabbitTopology
) -> None:
    effects = tmp_path / "effects.log"
    store = OutboxStore(f"sqlite:///{tmp_path / 'state.db'}")
    app = create_app(keys=KEYS, dispatcher=RabbitDispatcher(store, amqp_url, topology=topology))
    victim = _worker_process(amqp_url, topology, effects, CB_HANG="1")
    rescuer = None
    try:
        async with serve(app) as http:
            headers, body, event_id = card_request({"approve": 1})
            assert (
                await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
            ).status_code == 200
            await eventually(lambda: read_effects(str(effects)), timeout=30, what="victim started")
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            rescuer = _worker_process(amqp_url, topology, effects)
            await eventually(
                lambda: any(line[0] == "done" for line in read_effects(str(effects))),
                timeout=30,
                what="redelivered and completed",
            )
    finally:
        for proc in (victim, rescuer):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
    lines = read_effects(str(effects))
    assert [line[:2] for line in lines] == [
        ["start", event_id],
        ["start", event_id],
        ["done", event_id],
    ]
    assert lines[0][2] == str(victim.pid) and lines[2][2] == str(rescuer.pid if rescuer else 0)
    assert rescuer is not None and rescuer.returncode == 0  # SIGTERM: graceful stop


async def test_an_always_failing_handler_ends_in_the_dlq_and_can_be_replayed(
    tmp_path: Path, amqp_url: str, topology: RabbitTopology
) -> None:
    attempts: Counter[str] = Counter()
    fixed = asyncio.Event()
    router = CallbackRouter()

    @router.card_action()
    async def flaky(event: Any, ctx: Any) -> None:
        attempts[event.event_id] += 1
        if not fixed.is_set():
            raise RuntimeError(f"attempt {ctx.attempt} failed")

    worker = RabbitWorker(router, amqp_url, topology=topology)
    await worker.start()
    store = OutboxStore(f"sqlite:///{tmp_path / 'state.db'}")
    app = create_app(keys=KEYS, dispatcher=RabbitDispatcher(store, amqp_url, topology=topology))
    runner = CliRunner()
    args = ["--amqp-url", amqp_url, "--exchange", topology.exchange, "--queue", topology.queue]
    try:
        async with serve(app) as http:
            headers, body, event_id = card_request({"x": 1})
            assert (
                await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
            ).status_code == 200
            await eventually(lambda: attempts[event_id] >= 3, what="three attempts")
            dead: list[Any] = []

            async def dlq_has_it() -> bool:
                dead[:] = await dlq_list(amqp_url, topology)
                return bool(dead)

            for _ in range(200):
                if await dlq_has_it():
                    break
                await asyncio.sleep(0.02)
            assert [(d["event_id"], d["attempts"]) for d in dead] == [(event_id, 3)]
            assert "attempt 3 failed" in dead[0]["error"]
            assert attempts[event_id] == 3  # no more tries after the DLQ

            listed = await asyncio.to_thread(
                runner.invoke, cli, ["callbacks", "dlq", "list", *args]
            )
            assert listed.exit_code == 0, listed.output
            assert event_id in listed.output and "1 dead callback(s)" in listed.output

            fixed.set()
            replayed = await asyncio.to_thread(
                runner.invoke, cli, ["callbacks", "dlq", "replay", *args]
            )
            assert replayed.exit_code == 0 and "replayed 1" in replayed.output
            await eventually(lambda: attempts[event_id] == 4, what="replayed and handled")
            assert await dlq_list(amqp_url, topology) == []
    finally:
        await worker.stop(5)


async def test_inline_fallback_runs_handlers_while_the_broker_is_down(tmp_path: Path) -> None:
    from lark_service.server import ServerConfig

    seen: Counter[str] = Counter()
    router = counting_router(seen, "inline", Counter())
    dead_broker = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    app = create_app(
        router,
        keys=KEYS,
        dispatcher="rabbitmq",
        amqp_url=dead_broker,
        database_url=f"sqlite:///{tmp_path / 'state.db'}",
        config=ServerConfig(inline_when_broker_down=True),
    )
    async with serve(app) as http:
        headers, body, event_id = card_request({"inline": 1})
        r = await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
        assert r.status_code == 200
        await eventually(lambda: seen[event_id] == 1, what="inline run")
    assert OutboxStore(f"sqlite:///{tmp_path / 'state.db'}").counts() == {"done": 1}

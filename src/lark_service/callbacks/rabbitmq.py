"""RabbitMQ dispatch: the server publishes, ``lark-service worker`` consumes.

Topology (all durable, names from :class:`RabbitTopology`)::

    exchange <exchange> (topic) --#--> queue <queue>           consumed by workers
    queue <queue>.retry.<n>  TTL = retry delay n, dead-letters back into <queue>
    queue <queue>.dlq        callbacks that failed max_attempts times

Routing keys are ``<kind>.<app_id>.<event_type>`` (e.g. ``card.cli_a1.card.action.trigger``).
Messages are persistent and published with publisher confirms; a callback's outbox row is
marked done only once the broker confirmed it. While the broker is unreachable the server keeps
accepting into the outbox and :class:`RabbitDispatcher`'s relay publishes when it is back.

Message bodies never hold the app's verification token (the verifier drops it).

Workers ack manually after the handler (and any card update) finished, with a prefetch limit;
a worker that dies mid-handler leaves the message unacked, so the broker redelivers it. A
failing handler's (or failed card update's) message goes to the next retry queue (its attempt
count in the ``x-lark-attempts`` header), and after ``max_attempts`` to the DLQ, from where
``lark-service callbacks dlq replay`` puts it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..logging import get_logger
from .dispatch import CardUpdater, Dispatcher, Submission, _failure_text, _kind
from .models import parse_callback, without_verification_token
from .router import CallbackRouter, HandlerContext
from .store import OutboxItem, OutboxStore
from .verify import VerifiedCallback

if TYPE_CHECKING:
    import aio_pika

__all__ = [
    "ATTEMPTS_HEADER",
    "RabbitDispatcher",
    "RabbitPublisher",
    "RabbitTopology",
    "RabbitWorker",
    "dlq_list",
    "dlq_replay",
    "message_body",
    "routing_key",
]

ATTEMPTS_HEADER = "x-lark-attempts"
ERROR_HEADER = "x-lark-error"
_log = get_logger("lark_service.callbacks")


@dataclass(frozen=True)
class RabbitTopology:
    """Names and retry policy of the callback queues (see the module docstring)."""

    exchange: str = "lark.callbacks"
    queue: str = "lark.callbacks"
    binding_key: str = "#"
    retry_delays: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
    max_attempts: int = 5

    @property
    def dlq(self) -> str:
        """The dead-letter queue."""
        return f"{self.queue}.dlq"

    def retry_queue(self, index: int) -> str:
        """The retry queue holding messages for ``retry_delays[index]`` seconds."""
        return f"{self.queue}.retry.{index + 1}"

    def all_queues(self) -> list[str]:
        """Every queue of this topology."""
        retry = [self.retry_queue(i) for i in range(len(self.retry_delays))]
        return [self.queue, self.dlq, *retry]

    async def declare(self, channel: Any) -> tuple[Any, Any]:
        """Declare everything (idempotent); returns (exchange, main queue)."""
        import aio_pika

        exchange = await channel.declare_exchange(
            self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(self.queue, durable=True)
        await queue.bind(exchange, routing_key=self.binding_key)
        await channel.declare_queue(self.dlq, durable=True)
        for index, delay in enumerate(self.retry_delays):
            await channel.declare_queue(
                self.retry_queue(index),
                durable=True,
                arguments={
                    "x-message-ttl": max(1, int(delay * 1000)),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": self.queue,
                },
            )
        return exchange, queue

    async def delete(self, channel: Any) -> None:
        """Delete the queues and the exchange (tests, teardown)."""
        for name in self.all_queues():
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
        with contextlib.suppress(Exception):
            await channel.exchange_delete(self.exchange)


def routing_key(kind: str, app_id: str, event_type: str | None) -> str:
    """``<kind>.<app_id>.<event_type>``."""
    return f"{kind}.{app_id}.{event_type or 'unknown'}"


def message_body(item: OutboxItem) -> bytes:
    """The JSON a worker receives for an outbox row (never the verification token)."""
    data = {
        "outbox_id": item.id,
        "app_id": item.app_id,
        "kind": item.kind,
        "event_id": item.event_id,
        "event_type": item.event_type,
        "payload": without_verification_token(item.payload, item.kind),
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _message(body: bytes, message_id: str, attempts: int, **headers: Any) -> aio_pika.Message:
    import aio_pika

    return aio_pika.Message(
        body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
        headers={ATTEMPTS_HEADER: attempts, **headers},
    )


async def _connect(url: str, timeout: float) -> Any:
    import aio_pika

    return await asyncio.wait_for(aio_pika.connect(url, timeout=timeout), timeout + 1)


class RabbitPublisher:
    """One connection and confirming channel for publishing; reconnects on demand."""

    def __init__(self, url: str, topology: RabbitTopology, *, connect_timeout: float = 5.0) -> None:
        self.url = url
        self.topology = topology
        self.connect_timeout = connect_timeout
        self._connection: Any = None
        self._channel: Any = None
        self._exchange: Any = None
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        """Whether a channel is open."""
        return (
            self._channel is not None
            and not self._channel.is_closed
            and self._connection is not None
            and not self._connection.is_closed
        )

    async def connect(self) -> None:
        """Open the connection and declare the topology (raises when unreachable)."""
        async with self._lock:
            if self.connected:
                return
            await self._close()
            connection = await _connect(self.url, self.connect_timeout)
            try:
                channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
                exchange, _ = await self.topology.declare(channel)
            except BaseException:
                await connection.close()
                raise
            self._connection, self._channel, self._exchange = connection, channel, exchange

    async def publish(self, item: OutboxItem) -> None:
        """Publish one outbox row and wait for the broker's confirm (raises on failure)."""
        if not self.connected:
            await self.connect()
        message = _message(message_body(item), f"outbox-{item.id}", 0)
        await self._exchange.publish(
            message,
            routing_key=routing_key(item.kind, item.app_id, item.event_type),
            mandatory=True,
        )

    async def _close(self) -> None:
        connection, self._connection, self._channel, self._exchange = (
            self._connection,
            None,
            None,
            None,
        )
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def close(self) -> None:
        """Close the connection."""
        async with self._lock:
            await self._close()


class RabbitDispatcher(Dispatcher):
    """Stores, then publishes to RabbitMQ; a relay republishes what the broker missed.

    ``publish_lease``: seconds a just-accepted row is reserved for this process's immediate
    publish before the relay (of any process) may take it; ``relay_interval``: how often the
    relay looks for due rows; ``reconnect_delays``: waits between reconnection attempts.
    ``fallback`` (an :class:`~lark_service.callbacks.InProcessDispatcher` on the same store):
    while the broker is unreachable, run handlers in this process instead of holding the
    callbacks for the relay.
    """

    def __init__(
        self,
        store: OutboxStore,
        url: str,
        *,
        topology: RabbitTopology | None = None,
        publish_lease: float = 30.0,
        relay_interval: float = 1.0,
        reconnect_delays: Sequence[float] = (0.5, 1.0, 2.0, 5.0, 10.0),
        connect_timeout: float = 5.0,
        fallback: Dispatcher | None = None,
    ) -> None:
        self.store = store
        self.fallback = fallback
        self.topology = topology or RabbitTopology()
        self.publisher = RabbitPublisher(url, self.topology, connect_timeout=connect_timeout)
        self.publish_lease = publish_lease
        self.relay_interval = relay_interval
        self.reconnect_delays = tuple(reconnect_delays) or (1.0,)
        self._relay: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[bool]] = set()
        self._failures = 0
        self._wake = asyncio.Event()

    async def start(self) -> None:
        """Try to connect (failure is fine: the relay keeps trying) and start the relay."""
        try:
            await self.publisher.connect()
        except Exception as exc:
            _log.warning(
                "RabbitMQ unreachable (%s); callbacks stay in the outbox", type(exc).__name__
            )
        if self.fallback is not None:
            await self.fallback.start()
        if self._relay is None:
            self._relay = asyncio.create_task(self._relay_loop())

    async def submit(self, verified: VerifiedCallback) -> Submission:
        """Store the callback, then publish it in the background (the answer does not wait)."""
        if self.fallback is not None and not self.publisher.connected:
            return await self.fallback.submit(verified)  # handled here, never published
        item_id = await self._accept(verified, self.publish_lease)
        if item_id is None:
            return Submission(None, duplicate=True, reply_closed=True)
        item = OutboxItem.running(item_id, verified)
        if self.publisher.connected:
            task = asyncio.create_task(self._publish(item))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        else:
            await self._db(self.store.retry_later, item.id, None, 0.0)
            self._wake.set()
        return Submission(item_id, reply_closed=True)

    async def _publish(self, item: OutboxItem) -> bool:
        try:
            await self.publisher.publish(item)
        except Exception as exc:
            # the type only: a connection error's text may hold the broker URL (and its password)
            reason = type(exc).__name__
            _log.warning("publishing outbox %s failed (%s); the relay retries", item.id, reason)
            with contextlib.suppress(Exception):
                await self._db(self.store.retry_later, item.id, reason, 0.0)
            self._wake.set()
            return False
        await self._complete(item.id)
        return True

    async def relay_once(self) -> int:
        """Publish every due outbox row; returns how many were published."""
        if not self.publisher.connected:
            await self.publisher.connect()
        published = 0
        while True:
            items = await self._db(self.store.claim, 200, self.publish_lease)
            if not items:
                return published
            results = await asyncio.gather(*(self._publish(i) for i in items))
            published += sum(results)
            if not all(results):
                return published

    async def _relay_loop(self) -> None:
        while True:
            delay = self.relay_interval
            try:
                count = await self.relay_once()
                if count:
                    _log.info("relayed %s callbacks from the outbox to RabbitMQ", count)
                self._failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self.reconnect_delays[min(self._failures, len(self.reconnect_delays) - 1)]
                self._failures += 1
                _log.warning("RabbitMQ relay: %s; next try in %.1f s", type(exc).__name__, delay)
                await self.publisher.close()
            await self._maybe_purge()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish in-flight publishes, flush the outbox once, close the connection."""
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay
            self._relay = None
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=timeout)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.relay_once(), timeout)
        await self.publisher.close()
        if self.fallback is not None:
            await self.fallback.stop(timeout)
        self._close_db()

    async def readiness(self) -> dict[str, str]:
        """The database, and whether the broker is connected."""
        status = await super().readiness()
        status["broker"] = "ok" if self.publisher.connected else "unavailable"
        return status


class RabbitWorker:
    """Consumes the callback queue and runs ``router``'s handlers (``lark-service worker``).

    ``prefetch``: unacknowledged messages held at once (= concurrent handlers).
    """

    def __init__(
        self,
        router: CallbackRouter,
        url: str,
        *,
        topology: RabbitTopology | None = None,
        prefetch: int = 16,
        handler_timeout: float = 60.0,
        updater: CardUpdater | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        self.router = router
        self.url = url
        self.topology = topology or RabbitTopology()
        self.prefetch = prefetch
        self.handler_timeout = handler_timeout
        self.updater = updater or CardUpdater()
        self.connect_timeout = connect_timeout
        self._connection: Any = None
        self._channel: Any = None
        self._queue: Any = None
        self._tag: str | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self.processed = 0
        self.failed = 0

    async def start(self) -> None:
        """Connect, declare the topology and start consuming."""
        import aio_pika

        self._connection = await asyncio.wait_for(
            aio_pika.connect_robust(self.url, timeout=self.connect_timeout),
            self.connect_timeout + 1,
        )
        self._channel = await self._connection.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=self.prefetch)
        _, self._queue = await self.topology.declare(self._channel)
        self._tag = await self._queue.consume(self._on_message, no_ack=False)

    async def _on_message(self, message: Any) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            await self._handle(message)
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def _handle(self, message: Any) -> None:
        headers = dict(message.headers or {})
        try:
            attempts = int(headers.get(ATTEMPTS_HEADER, 0)) + 1
        except (TypeError, ValueError):
            attempts = 1
        try:
            data = json.loads(message.body)
            payload = data["payload"]
            app_id = str(data["app_id"])
            event = parse_callback(payload, _kind(str(data.get("kind"))), app_id)
        except Exception as exc:
            # the type only: a validation error quotes the payload (and its card token)
            reason = f"malformed: {type(exc).__name__}"
            _log.error("%s message %s in %s", reason, message.message_id, self.topology.queue)
            await self._dead(message, 1, reason)
            return
        ctx = HandlerContext(
            app_id=app_id,
            attempt=attempts,
            delivery="worker",
            dedup_key=event.dedup_keys[0] if event.dedup_keys else None,
            client=self.updater.client,
        )
        try:
            response = await asyncio.wait_for(
                self.router.dispatch(event, ctx), self.handler_timeout
            )
            await self.updater.apply(event, app_id, response)  # a failed update: retried too
        except Exception as exc:
            self.failed += 1
            await self._retry(message, attempts, _failure_text(exc, event))
            return
        await message.ack()
        self.processed += 1

    async def _retry(self, message: Any, attempts: int, error: str) -> None:
        delays = self.topology.retry_delays
        if attempts >= self.topology.max_attempts or not delays:
            _log.error(
                "message %s failed %s times; to the DLQ: %s", message.message_id, attempts, error
            )
            await self._dead(message, attempts, error)
            return
        target = self.topology.retry_queue(min(attempts - 1, len(delays) - 1))
        _log.warning(
            "message %s attempt %s failed; retry via %s: %s",
            message.message_id,
            attempts,
            target,
            error,
        )
        await self._forward(message, target, attempts, error)

    async def _dead(self, message: Any, attempts: int, error: str) -> None:
        await self._forward(message, self.topology.dlq, attempts, error)

    async def _forward(self, message: Any, queue: str, attempts: int, error: str) -> None:
        try:
            await self._channel.default_exchange.publish(
                _message(
                    message.body,
                    message.message_id or "",
                    attempts,
                    **{ERROR_HEADER: error[:500]},
                ),
                routing_key=queue,
            )
        except Exception as exc:
            _log.error(
                "cannot move message %s to %s (%s); requeued",
                message.message_id,
                queue,
                type(exc).__name__,
            )
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)
            return
        await message.ack()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop consuming, let running handlers finish within ``timeout``, disconnect."""
        if self._queue is not None and self._tag is not None:
            with contextlib.suppress(Exception):
                await self._queue.cancel(self._tag)
            self._tag = None
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=timeout)
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None
        await self.updater.aclose()

    async def run(self, stop: asyncio.Event, *, timeout: float = 10.0) -> None:
        """Consume until ``stop`` is set, then stop gracefully."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop(timeout)


# --- the dead-letter queue -----------------------------------------------------------------


async def _drain_dlq(
    url: str, topology: RabbitTopology, limit: int, visit: Callable[[Any, Any], Any]
) -> None:
    connection = await _connect(url, 5.0)
    try:
        channel = await connection.channel(publisher_confirms=True)
        # Only the queues used here: the retry queues' TTLs may differ from this process's.
        await channel.declare_queue(topology.queue, durable=True)
        dlq = await channel.declare_queue(topology.dlq, durable=True)
        held: list[Any] = []
        try:
            for _ in range(limit):
                message = await dlq.get(no_ack=False, fail=False)
                if message is None:
                    break
                if await visit(channel, message):
                    await message.ack()
                else:
                    held.append(message)
        finally:
            for message in held:
                with contextlib.suppress(Exception):
                    await message.nack(requeue=True)
    finally:
        await connection.close()


def _describe(message: Any) -> dict[str, Any]:
    headers = dict(message.headers or {})
    try:
        data = json.loads(message.body)
    except ValueError:
        data = {}
    error = headers.get(ERROR_HEADER)
    return {
        "message_id": message.message_id,
        "app_id": data.get("app_id"),
        "kind": data.get("kind"),
        "event_id": data.get("event_id"),
        "event_type": data.get("event_type"),
        "attempts": headers.get(ATTEMPTS_HEADER),
        "error": error.decode() if isinstance(error, bytes) else error,
    }


async def dlq_list(url: str, topology: RabbitTopology, *, limit: int = 100) -> list[dict[str, Any]]:
    """The messages in the DLQ (left in place), oldest first."""
    found: list[dict[str, Any]] = []

    async def visit(channel: Any, message: Any) -> bool:
        found.append(_describe(message))
        return False

    await _drain_dlq(url, topology, limit, visit)
    return found


async def dlq_replay(
    url: str,
    topology: RabbitTopology,
    *,
    message_ids: Sequence[str] | None = None,
    limit: int = 1000,
) -> int:
    """Move DLQ messages (all, or those with ``message_ids``) back to the work queue with a
    fresh attempt count; returns how many."""
    wanted = set(message_ids) if message_ids else None
    moved = 0

    async def visit(channel: Any, message: Any) -> bool:
        nonlocal moved
        if wanted is not None and message.message_id not in wanted:
            return False
        await channel.default_exchange.publish(
            _message(message.body, message.message_id or "", 0), routing_key=topology.queue
        )
        moved += 1
        return True

    await _drain_dlq(url, topology, limit, visit)
    return moved

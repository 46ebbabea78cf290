"""The server side of RabbitMQ dispatch: store, publish with confirms, relay the backlog.

A callback's outbox row is marked done only once the broker confirmed its message, so an
acknowledged callback is never lost: while the broker is unreachable the server keeps
accepting into the outbox and :class:`RabbitDispatcher`'s relay publishes when it is back.
The relay reconnects on its own backoff (``reconnect_delays``) whatever the traffic — new
callbacks never trigger an extra attempt — and logs one line per failed attempt.

The one window left: a server killed after the broker's confirm but before the row is marked
done republishes the row after its lease (``publish_lease``). Workers that share the state
database skip a message whose outbox id they already handled (see
:mod:`~lark_service.callbacks.rabbitmq.worker`), so the republished copy does not run the
handler twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ... import instrumentation
from ...logging import get_logger
from ..dispatch import Dispatcher, Submission
from ..store import OutboxItem, OutboxStore
from ..verify import VerifiedCallback
from .topology import RabbitTopology, make_message, message_body, routing_key
from .topology import connect as _plain_connect

__all__ = ["ConnectFunction", "RabbitDispatcher", "RabbitPublisher"]

ConnectFunction = Callable[[str, float], Awaitable[Any]]
"""``connect(url, timeout)`` → an aio-pika connection (injectable for tests)."""

_log = get_logger("lark_service.callbacks")


class RabbitPublisher:
    """One connection and confirming channel for publishing; reconnects on demand."""

    def __init__(
        self,
        url: str,
        topology: RabbitTopology,
        *,
        connect_timeout: float = 5.0,
        connect: ConnectFunction | None = None,
    ) -> None:
        self.url = url
        self.topology = topology
        self.connect_timeout = connect_timeout
        self._connect_fn = connect or _plain_connect
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
            connection = await self._connect_fn(self.url, self.connect_timeout)
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
        message = make_message(message_body(item), f"outbox-{item.id}", 0)
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
    relay looks for due rows; ``reconnect_delays``: waits between reconnection attempts (the
    last repeats), followed whatever the traffic. ``fallback`` (an
    :class:`~lark_service.callbacks.InProcessDispatcher` on the same store): while the broker
    is unreachable, run handlers in this process instead of holding the callbacks for the
    relay. ``owner``: the name rows are stored and relayed under (default: the fallback's
    router name, else ``rabbitmq:<exchange>``); pass the router's name so two services that
    share a state database relay only their own rows. ``connect`` / ``clock`` (monotonic
    seconds): injectable for tests.
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
        owner: str | None = None,
        connect: ConnectFunction | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.fallback = fallback
        self.topology = topology or RabbitTopology()
        self.publisher = RabbitPublisher(
            url, self.topology, connect_timeout=connect_timeout, connect=connect
        )
        self.publish_lease = publish_lease
        self.relay_interval = relay_interval
        self.reconnect_delays = tuple(reconnect_delays) or (1.0,)
        if owner is None:
            owner = getattr(fallback, "owner", "") or f"rabbitmq:{self.topology.exchange}"
        self.owner = owner
        self.clock = clock
        self.connect_attempts = 0
        """Reconnection attempts made so far (start included)."""
        self._relay: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[bool]] = set()
        self._failures = 0
        self._retry_at = 0.0
        self._publish_failing = False
        self._wake = asyncio.Event()

    async def start(self) -> None:
        """Try to connect (failure is fine: the relay keeps trying) and start the relay."""
        await self._try_connect()
        if self.fallback is not None:
            await self.fallback.start()
        if self._relay is None:
            self._relay = asyncio.create_task(self._relay_loop())

    async def _try_connect(self) -> bool:
        """Connected now? Makes one attempt when the backoff allows it (one log line if it
        fails), none otherwise."""
        if self.publisher.connected:
            return True
        if self.clock() < self._retry_at:
            return False
        self.connect_attempts += 1
        try:
            await self.publisher.connect()
        except Exception as exc:
            self._note_failure(exc, "unreachable")
            return False
        if self._failures:
            _log.info("RabbitMQ reachable again after %s failed attempt(s)", self._failures)
        self._failures = 0
        self._retry_at = 0.0
        return True

    def _note_failure(self, exc: BaseException, what: str) -> None:
        delay = self.reconnect_delays[min(self._failures, len(self.reconnect_delays) - 1)]
        self._failures += 1
        self._retry_at = self.clock() + delay
        # the type only: a connection error's text may hold the broker URL (and its password)
        _log.warning(
            "RabbitMQ %s (%s); callbacks stay in the outbox; attempt %s failed, next in %.1f s",
            what,
            type(exc).__name__,
            self._failures,
            delay,
        )

    async def submit(self, verified: VerifiedCallback) -> Submission:
        """Store the callback, then publish it in the background (the answer does not wait)."""
        if self.fallback is not None and not self.publisher.connected:
            return await self.fallback.submit(verified)  # handled here, never published
        item_id = await self._accept(verified, self.publish_lease)
        if item_id is None:
            return Submission(None, duplicate=True, reply_closed=True)
        item = OutboxItem.running(item_id, verified, owner=self.owner, now=self._now())
        if self.publisher.connected:
            task = asyncio.create_task(self._publish(item))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        else:  # the relay publishes it when the broker is back (on its own backoff)
            await self._db(self.store.retry_later, item.id, None, 0.0)
        return Submission(item_id, reply_closed=True)

    async def _publish(self, item: OutboxItem) -> bool:
        try:
            await self.publisher.publish(item)
        except Exception as exc:
            reason = type(exc).__name__  # not the text: it may hold the broker URL
            if not self._publish_failing:  # one line per outage, not one per callback
                self._publish_failing = True
                _log.warning("publishing to RabbitMQ failed (%s); the relay retries", reason)
            else:
                _log.debug("publishing outbox %s failed (%s)", item.id, reason)
            with contextlib.suppress(Exception):
                await self._db(self.store.retry_later, item.id, reason, 0.0)
            return False
        self._publish_failing = False
        await self._complete(item.id)
        instrumentation.emit(
            "callback.dispatched",
            item.app_id,
            kind=item.kind,
            event_type=item.event_type,
            dispatcher="rabbitmq",
        )
        return True

    async def relay_once(self) -> int:
        """Publish every due outbox row of this owner; returns how many were published
        (raises when the broker cannot be reached)."""
        if not self.publisher.connected:
            await self.publisher.connect()
        return await self._relay_batches()

    async def _relay_batches(self) -> int:
        published = 0
        while True:
            items = await self._db(
                functools.partial(self.store.claim, 200, self.publish_lease, owner=self.owner)
            )
            if not items:
                return published
            results = await asyncio.gather(*(self._publish(i) for i in items))
            published += sum(results)
            if not all(results):
                return published

    async def _relay_loop(self) -> None:
        while True:
            try:
                if await self._try_connect():
                    count = await self._relay_batches()
                    if count:
                        _log.info("relayed %s callbacks from the outbox to RabbitMQ", count)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # e.g. the outbox could not be read
                _log.warning("RabbitMQ relay: %s", type(exc).__name__)
            if self.publisher.connected:
                delay = self.relay_interval
            else:
                delay = max(0.0, self._retry_at - self.clock())
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
        if self.publisher.connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._relay_batches(), timeout)
        await self.publisher.close()
        if self.fallback is not None:
            await self.fallback.stop(timeout)
        self._close_db()

    async def readiness(self) -> dict[str, str]:
        """The database, and whether the broker is connected."""
        status = await super().readiness()
        status["broker"] = "ok" if self.publisher.connected else "unavailable"
        return status

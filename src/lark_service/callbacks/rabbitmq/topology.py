"""The RabbitMQ topology of the callback queues, and the message format.

All durable, names from :class:`RabbitTopology`::

    exchange <exchange> (topic) --#--> queue <queue>           consumed by workers
    queue <queue>.retry.<n>  TTL = retry delay n, dead-letters back into <queue>
    queue <queue>.dlq        callbacks that failed max_attempts times, or had no handler

Routing keys are ``<kind>.<app_id>.<event_type>`` (e.g. ``card.cli_a1.card.action.trigger``).
A message body is the outbox row as JSON (:func:`message_body`), never the app's
verification token; a message whose handler already ran and whose card update is still to do
also carries ``card_update`` (the card) and the ``x-lark-update-uses`` header.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..models import without_verification_token
from ..schedule import DEFAULT_RETRY_SCHEDULE, RetrySchedule
from ..store import OutboxItem

if TYPE_CHECKING:
    import aio_pika

__all__ = [
    "ATTEMPTS_HEADER",
    "ERROR_HEADER",
    "UPDATE_USES_HEADER",
    "RabbitTopology",
    "message_body",
    "routing_key",
]

ATTEMPTS_HEADER = "x-lark-attempts"
ERROR_HEADER = "x-lark-error"
UPDATE_USES_HEADER = "x-lark-update-uses"


@dataclass(frozen=True)
class RabbitTopology:
    """Names and retry policy of the callback queues (see the module docstring).

    ``retry_delays`` / ``max_attempts`` default to
    :data:`~lark_service.callbacks.execution.DEFAULT_RETRY_SCHEDULE`, as the in-process
    dispatcher's do; :attr:`retry` is them as one :class:`RetrySchedule`.
    """

    exchange: str = "lark.callbacks"
    queue: str = "lark.callbacks"
    binding_key: str = "#"
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE.delays
    max_attempts: int = DEFAULT_RETRY_SCHEDULE.max_attempts

    @classmethod
    def with_schedule(cls, schedule: RetrySchedule, **names: Any) -> RabbitTopology:
        """A topology whose retry queues follow ``schedule``."""
        return cls(retry_delays=schedule.delays, max_attempts=schedule.max_attempts, **names)

    @property
    def retry(self) -> RetrySchedule:
        """The retry schedule the workers follow."""
        return RetrySchedule(tuple(self.retry_delays), self.max_attempts)

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
    data: dict[str, Any] = {
        "outbox_id": item.id,
        "app_id": item.app_id,
        "kind": item.kind,
        "event_id": item.event_id,
        "event_type": item.event_type,
        "received_at": item.created_at or None,
        "payload": without_verification_token(item.payload, item.kind),
    }
    if item.card_update is not None:
        data["card_update"] = item.card_update
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def make_message(body: bytes, message_id: str, attempts: int, **headers: Any) -> aio_pika.Message:
    """A persistent JSON message with the attempt count (and ``headers``)."""
    import aio_pika

    return aio_pika.Message(
        body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
        headers={ATTEMPTS_HEADER: attempts, **headers},
    )


async def connect(url: str, timeout: float) -> Any:
    """A plain connection to the broker within ``timeout`` seconds."""
    import aio_pika

    return await asyncio.wait_for(aio_pika.connect(url, timeout=timeout), timeout + 1)


async def connect_robust(url: str, timeout: float) -> Any:
    """A self-reconnecting connection (workers), within ``timeout`` seconds for the first."""
    import aio_pika

    return await asyncio.wait_for(aio_pika.connect_robust(url, timeout=timeout), timeout + 1)


def header_int(headers: dict[str, Any], name: str) -> int:
    """An integer header (0 when absent or not a number)."""
    try:
        return int(headers.get(name, 0))
    except (TypeError, ValueError):
        return 0

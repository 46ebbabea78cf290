"""The dead-letter queue: list what failed, put it back to work.

A DLQ message keeps its body — for a card update that failed, with the card, so a replay
applies the update only — and says why in the ``x-lark-error`` header (``no_handler: …``,
``card update failed …``, or the handler's last error).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from .topology import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    UPDATE_USES_HEADER,
    RabbitTopology,
    connect,
    make_message,
)

__all__ = ["dlq_list", "dlq_replay"]


async def _drain_dlq(
    url: str, topology: RabbitTopology, limit: int, visit: Callable[[Any, Any], Any]
) -> None:
    connection = await connect(url, 5.0)
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
        "stage": "card_update" if data.get("card_update") is not None else "handler",
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
    fresh attempt count; returns how many. A dead card update stays an update (with the
    token uses it spent)."""
    wanted = set(message_ids) if message_ids else None
    moved = 0

    async def visit(channel: Any, message: Any) -> bool:
        nonlocal moved
        if wanted is not None and message.message_id not in wanted:
            return False
        headers = dict(message.headers or {})
        extra = {k: headers[k] for k in (UPDATE_USES_HEADER,) if k in headers}
        await channel.default_exchange.publish(
            make_message(message.body, message.message_id or "", 0, **extra),
            routing_key=topology.queue,
        )
        moved += 1
        return True

    await _drain_dlq(url, topology, limit, visit)
    return moved

"""``lark-service worker``: consume the callback queue and run the handlers.

Workers ack manually after the handler (and any card update) finished, with a prefetch limit;
a worker that dies mid-handler leaves the message unacked, so the broker redelivers it. What
happens to a message is decided by the values the in-process dispatcher uses too
(:func:`~lark_service.callbacks.execution.run_handler`, the topology's
:class:`~lark_service.callbacks.execution.RetrySchedule`):

- a failing handler's message goes to the next retry queue (its attempt count in the
  ``x-lark-attempts`` header), and after ``max_attempts`` to the DLQ;
- a message no route matches goes to the DLQ at once, with a ``no_handler`` reason;
- a card the handler returned that the delayed update could not apply is retried alone: the
  message goes on with ``card_update`` in its body (the handler does not run again), while
  the callback token has a use left and the error is retryable; else the update alone is
  dead-lettered with its own reason.

``lark-service callbacks dlq replay`` puts DLQ messages back.

**Duplicates.** With ``store`` (the server's state database) a worker records each outbox id
it handled (``<app_id>:handled:<outbox_id>`` in ``processed_events``) right after the
handler returned and before it acks, and skips a message whose id is recorded: a message
redelivered after the worker died before its ack, or republished by a server killed between
the broker's confirm and marking its row done, does not run the handler again. What is left is
at least once: a worker killed after the handler returned but before that record is written
runs it again on redelivery.

The worker starts even when the broker is unreachable: :meth:`RabbitWorker.run` retries
with backoff (one log line per attempt) and reports not ready (:attr:`RabbitWorker.ready`)
until it consumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import Any

from ... import instrumentation
from ...logging import get_logger
from ..dispatch import _kind
from ..execution import CardUpdater, run_handler
from ..models import CallbackEvent, parse_callback
from ..router import CallbackRouter, HandlerContext
from ..store import OutboxStore
from .publisher import ConnectFunction
from .topology import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    UPDATE_USES_HEADER,
    RabbitTopology,
    connect_robust,
    header_int,
    make_message,
)

__all__ = ["RabbitWorker"]

_log = get_logger("lark_service.callbacks")


class RabbitWorker:
    """Consumes the callback queue and runs ``router``'s handlers (``lark-service worker``).

    ``prefetch``: unacknowledged messages held at once (= concurrent handlers);
    ``store``: the server's state database, for the worker-side dedup on the outbox id (see
    the module docstring); ``reconnect_delays``: waits between connection attempts at start;
    ``connect``: injectable for tests.
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
        store: OutboxStore | None = None,
        reconnect_delays: Sequence[float] = (0.5, 1.0, 2.0, 5.0, 10.0),
        connect: ConnectFunction | None = None,
    ) -> None:
        self.router = router
        self.url = url
        self.topology = topology or RabbitTopology()
        self.prefetch = prefetch
        self.handler_timeout = handler_timeout
        self.updater = updater or CardUpdater()
        self.connect_timeout = connect_timeout
        self.store = store
        self.reconnect_delays = tuple(reconnect_delays) or (1.0,)
        self._connect_fn = connect or connect_robust
        self._connection: Any = None
        self._channel: Any = None
        self._queue: Any = None
        self._tag: str | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self.processed = 0
        self.failed = 0
        self.skipped = 0
        self._running: set[tuple[str, int]] = set()
        """(app_id, outbox_id) of the rows whose handler runs in this worker now."""
        """Messages skipped because their outbox id was already handled."""
        self.connect_attempts = 0

    @property
    def ready(self) -> bool:
        """Whether the worker is consuming (connected, queue declared)."""
        return (
            self._tag is not None
            and self._connection is not None
            and not getattr(self._connection, "is_closed", False)
        )

    async def readiness(self) -> dict[str, str]:
        """``{"broker": "ok" | "unavailable"}``."""
        return {"broker": "ok" if self.ready else "unavailable"}

    async def start(self) -> None:
        """Connect, declare the topology and start consuming (one attempt; raises)."""
        self.connect_attempts += 1
        self._connection = await self._connect_fn(self.url, self.connect_timeout)
        try:
            self._channel = await self._connection.channel(publisher_confirms=True)
            await self._channel.set_qos(prefetch_count=self.prefetch)
            _, self._queue = await self.topology.declare(self._channel)
            self._tag = await self._queue.consume(self._on_message, no_ack=False)
        except BaseException:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None
            raise

    async def start_when_reachable(self, stop: asyncio.Event) -> bool:
        """:meth:`start`, retried with ``reconnect_delays`` until it works or ``stop`` is
        set (then False). One WARNING per failed attempt; not ready meanwhile."""
        failures = 0
        while not stop.is_set():
            try:
                await self.start()
            except ImportError:  # a missing extra is not an outage: waiting cannot fix it
                raise
            except Exception as exc:
                delay = self.reconnect_delays[min(failures, len(self.reconnect_delays) - 1)]
                failures += 1
                # the type only: the error's text may hold the broker URL and its password
                _log.warning(
                    "RabbitMQ unreachable (%s); worker not ready; attempt %s failed, next in "
                    "%.1f s",
                    type(exc).__name__,
                    failures,
                    delay,
                )
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                continue
            if failures:
                _log.info("RabbitMQ reachable after %s failed attempt(s); consuming", failures)
            return True
        return False

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
        attempts = header_int(headers, ATTEMPTS_HEADER) + 1
        try:
            data = json.loads(message.body)
            payload = data["payload"]
            app_id = str(data["app_id"])
            event = parse_callback(payload, _kind(str(data.get("kind"))), app_id)
            card_update = data.get("card_update")
            if card_update is not None and not isinstance(card_update, dict):
                raise ValueError("card_update is not a card")
        except Exception as exc:
            # the type only: a validation error quotes the payload (and its card token)
            reason = f"malformed: {type(exc).__name__}"
            _log.error("%s message %s in %s", reason, message.message_id, self.topology.queue)
            await self._dead(message, 1, reason, None, "malformed")
            return
        if card_update is not None:  # the handler ran already: only the update is left
            await self._update(message, data, event, app_id, card_update, attempts)
            return
        outbox_id = data.get("outbox_id")
        # with the state database (the worker's dedup on outbox ids) a copy is also skipped
        # while the original still runs here
        running = (app_id, outbox_id) if self.store and isinstance(outbox_id, int) else None
        if running is not None and running in self._running:
            # a copy of a row this worker is running right now (republished after a broker
            # reconnect lost its confirm): the running one acks, or retries through the retry
            # queue, or is redelivered if this process dies, so the copy is not needed
            _log.info(
                "message %s: outbox %s is running here already; acked the copy",
                message.message_id,
                outbox_id,
            )
            self.skipped += 1
            await message.ack()
            return
        if running is not None:
            self._running.add(running)
        try:
            await self._run(message, data, event, app_id, attempts)
        finally:
            if running is not None:
                self._running.discard(running)

    async def _run(
        self, message: Any, data: dict[str, Any], event: CallbackEvent, app_id: str, attempts: int
    ) -> None:
        handled_key = self._handled_key(app_id, data.get("outbox_id"))
        if handled_key is not None and await self._already_handled(handled_key):
            _log.info(
                "message %s: outbox %s was handled already; acked without running the handler",
                message.message_id,
                data.get("outbox_id"),
            )
            self.skipped += 1
            await message.ack()
            return
        ctx = HandlerContext(
            app_id=app_id,
            attempt=attempts,
            delivery="worker",
            dedup_key=event.dedup_keys[0] if event.dedup_keys else None,
            client=self.updater.client,
        )
        outcome = await run_handler(self.router, event, ctx, timeout=self.handler_timeout)
        if outcome.status == "no_handler":
            await self._dead(message, attempts, outcome.error or "no_handler", event, "no_handler")
            return
        if outcome.status == "failed":
            self.failed += 1
            await self._retry(message, attempts, outcome.error or "failed", event)
            return
        if handled_key is not None:
            await self._remember(handled_key, app_id)  # marked before the ack
        card = outcome.card
        if card is not None:
            await self._update(message, data, event, app_id, card, attempts, uses=0)
            return
        await message.ack()
        self.processed += 1

    async def _update(
        self,
        message: Any,
        data: dict[str, Any],
        event: CallbackEvent,
        app_id: str,
        card: dict[str, Any],
        attempts: int,
        *,
        uses: int | None = None,
    ) -> None:
        if uses is None:
            uses = header_int(dict(message.headers or {}), UPDATE_USES_HEADER)
        received_at = data.get("received_at")
        result = await self.updater.attempt(
            event,
            app_id,
            card,
            uses=uses,
            received_at=float(received_at) if isinstance(received_at, (int, float)) else None,
        )
        if result.status in ("applied", "skipped"):
            await message.ack()
            self.processed += 1
            return
        body = json.dumps({**data, "card_update": card}, ensure_ascii=False).encode("utf-8")
        extra = {UPDATE_USES_HEADER: result.uses}
        index = self.topology.retry.index_after(attempts) if result.status == "retry" else None
        error = result.error or "card update failed"
        if index is None:
            _log.error(
                "card update of message %s is dead (the handler ran once): %s",
                message.message_id,
                error,
            )
            await self._forward(message, self.topology.dlq, attempts, error, body=body, **extra)
            self._dead_lettered(app_id, event, "card_update")
            return
        target = self.topology.retry_queue(index)
        _log.warning(
            "message %s attempt %s: card update failed; retrying the update alone via %s: %s",
            message.message_id,
            attempts,
            target,
            error,
        )
        await self._forward(message, target, attempts, error, body=body, **extra)

    # -- worker-side dedup on the outbox id ----------------------------------------------

    def _handled_key(self, app_id: str, outbox_id: Any) -> str | None:
        if self.store is None or not isinstance(outbox_id, int):
            return None
        return f"{app_id}:handled:{outbox_id}"

    async def _already_handled(self, key: str) -> bool:
        assert self.store is not None
        try:
            return await asyncio.to_thread(self.store.is_processed, key)
        except Exception as exc:  # no dedup is better than no handling
            _log.warning("worker dedup lookup failed (%s); running the handler", type(exc).__name__)
            return False

    async def _remember(self, key: str, app_id: str) -> None:
        assert self.store is not None
        try:
            await asyncio.to_thread(self.store.remember, key, app_id)
        except Exception as exc:
            _log.warning("worker dedup record failed (%s)", type(exc).__name__)

    # -- moving messages -----------------------------------------------------------------

    async def _retry(self, message: Any, attempts: int, error: str, event: CallbackEvent) -> None:
        index = self.topology.retry.index_after(attempts)
        if index is None:
            _log.error(
                "message %s failed %s times; to the DLQ: %s", message.message_id, attempts, error
            )
            await self._dead(message, attempts, error, event, "max_attempts")
            return
        target = self.topology.retry_queue(index)
        _log.warning(
            "message %s attempt %s failed; retry via %s: %s",
            message.message_id,
            attempts,
            target,
            error,
        )
        await self._forward(message, target, attempts, error)

    async def _dead(
        self, message: Any, attempts: int, error: str, event: CallbackEvent | None, reason: str
    ) -> None:
        await self._forward(message, self.topology.dlq, attempts, error)
        app_id = event.app_id if event is not None else None
        instrumentation.emit(
            "callback.dead_lettered",
            app_id,
            event_type=event.event_type if event is not None else None,
            reason=reason,
        )

    def _dead_lettered(self, app_id: str, event: CallbackEvent, reason: str) -> None:
        instrumentation.emit(
            "callback.dead_lettered", app_id, event_type=event.event_type, reason=reason
        )

    async def _forward(
        self,
        message: Any,
        queue: str,
        attempts: int,
        error: str,
        *,
        body: bytes | None = None,
        **headers: Any,
    ) -> None:
        try:
            await self._channel.default_exchange.publish(
                make_message(
                    message.body if body is None else body,
                    message.message_id or "",
                    attempts,
                    **{ERROR_HEADER: error[:500]},
                    **headers,
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
        """Consume until ``stop`` is set (waiting for the broker first if it is unreachable),
        then stop gracefully."""
        try:
            if await self.start_when_reachable(stop):
                await stop.wait()
        finally:
            await self.stop(timeout)

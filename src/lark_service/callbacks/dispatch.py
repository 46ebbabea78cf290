"""Dispatchers: what happens to a verified callback after it is stored.

Both dispatchers first write the callback to the outbox — in the same transaction that claims
its dedup keys — and only then let the server answer 200, so an acknowledged callback is never
lost. Then:

- :class:`InProcessDispatcher` (the default) runs the handler on a pool of tasks in this
  process. A card handler that finishes within ``reply_wait`` seconds has its toast and card
  put in the HTTP answer; a later card is applied with the delayed-update API. A handler that
  raised is retried with the :class:`~lark_service.callbacks.execution.RetrySchedule`, then
  marked ``dead``. A delayed card update that failed is retried alone — the handler does not
  run again — while that is safe for the callback's token (two uses within 30 minutes), else
  the update alone is ``dead``. A callback no route matches is ``no_handler`` (WARNING), not
  done. Rows leased by a process that died are picked up again when their lease runs out,
  and pending rows when the server restarts — only rows of this dispatcher's router (its
  ``owner``): two services sharing one state database never take each other's rows.
- :class:`~lark_service.callbacks.rabbitmq.RabbitDispatcher` publishes to RabbitMQ, where
  ``lark-service worker`` processes run the handlers (the same
  :func:`~lark_service.callbacks.execution.run_handler` and schedule).

Handlers run **at least once**: a process that dies after a handler finished but before its
row was marked done runs it again when the lease runs out. Key side effects on
``ctx.dedup_key``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .. import instrumentation
from ..errors import MalformedCallbackError, StorageUnavailableError
from ..logging import get_logger
from .execution import (
    CARD_UPDATE_PATH,
    DEFAULT_RETRY_SCHEDULE,
    CardUpdater,
    HandlerOutcome,
    RetrySchedule,
    failure_text,
    run_handler,
)
from .models import CallbackEvent, content_digest, parse_callback
from .router import CallbackRouter, CardResponse, HandlerContext
from .store import AcceptRequest, OutboxItem, OutboxStore
from .verify import VerifiedCallback

__all__ = [
    "CARD_UPDATE_PATH",
    "DEFAULT_RETRY_DELAYS",
    "DEFAULT_RETRY_SCHEDULE",
    "CardUpdater",
    "Dispatcher",
    "HandlerOutcome",
    "InProcessDispatcher",
    "RetrySchedule",
    "StorageUnavailableError",
    "Submission",
    "run_handler",
]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_RETRY_DELAYS: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE.delays
_log = get_logger("lark_service.callbacks")
_failure_text = failure_text  # the name the RabbitMQ modules used


@dataclass(eq=False)
class Submission:
    """A stored callback on its way to a handler, as the HTTP layer sees it."""

    outbox_id: int | None
    duplicate: bool = False
    _future: asyncio.Future[CardResponse | None] | None = field(default=None, repr=False)
    answered: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    reply_closed: bool = False

    async def reply(self, wait: float) -> CardResponse | None:
        """What to show in the HTTP answer: the handler's result if it comes within ``wait``."""
        if self._future is None or self.reply_closed or wait <= 0:
            self.reply_closed = True
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(self._future), wait)
        except asyncio.TimeoutError:
            return None
        finally:
            self.reply_closed = True

    def offer(self, response: CardResponse | None) -> bool:
        """Give the handler's result to a waiting HTTP answer; False if it is already gone."""
        if self._future is None or self.reply_closed or self._future.done():
            return False
        self._future.set_result(response)
        return True

    def mark_answered(self) -> None:
        """The HTTP answer has been sent (delayed card updates may go now)."""
        self.reply_closed = True
        self.answered.set()


class Dispatcher:
    """The interface the server uses; see the module docstring."""

    store: OutboxStore

    async def start(self) -> None:
        """Start background work (workers, relay)."""

    async def submit(self, verified: VerifiedCallback) -> Submission:
        """Store a verified callback and queue it.

        Raises :class:`StorageUnavailableError` when the database cannot be written (answer
        503: Feishu pushes again) and :class:`~lark_service.errors.MalformedCallbackError`
        when this callback cannot be stored as given, e.g. a lone surrogate in its text
        (answer 400; other callbacks stored in the same group commit are not affected).
        """
        raise NotImplementedError

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish in-flight work within ``timeout`` seconds, then stop."""

    async def readiness(self) -> dict[str, str]:
        """``{"database": "ok" | error, ...}`` for ``/readyz``."""
        try:
            await asyncio.to_thread(self.store.ping)
        except Exception as exc:
            return {"database": f"unavailable: {type(exc).__name__}"}
        return {"database": "ok"}

    purge_interval: float = 3600.0
    """Seconds between deletions of expired dedup keys and old done outbox rows."""
    owner: str = ""
    """The router (service) whose outbox rows this dispatcher stores and claims."""
    _last_purge: float = 0.0
    _accepter: _Batcher[AcceptRequest, int | MalformedCallbackError | None] | None = None
    _completer: _Batcher[int, None] | None = None
    _executor: ThreadPoolExecutor | None = None

    async def _db(self, fn: Callable[..., R], *args: Any) -> R:
        """Run a blocking store call on this dispatcher's one database thread.

        One writer thread per process: SQLite allows one writer at a time, and writers of one
        process queuing on its lock would sleep in SQLite's busy handler instead.
        """
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="lark-callbacks-db")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _accept(self, verified: VerifiedCallback, lease: float | None) -> int | None:
        event = verified.event
        assert event is not None
        if self._accepter is None:
            self._accepter = _Batcher(self.store.accept_many, self._db)
        keys = event.dedup_keys or [f"{verified.app_id}:body:{content_digest(verified.payload)}"]
        request = AcceptRequest(
            app_id=verified.app_id,
            kind=verified.kind,
            dedup_keys=tuple(keys),
            event_id=event.event_id,
            event_type=event.event_type,
            payload=verified.payload,
            lease=lease,
            owner=self.owner,
        )
        try:
            result = await self._accepter.submit(request)
        except Exception as exc:
            _log.error("cannot store callback %s: %s", event.event_id, type(exc).__name__)
            raise StorageUnavailableError(str(type(exc).__name__)) from None
        if isinstance(result, MalformedCallbackError):
            _log.warning(
                "rejected a %s callback for %s: %s", verified.kind, verified.app_id, result
            )
            raise result
        return result

    def _now(self) -> float:
        return self.store.clock()

    def _close_db(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)

    async def _maybe_purge(self) -> None:
        now = time.monotonic()
        if now - self._last_purge < self.purge_interval:
            return
        self._last_purge = now
        try:
            removed = await self._db(self.store.purge)
        except Exception as exc:
            _log.warning("outbox purge failed: %s", type(exc).__name__)
            return
        if removed:
            _log.info("purged %s expired dedup keys and done outbox rows", removed)

    async def _complete(self, item_id: int) -> None:
        if self._completer is None:
            self._completer = _Batcher(self.store.complete_many, self._db)
        await self._completer.submit(item_id)


class _Batcher(Generic[T, R]):
    """Group commit: items submitted while a batch is being written go in the next one.

    One writer task at a time calls ``fn`` (blocking, in a thread) with everything pending, so
    under load many callbacks share one transaction and one fsync.
    """

    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[R]],
        run: Callable[..., Awaitable[Any]],
        max_batch: int = 256,
    ) -> None:
        self._fn = fn
        self._run_blocking = run  # the dispatcher's database thread, not the default pool
        self._max = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._pending:
            batch = self._pending[: self._max]
            del self._pending[: self._max]
            try:
                results = await self._run_blocking(self._fn, [item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


@dataclass(eq=False)
class _Job:
    item: OutboxItem
    event: CallbackEvent
    submission: Submission | None = None


class InProcessDispatcher(Dispatcher):
    """Runs handlers on ``workers`` tasks in this process, from the outbox; see the module doc.

    ``retry``: the :class:`RetrySchedule` (default: ``max_attempts`` runs with
    ``retry_delays`` between them) before a row is ``dead``; ``reply_wait``: seconds a card
    callback's answer waits for its handler; ``lease``: seconds a running row is reserved
    before another process may take it over; ``owner``: the name its rows are stored and
    claimed under (default ``router.name``).
    """

    def __init__(
        self,
        router: CallbackRouter,
        store: OutboxStore,
        *,
        workers: int = 8,
        max_attempts: int = DEFAULT_RETRY_SCHEDULE.max_attempts,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        retry: RetrySchedule | None = None,
        reply_wait: float = 1.0,
        handler_timeout: float = 60.0,
        lease: float | None = None,
        poll_interval: float = 1.0,
        updater: CardUpdater | None = None,
        owner: str | None = None,
    ) -> None:
        if workers < 1 or max_attempts < 1:
            raise ValueError("workers and max_attempts must be at least 1")
        self.router = router
        self.store = store
        self.workers = workers
        self.retry = retry or RetrySchedule(tuple(retry_delays), max_attempts)
        self.owner = owner if owner is not None else router.name
        self.reply_wait = reply_wait
        self.handler_timeout = handler_timeout
        self.lease = lease if lease is not None else 2 * handler_timeout + 30
        self.poll_interval = poll_interval
        self.updater = updater or CardUpdater()
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._poller: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._queued: set[int] = set()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the worker tasks and the outbox poller (resumes pending work)."""
        if self._tasks:
            return
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        self._poller = asyncio.create_task(self._poll())

    async def stop(self, timeout: float = 10.0) -> None:
        """Let queued and running handlers finish within ``timeout``; release what is left."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._tasks:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []
        leftover: list[int] = []
        while not self._queue.empty():
            leftover.append(self._queue.get_nowait().item.id)
            self._queue.task_done()
        if leftover:
            with contextlib.suppress(Exception):
                await self._db(self.store.release, leftover)
        self._queued.clear()
        await self.updater.aclose()
        self._close_db()

    # -- accepting -----------------------------------------------------------------------

    @property
    def max_attempts(self) -> int:
        """Runs before a row is dead (``retry.max_attempts``)."""
        return self.retry.max_attempts

    @property
    def retry_delays(self) -> tuple[float, ...]:
        """Seconds between runs (``retry.delays``)."""
        return self.retry.delays

    async def submit(self, verified: VerifiedCallback) -> Submission:
        """Store the callback (leased to this process) and queue it for a worker."""
        item_id = await self._accept(verified, self.lease)
        if item_id is None:
            return Submission(None, duplicate=True, reply_closed=True)
        assert verified.event is not None
        loop = asyncio.get_running_loop()
        submission = Submission(item_id, _future=loop.create_future())
        item = OutboxItem.running(item_id, verified, owner=self.owner, now=self._now())
        self._enqueue(_Job(item, verified.event, submission))
        instrumentation.emit(
            "callback.dispatched",
            verified.app_id,
            kind=verified.kind,
            event_type=verified.event.event_type,
            dispatcher="inprocess",
        )
        return submission

    def _enqueue(self, job: _Job) -> None:
        self._queued.add(job.item.id)
        self._queue.put_nowait(job)

    # -- working -------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._run(job)
            except Exception:  # never let a worker die
                _log.exception("callback worker failed on outbox row %s", job.item.id)
            finally:
                self._queued.discard(job.item.id)
                self._queue.task_done()

    async def _run(self, job: _Job) -> None:
        item, event, sub = job.item, job.event, job.submission
        if item.card_update is not None:  # the handler ran already: only the update is left
            if sub is not None:
                sub.offer(None)
            await self._update(item, event, item.card_update, item.update_uses)
            return
        ctx = HandlerContext(
            app_id=item.app_id,
            attempt=item.attempts,
            delivery="inline" if sub is not None and not sub.reply_closed else "queued",
            dedup_key=event.dedup_keys[0] if event.dedup_keys else None,
            client=self.updater.client if self.updater is not None else None,
        )
        outcome = await run_handler(self.router, event, ctx, timeout=self.handler_timeout)
        if outcome.status != "handled":
            if sub is not None:
                sub.offer(None)
            if outcome.status == "no_handler":
                await self._db(self.store.no_handler, item.id, outcome.error)
                self._dead_lettered(item, "no_handler")
            else:
                await self._failed(item, outcome.error or "failed")
            return
        response = outcome.response
        card = outcome.card
        if not (sub is not None and sub.offer(response)) and card is not None:
            if sub is not None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(sub.answered.wait(), 10.0)
            await self._update(item, event, card, 0)
            return
        await self._complete(item.id)

    async def _update(
        self, item: OutboxItem, event: CallbackEvent, card: dict[str, Any], uses: int
    ) -> None:
        """Apply the card the handler returned; on failure retry the update alone (when safe
        for the token) or dead-letter it — the handler never runs again for it."""
        result = await self.updater.attempt(
            event, item.app_id, card, uses=uses, received_at=item.created_at, now=self._now()
        )
        if result.status in ("applied", "skipped"):
            await self._complete(item.id)
            return
        delay = self.retry.delay_after(item.attempts) if result.status == "retry" else None
        if delay is None:
            _log.error(
                "card update of callback %s (outbox %s) is dead (the handler ran once): %s",
                item.event_id,
                item.id,
                result.error,
            )
            self._dead_lettered(item, "card_update")
        else:
            _log.warning(
                "callback %s (outbox %s) attempt %s failed, retrying the card update alone in "
                "%.1f s: %s",
                item.event_id,
                item.id,
                item.attempts,
                delay,
                result.error,
            )
        await self._db(
            functools.partial(
                self.store.hold_update,
                item.id,
                card,
                uses=result.uses,
                error=result.error,
                delay=delay,
            )
        )

    async def _failed(self, item: OutboxItem, error: str) -> None:
        delay = self.retry.delay_after(item.attempts)
        if delay is None:
            _log.error(
                "callback %s (outbox %s) failed %s times, giving up: %s",
                item.event_id,
                item.id,
                item.attempts,
                error,
            )
            await self._db(self.store.bury, item.id, error)
            self._dead_lettered(item, "max_attempts")
            return
        _log.warning(
            "callback %s (outbox %s) attempt %s failed, retrying in %.1f s: %s",
            item.event_id,
            item.id,
            item.attempts,
            delay,
            error,
        )
        await self._db(self.store.retry_later, item.id, error, delay)

    def _dead_lettered(self, item: OutboxItem, reason: str) -> None:
        instrumentation.emit(
            "callback.dead_lettered", item.app_id, event_type=item.event_type, reason=reason
        )

    async def _poll(self) -> None:
        while True:
            try:
                await self.poll_once()
            except Exception as exc:
                _log.error("outbox poll failed: %s", type(exc).__name__)
            await self._maybe_purge()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()

    async def poll_once(self) -> int:
        """Queue the outbox rows that are due (retries, restarts, expired leases)."""
        room = self.workers * 2 - self._queue.qsize()
        if room <= 0:
            return 0
        items = await self._db(
            functools.partial(self.store.claim, room, self.lease, owner=self.owner)
        )
        for item in items:
            if item.id in self._queued:
                continue
            self._enqueue(_Job(item, _event(item)))
        return len(items)

    async def run_due(self) -> int:
        """Run every due outbox row now, in this task (tests and tools); how many ran."""
        items = await self._db(
            functools.partial(self.store.claim, 1000, self.lease, owner=self.owner)
        )
        for item in items:
            await self._run(_Job(item, _event(item)))
        return len(items)

    async def join(self) -> None:
        """Wait until every queued job has run (tests)."""
        await self._queue.join()


def _kind(value: str) -> Any:
    return "card" if value == "card" else "event"


def _event(item: OutboxItem) -> CallbackEvent:
    return parse_callback(item.payload, _kind(item.kind), item.app_id)

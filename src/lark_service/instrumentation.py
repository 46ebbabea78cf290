"""One event interface for everything lark-service does: requests, tokens, caches, callbacks.

The pipeline, the credential pool, the contact cache and the callback path call :func:`emit`;
subscribers receive an :class:`Event`. Logging is one subscriber; metrics (the ``metrics``
extra) is another; a test can record events with :class:`EventRecorder`::

    from lark_service import instrumentation

    with instrumentation.EventRecorder() as events:
        client.messaging.send_text_message("ou_1", "hi")
    assert events.names() == ["request.started", "request.finished", ...]

An emit with no subscriber costs one attribute read and a truth test. A subscriber that raises
is logged once per subscriber and never breaks the call that emitted.

Event names (``Event.name``) and their fields (``Event.fields``):

=========================  ====================================================================
``request.started``        method, path, family, attempt, request_id
``request.finished``       method, path, family, attempt, request_id, status, code, outcome
                           (``ok`` or the error class name), duration (s), log_id
``request.retried``        method, path, family, request_id, reason, delay, retry_number
``request.rate_limited``   method, path, family, request_id, retry_after (Feishu said wait)
``pacing.waited``          family, key, delay (seconds the local pacing table held a call)
                           and stage (reserve/admit); key is the key's kind (receiver,
                           document, table, message, card or None), never the id
``token.fetched``          kind, subject, duration, outcome
``token.refreshed``        kind, subject (a background refresh ahead of expiry)
``token.evicted``          kind, subject, reason
``token.lock_waited``      kind, wait (seconds spent waiting for the refresh lock)
``token.failed``           kind, error (class name)
``token.expiry``           kind, subject, expires_in (seconds until the token expires)
``token.refresh_expiry``   kind, subject, expires_in (seconds until the soonest user refresh
                           token of the app expires; the scheduler's user_token_watch job)
``auth.authorization_started``    method (``link``, ``card``, ``device``): a consent link/card made
                           or a device authorization started
``auth.authorization_completed``  method, outcome (``ok``): a user's tokens stored
``auth.authorization_failed``     method, outcome (``denied``, ``expired``, ``timeout``,
                           ``used`` or the error class name)
``auth.user_token_refreshed``     method (``refresh_token``), outcome (``ok``, ``dead``: the
                           refresh token was refused and the user must authorize again, or the
                           error class name)
``auth.user_token_revoked``       method (``event``: auth.user_access_token.revoked_v4;
                           ``local``: client.auth.revoke), outcome (``forgotten``, ``none``).
                           No auth event carries the user's id or a token
``cache.hit``              cache, field
``cache.miss``             cache, field
``callback.received``      kind (event/card)
``callback.verified``      kind
``callback.rejected``      kind, reason, status
``callback.stored``        kind, event_type
``callback.duplicate``     kind, event_type
``callback.dispatched``    kind, event_type, dispatcher
``callback.handled``       event_type, duration, outcome
``callback.failed``        event_type, error, attempt
``callback.dead_lettered`` event_type, reason
``longconn.state``         state (``connecting``, ``connected``, ``reconnecting``, ``stopped``,
                           ``failed``) of an app's long connection
``longconn.reconnect``     reason (``dropped``, ``half_open``, ``connect_failed``), attempt,
                           delay (s before the next attempt)
``longconn.half_open``     ping_interval (a ping went unanswered: the socket is replaced)
``longconn.frame``         type (``event``, ``card``, ``ping``, ``pong``), parts (a data frame
                           once reassembled; ``sum`` parts)
``longconn.ack``           kind (event/card), status (200 or 500 in the ack), sent (bool),
                           latency (s from the frame's arrival to its ack)
``longconn.reassembly_dropped``  reason (``expired``, ``overflow``): a split message given up
``drive.upload_resumed``   kind (media/file), parts_done, parts (a multipart upload continued
                           from its resume file)
``scheduler.job_started``  job (token_sweep, contact_sync, user_token_watch, cleanup,
                           health_check)
``scheduler.job_finished`` job, outcome (``ok``, ``failed``, ``skipped``), duration (s)
                           and, for ``skipped``, reason (``elsewhere``: another replica
                           has the occurrence; ``running``: the job still runs). Every
                           replica emits both events for every occurrence it considers
``gateway.request``        operation (the OpenAPI operationId, or ``unmatched``), method,
                           status, outcome (``ok`` or the error type), key (the API key's
                           name, never the key), replayed (an Idempotency-Key replay),
                           duration (s); app_id is the app the request named or resolved to
=========================  ====================================================================

``callback.dispatched``'s ``dispatcher`` is ``inprocess`` or ``rabbitmq`` (sent once the broker
confirmed); ``callback.dead_lettered``'s ``reason`` is ``max_attempts``, ``no_handler``,
``card_update`` (the handler ran; its card could not be applied) or ``malformed``.

Every event also carries ``app_id`` (None when there is none) and ``time`` (``time.time()``).
Never put secrets, token values, message ids or user ids in ``fields`` that a metrics
subscriber would turn into labels: ``subject`` is a kind (``app``/``tenant``/``user``), not a
user id.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

__all__ = [
    "Event",
    "EventRecorder",
    "Subscriber",
    "emit",
    "enabled",
    "subscribe",
    "subscribed",
    "unsubscribe",
    "wanted",
]


@dataclass(frozen=True)
class Event:
    """One thing that happened: ``name`` (see the module docstring), the app, and fields."""

    name: str
    app_id: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    time: float = 0.0

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


Subscriber = Callable[[Event], None]


class _Hub:
    __slots__ = ("failed", "lock", "names", "subscribers")

    def __init__(self) -> None:
        self.subscribers: tuple[Subscriber, ...] = ()
        self.names: frozenset[str] | None = frozenset()
        """The event names some subscriber handles; None: some subscriber takes every name."""
        self.lock = threading.Lock()
        self.failed: set[int] = set()

    def update(self, subscribers: tuple[Subscriber, ...]) -> None:
        names: set[str] | None = set()
        for subscriber in subscribers:
            declared = getattr(subscriber, "event_names", None)
            if declared is None or names is None:
                names = None
            else:
                names.update(declared)
        # one assignment each: emitters read them without the lock
        self.names = frozenset(names) if names is not None else None
        self.subscribers = subscribers


_hub = _Hub()


def subscribe(subscriber: Subscriber) -> Subscriber:
    """Call ``subscriber(event)`` for every event from now on (usable as a decorator).

    Subscribers run synchronously in the thread (or event loop) that emitted: keep them quick
    and never block. Subscribing the same callable twice is a no-op.

    A subscriber that handles only some events may say which with an ``event_names``
    attribute (a set of names, read when it subscribes): an event no subscriber handles is
    then not built at all (the logging subscriber takes only ``request.finished`` and
    ``request.retried``). It is a hint, not a filter: an event another subscriber handles
    reaches every subscriber, so ignore names you do not handle.
    """
    with _hub.lock:
        if subscriber not in _hub.subscribers:
            _hub.update((*_hub.subscribers, subscriber))
    return subscriber


def unsubscribe(subscriber: Subscriber) -> None:
    """Stop calling ``subscriber`` (no error when it was not subscribed)."""
    with _hub.lock:
        _hub.update(tuple(s for s in _hub.subscribers if s != subscriber))


@contextlib.contextmanager
def subscribed(subscriber: Subscriber) -> Iterator[Subscriber]:
    """``with subscribed(fn):`` subscribe for the block only."""
    subscribe(subscriber)
    try:
        yield subscriber
    finally:
        unsubscribe(subscriber)


def enabled() -> bool:
    """Whether anything listens (emitters may skip building costly fields when not)."""
    return bool(_hub.subscribers)


def wanted(name: str) -> bool:
    """Whether some subscriber handles events called ``name`` (see :func:`subscribe`'s
    ``event_names``): emitters skip building an event's fields when not."""
    names = _hub.names
    return names is None or name in names


def emit(name: str, app_id: str | None = None, **fields: Any) -> None:
    """Tell every subscriber that ``name`` happened. Never raises."""
    subscribers = _hub.subscribers
    if not subscribers:
        return
    names = _hub.names
    if names is not None and name not in names:
        return  # every subscriber declared it does not handle this name
    event = Event(name, app_id, fields, time.time())
    for subscriber in subscribers:
        try:
            subscriber(event)
        except Exception:
            key = id(subscriber)
            if key not in _hub.failed:
                _hub.failed.add(key)
                from .logging import get_logger

                get_logger("lark_service.instrumentation").exception(
                    "instrumentation subscriber %r failed (reported once)", subscriber
                )


class EventRecorder:
    """A subscriber that keeps every event, for tests: ``with EventRecorder() as events:``."""

    def __init__(self, *, prefix: str | None = None) -> None:
        self.prefix = prefix
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if self.prefix is None or event.name.startswith(self.prefix):
            with self._lock:
                self.events.append(event)

    def names(self) -> list[str]:
        """The names of the events seen so far, in order."""
        with self._lock:
            return [e.name for e in self.events]

    def named(self, name: str) -> list[Event]:
        """The events called ``name``."""
        with self._lock:
            return [e for e in self.events if e.name == name]

    def clear(self) -> None:
        with self._lock:
            self.events.clear()

    def __enter__(self) -> EventRecorder:
        subscribe(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        unsubscribe(self)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return other is self


# Subscribers that switch themselves on: Prometheus metrics when the ``metrics`` extra is
# installed (no enable call; ``LARK_METRICS=off`` to opt out), OpenTelemetry tracing when
# ``LARK_OTEL_ENABLED`` is set. Both cost next to nothing when absent.
from . import _metrics_autoload  # noqa: E402, F401
from .tracing import install_from_env as _install_tracing  # noqa: E402

_install_tracing()

"""OpenTelemetry spans for lark-service (the ``otel`` extra), as an instrumentation subscriber.

Off by default, and then free: nothing is subscribed, so an API call pays what it pays with no
subscriber at all. On with :func:`enable` (or ``LARK_OTEL_ENABLED=true``, read by
:func:`install_from_env`), it turns :mod:`lark_service.instrumentation` events into spans on
the tracer provider your application configured (``opentelemetry-sdk`` with an exporter;
without one, OpenTelemetry's no-op provider drops them):

=====================  ===========================================================  ========
span                   from the event and its attributes                            kind
=====================  ===========================================================  ========
``lark.request``       ``request.finished``: ``lark.request_id``, ``lark.app_id``,  CLIENT
                       ``lark.endpoint`` (the path), ``lark.family``,
                       ``http.request.method``, ``http.response.status_code``,
                       ``lark.code``, ``lark.attempt``, ``lark.log_id``, with the
                       call's retries and rate-limit waits as span events
``lark.token.fetch``   ``token.fetched``: ``lark.app_id``, ``lark.token_kind``,     CLIENT
                       ``lark.outcome``
``lark.callback``      ``callback.handled`` / ``callback.failed``:                  CONSUMER
                       ``lark.app_id``, ``lark.event_type``, ``lark.outcome``
``lark.callback.       ``callback.rejected``: ``lark.reason``, ``http.response.     SERVER
rejected``             status_code``
``lark.scheduler.job`` ``scheduler.job_finished``: ``lark.job``, ``lark.outcome``   INTERNAL
=====================  ===========================================================  ========

Spans are made when the work ends, with its measured start (``duration`` of the event): the
parent is the span current in the caller (an emit runs in the caller's thread or task), so a
call made inside your own span nests under it. A failed outcome sets the span's status to
ERROR. No token, secret, message body or user id is put on a span.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

from . import instrumentation

__all__ = ["disable", "enable", "enabled", "install_from_env"]

_TRUE = ("1", "true", "yes", "on")
_MAX_PENDING = 4096  # retries kept for requests still in flight (bounded)

_lock = threading.Lock()
_subscriber: _Tracer | None = None


def enabled() -> bool:
    """Whether spans are being made."""
    return _subscriber is not None


def enable(tracer_provider: Any = None) -> None:
    """Start making spans (on ``tracer_provider``, default the global one). Idempotent.

    Raises :class:`~lark_service.errors.ConfigError` without the ``otel`` extra.
    """
    global _subscriber
    try:
        from opentelemetry import trace
    except ImportError:
        from .errors import ConfigError

        raise ConfigError(
            "tracing needs the optional package opentelemetry-api",
            hint="pip install 'lark-service[otel]'",
        ) from None
    with _lock:
        if _subscriber is not None:
            instrumentation.unsubscribe(_subscriber)
        provider = tracer_provider or trace.get_tracer_provider()
        _subscriber = _Tracer(provider.get_tracer("lark_service"))
        instrumentation.subscribe(_subscriber)


def disable() -> None:
    """Stop making spans."""
    global _subscriber
    with _lock:
        if _subscriber is not None:
            instrumentation.unsubscribe(_subscriber)
            _subscriber = None


def install_from_env() -> bool:
    """:func:`enable` when ``LARK_OTEL_ENABLED`` is true (and the extra is installed; else
    one warning). Returns whether tracing is on. Reads only the environment: cheap."""
    if os.environ.get("LARK_OTEL_ENABLED", "").strip().lower() not in _TRUE:
        return enabled()
    try:
        enable()
    except Exception as exc:
        from .logging import get_logger

        get_logger("lark_service.tracing").warning(
            "LARK_OTEL_ENABLED is set but tracing cannot start: %s", exc
        )
        return False
    return True


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


class _Tracer:
    """The subscriber: one span per finished unit of work."""

    def __init__(self, tracer: Any) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        self.tracer = tracer
        self.kind = SpanKind
        self.status = Status
        self.code = StatusCode
        self.pending: OrderedDict[str, list[tuple[str, float, dict[str, Any]]]] = OrderedDict()
        self.guard = threading.Lock()
        self.handlers = {
            "request.retried": self._note,
            "request.rate_limited": self._note,
            "request.finished": self._request,
            "token.fetched": self._token,
            "callback.handled": self._callback,
            "callback.failed": self._callback,
            "callback.rejected": self._rejected,
            "scheduler.job_finished": self._job,
        }

    def __call__(self, event: instrumentation.Event) -> None:
        handler = self.handlers.get(event.name)
        if handler is not None:
            handler(event)

    # -- helpers ---------------------------------------------------------------------------

    def _span(
        self,
        name: str,
        event: instrumentation.Event,
        kind: Any,
        attributes: dict[str, Any],
        *,
        failed: bool,
        error: str | None = None,
        notes: list[tuple[str, float, dict[str, Any]]] | None = None,
    ) -> None:
        end = event.time
        duration = event.get("duration")
        start = end - float(duration) if isinstance(duration, int | float) else end
        clean = {k: v for k, v in attributes.items() if v is not None}
        if event.app_id:
            clean["lark.app_id"] = event.app_id
        span = self.tracer.start_span(name, kind=kind, attributes=clean, start_time=_ns(start))
        for note_name, at, note_attrs in notes or ():
            span.add_event(note_name, attributes=note_attrs, timestamp=_ns(at))
        if failed:
            span.set_status(self.status(self.code.ERROR, error))
        span.end(end_time=_ns(end))

    # -- events ----------------------------------------------------------------------------

    def _note(self, event: instrumentation.Event) -> None:
        request_id = event.get("request_id")
        if not request_id:
            return
        attrs = {
            k: v
            for k, v in event.fields.items()
            if k in ("reason", "delay", "retry_number", "retry_after")
            and isinstance(v, str | int | float)
        }
        with self.guard:
            self.pending.setdefault(request_id, []).append((event.name, event.time, attrs))
            while len(self.pending) > _MAX_PENDING:
                self.pending.popitem(last=False)

    def _request(self, event: instrumentation.Event) -> None:
        request_id = event.get("request_id")
        with self.guard:
            notes = self.pending.pop(request_id, None) if request_id else None
        outcome = event.get("outcome") or "ok"
        self._span(
            "lark.request",
            event,
            self.kind.CLIENT,
            {
                "lark.request_id": request_id,
                "lark.endpoint": event.get("path"),
                "lark.family": event.get("family"),
                "http.request.method": event.get("method"),
                "http.response.status_code": event.get("status"),
                "lark.code": event.get("code"),
                "lark.attempt": event.get("attempt"),
                "lark.outcome": outcome,
                "lark.log_id": event.get("log_id"),
            },
            failed=outcome != "ok",
            error=outcome,
            notes=notes,
        )

    def _token(self, event: instrumentation.Event) -> None:
        outcome = event.get("outcome") or "ok"
        self._span(
            "lark.token.fetch",
            event,
            self.kind.CLIENT,
            {"lark.token_kind": event.get("kind"), "lark.outcome": outcome},
            failed=outcome != "ok",
            error=outcome,
        )

    def _callback(self, event: instrumentation.Event) -> None:
        failed = event.name == "callback.failed"
        outcome = event.get("outcome") or ("failed" if failed else "ok")
        self._span(
            "lark.callback",
            event,
            self.kind.CONSUMER,
            {
                "lark.event_type": event.get("event_type"),
                "lark.outcome": outcome,
                "lark.attempt": event.get("attempt"),
                "lark.error": event.get("error") if failed else None,
            },
            failed=failed or outcome != "ok",
            error=str(event.get("error") or outcome),
        )

    def _rejected(self, event: instrumentation.Event) -> None:
        self._span(
            "lark.callback.rejected",
            event,
            self.kind.SERVER,
            {
                "lark.callback_kind": event.get("kind"),
                "lark.reason": event.get("reason"),
                "http.response.status_code": event.get("status"),
            },
            failed=True,
            error=str(event.get("reason")),
        )

    def _job(self, event: instrumentation.Event) -> None:
        outcome = event.get("outcome") or "ok"
        self._span(
            "lark.scheduler.job",
            event,
            self.kind.INTERNAL,
            {
                "lark.job": event.get("job"),
                "lark.outcome": outcome,
                "lark.reason": event.get("reason"),
            },
            failed=outcome == "failed",
            error=outcome,
        )

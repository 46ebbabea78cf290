"""Prometheus metrics for lark-service: a subscriber of :mod:`lark_service.instrumentation`.

Install the ``metrics`` extra (``pip install 'lark-service[metrics]'``) and the families below
appear in ``prometheus_client``'s default ``REGISTRY`` with no enable call: whatever already
serves that registry (``prometheus_client.start_http_server``, django-prometheus, a Celery
exporter) serves them. ``lark-service serve`` answers ``GET /metrics``; ``lark-service worker
--metrics-port 9464`` (and later the scheduler) start a small HTTP server for it.

How it is subscribed without an import cost for those who do not use it:
:mod:`lark_service._metrics_autoload` runs when :mod:`lark_service.instrumentation` is imported.
When ``prometheus_client`` is already imported it imports this module at once; when it is only
installed it subscribes a one-shot bootstrap that imports this module on the first event (so
``prometheus_client``'s ~50 ms import is paid once, by the first call that has something to
count); when it is not installed nothing happens. ``LARK_METRICS=off`` turns it off.
Importing this module yourself registers the families at once.

Labels are bounded on purpose: ``app_id``, endpoint family, method, outcome (``ok`` or an
error class of :mod:`lark_service.errors`), Feishu code, kinds and reasons from fixed lists.
Never a request id, message id, user id or free text: a value outside its list, or past a
per-label limit of distinct values, is counted as ``other``.

Scrape-time families (queried when Prometheus scrapes, cached ``max_age`` seconds, safe when
no database or broker is configured): the outbox depth and its oldest pending row
(:func:`watch_outbox`), the contact cache size (:func:`watch_contact_cache`), the RabbitMQ
callback queues' depth (:func:`watch_rabbitmq`) and the seconds until each token expires.

Multiprocess servers (gunicorn with several workers): set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty directory before the workers start, call
``prometheus_client.multiprocess.mark_process_dead(worker.pid)`` in gunicorn's ``child_exit``
hook, and serve :func:`render` (it aggregates every process's files). Gauges aggregate with
``max`` (timestamps) or ``livesum`` (running jobs); ``lark_token_expires_in_seconds`` is not
available in that mode: use ``lark_token_expiry_timestamp_seconds - time()``.

The full table (name, type, labels, help) is :data:`FAMILIES`; ``docs/operations.md`` shows it.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from . import instrumentation
from ._version import __version__

if TYPE_CHECKING:
    from .callbacks.store import OutboxStore
    from .contact.cache import UserCache

__all__ = [
    "FAMILIES",
    "METRICS",
    "Family",
    "LarkMetrics",
    "render",
    "retry_reason_class",
    "serve_metrics",
    "watch_contact_cache",
    "watch_outbox",
    "watch_rabbitmq",
]

_LATENCY = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_PACING = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0)
_HANDLER = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0)
_JOB = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)


@dataclass(frozen=True)
class Family:
    """One metric family: ``name``, ``type`` (counter/gauge/histogram), its labels and help.

    ``scrape`` families are computed when Prometheus scrapes (by a collector), not by events.
    """

    name: str
    type: str
    labels: tuple[str, ...]
    help: str
    buckets: tuple[float, ...] = ()
    scrape: bool = False
    mode: str = "max"  # the multiprocess aggregation of a gauge


def _f(name: str, kind: str, labels: str, text: str, **kw: Any) -> Family:
    return Family(name, kind, tuple(labels.split()) if labels else (), text, **kw)


FAMILIES: tuple[Family, ...] = (
    _f("lark_build_info", "gauge", "version", "Always 1; the lark-service version."),
    # -- API calls (request.*, pacing.waited) ------------------------------------------------
    _f(
        "lark_api_requests_total",
        "counter",
        "app_id endpoint method outcome code",
        "HTTP requests to the Feishu OpenAPI (every attempt), by endpoint family, outcome "
        "(ok or the error class) and Feishu code (0 when ok).",
    ),
    _f(
        "lark_api_request_duration_seconds",
        "histogram",
        "app_id endpoint method",
        "Seconds per OpenAPI request attempt.",
        buckets=_LATENCY,
    ),
    _f(
        "lark_api_retries_total",
        "counter",
        "app_id endpoint reason",
        "Retries by reason class (rate_limited, token_invalid, timeout, connection, "
        "server_error, other).",
    ),
    _f(
        "lark_api_retry_delay_seconds_total",
        "counter",
        "app_id endpoint reason",
        "Seconds waited before retries (backoff and Retry-After).",
    ),
    _f(
        "lark_api_rate_limited_total",
        "counter",
        "app_id endpoint",
        "Answers where Feishu said the call was rate limited.",
    ),
    _f(
        "lark_pacing_delay_seconds",
        "histogram",
        "app_id endpoint key stage",
        "Seconds the local pacing table held a call (key: the kind of pacing key).",
        buckets=_PACING,
    ),
    # -- tokens (token.*) ---------------------------------------------------------------------
    _f(
        "lark_token_fetches_total",
        "counter",
        "app_id kind outcome",
        "Token fetches from Feishu by kind (app/tenant/user) and outcome.",
    ),
    _f(
        "lark_token_fetch_duration_seconds",
        "histogram",
        "kind",
        "Seconds per token fetch.",
        buckets=_LATENCY,
    ),
    _f(
        "lark_token_refreshes_total",
        "counter",
        "app_id kind",
        "Background refreshes ahead of expiry.",
    ),
    _f(
        "lark_token_evictions_total",
        "counter",
        "app_id kind reason",
        "Cached tokens dropped (Feishu said invalid).",
    ),
    _f(
        "lark_token_lock_waits_total",
        "counter",
        "app_id kind outcome",
        "Waits for another process's token refresh lock.",
    ),
    _f(
        "lark_token_lock_wait_seconds",
        "histogram",
        "kind",
        "Seconds waited for the token refresh lock.",
        buckets=_PACING,
    ),
    _f(
        "lark_token_failures_total",
        "counter",
        "app_id kind error",
        "Token fetches or refreshes that failed, by error class.",
    ),
    _f(
        "lark_token_expiry_timestamp_seconds",
        "gauge",
        "app_id kind",
        "Unix time the newest known token of the app expires (from token.expiry).",
        mode="max",
    ),
    _f(
        "lark_token_expires_in_seconds",
        "gauge",
        "app_id kind",
        "Seconds until the newest known token of the app expires (computed on scrape; "
        "single-process mode only).",
        scrape=True,
    ),
    _f(
        "lark_token_refresh_expiry_timestamp_seconds",
        "gauge",
        "app_id kind",
        "Unix time the soonest user refresh token of the app expires (token.refresh_expiry, "
        "from the user_token_watch job).",
        mode="min",
    ),
    # -- caches (cache.*) -----------------------------------------------------------------------
    _f("lark_cache_hits_total", "counter", "app_id cache field", "Cache lookups answered."),
    _f("lark_cache_misses_total", "counter", "app_id cache field", "Cache lookups sent on."),
    _f(
        "lark_contact_cache_rows",
        "gauge",
        "app_id state",
        "Rows in the contact cache by state (live, expired, negative).",
        scrape=True,
    ),
    # -- callbacks (callback.*) -------------------------------------------------------------
    _f(
        "lark_callbacks_received_total",
        "counter",
        "app_id kind",
        "Callback requests received (kind: event or card).",
    ),
    _f("lark_callbacks_verified_total", "counter", "app_id kind", "Callbacks verified."),
    _f(
        "lark_callbacks_rejected_total",
        "counter",
        "app_id kind reason status",
        "Callbacks refused, by reason and HTTP status.",
    ),
    _f(
        "lark_callbacks_stored_total",
        "counter",
        "app_id kind event_type",
        "Callbacks stored in the outbox (acknowledged to Feishu).",
    ),
    _f(
        "lark_callbacks_duplicates_total",
        "counter",
        "app_id kind",
        "Callbacks acknowledged as duplicates.",
    ),
    _f(
        "lark_callbacks_dispatched_total",
        "counter",
        "app_id kind dispatcher",
        "Callbacks handed to a dispatcher (inprocess, or rabbitmq once confirmed).",
    ),
    _f(
        "lark_callbacks_handled_total",
        "counter",
        "app_id event_type outcome",
        "Handler runs that finished.",
    ),
    _f(
        "lark_callback_handler_duration_seconds",
        "histogram",
        "event_type",
        "Seconds per successful handler run.",
        buckets=_HANDLER,
    ),
    _f(
        "lark_callbacks_failed_total",
        "counter",
        "app_id event_type error",
        "Handler runs that raised (each attempt).",
    ),
    _f(
        "lark_callbacks_dead_lettered_total",
        "counter",
        "app_id event_type reason",
        "Callbacks given up on (max_attempts, no_handler, card_update).",
    ),
    _f(
        "lark_rabbitmq_publish_confirms_total",
        "counter",
        "app_id",
        "Outbox rows published to RabbitMQ and confirmed by the broker.",
    ),
    _f(
        "lark_rabbitmq_queue_messages",
        "gauge",
        "queue",
        "Messages ready in each callback queue (main, retry, dlq), read on scrape.",
        scrape=True,
    ),
    _f(
        "lark_rabbitmq_queue_consumers",
        "gauge",
        "queue",
        "Consumers (workers) attached to each callback queue, read on scrape.",
        scrape=True,
    ),
    _f(
        "lark_rabbitmq_up",
        "gauge",
        "",
        "1 when the last queue query on scrape reached the broker, else 0.",
        scrape=True,
    ),
    _f(
        "lark_callbacks_outbox_rows",
        "gauge",
        "status",
        "Outbox rows by status (pending, running, done, dead, no_handler).",
        scrape=True,
    ),
    _f(
        "lark_callbacks_outbox_oldest_pending_age_seconds",
        "gauge",
        "",
        "Age of the oldest pending outbox row (0 when none).",
        scrape=True,
    ),
    _f(
        "lark_callbacks_outbox_up",
        "gauge",
        "",
        "1 when the last outbox query on scrape worked, else 0.",
        scrape=True,
    ),
    # -- long connection (longconn.*) ----------------------------------------------------------
    _f(
        "lark_longconn_state",
        "gauge",
        "app_id state",
        "1 for the current state of an app's long connection (connecting, connected, "
        "reconnecting, stopped, failed), 0 for the others.",
        mode="max",
    ),
    _f(
        "lark_longconn_reconnects_total",
        "counter",
        "app_id reason",
        "Long-connection reconnects by reason (dropped, half_open, connect_failed).",
    ),
    _f(
        "lark_longconn_half_open_total",
        "counter",
        "app_id",
        "Unanswered pings (the socket was replaced).",
    ),
    _f(
        "lark_longconn_frames_total",
        "counter",
        "app_id type",
        "Frames received by type (event, card, ping, pong).",
    ),
    _f(
        "lark_longconn_acks_total",
        "counter",
        "app_id kind status sent",
        "Acks of long-connection events and cards (status in the ack; sent: written).",
    ),
    _f(
        "lark_longconn_ack_latency_seconds",
        "histogram",
        "kind",
        "Seconds from a frame's arrival to its ack.",
        buckets=_HANDLER,
    ),
    _f(
        "lark_longconn_reassembly_dropped_total",
        "counter",
        "app_id reason",
        "Split messages given up (expired, overflow).",
    ),
    # -- gateway (gateway.request) and drive ----------------------------------------------------
    _f(
        "lark_gateway_requests_total",
        "counter",
        "app_id operation method status outcome key",
        "Gateway API requests by operation, HTTP status, outcome and API key name.",
    ),
    _f(
        "lark_gateway_request_duration_seconds",
        "histogram",
        "operation",
        "Seconds per gateway request.",
        buckets=_LATENCY,
    ),
    _f(
        "lark_gateway_replays_total",
        "counter",
        "app_id operation",
        "Gateway requests answered from an Idempotency-Key replay.",
    ),
    _f(
        "lark_drive_uploads_resumed_total",
        "counter",
        "app_id kind",
        "Multipart uploads continued from their resume file.",
    ),
    # -- scheduler (scheduler.*) --------------------------------------------------------------
    _f(
        "lark_scheduler_job_runs_total",
        "counter",
        "job outcome",
        "Scheduled job runs by outcome (ok, failed, skipped...).",
    ),
    _f(
        "lark_scheduler_job_duration_seconds",
        "histogram",
        "job",
        "Seconds per scheduled job run.",
        buckets=_JOB,
    ),
    _f(
        "lark_scheduler_job_last_run_timestamp_seconds",
        "gauge",
        "job",
        "Unix time the job last finished (any outcome).",
        mode="max",
    ),
    _f(
        "lark_scheduler_job_last_success_timestamp_seconds",
        "gauge",
        "job",
        "Unix time the job last finished with outcome ok.",
        mode="max",
    ),
    _f(
        "lark_scheduler_jobs_running",
        "gauge",
        "job",
        "Job runs in progress.",
        mode="livesum",
    ),
)

# -- bounded label values ------------------------------------------------------------------------

OTHER = "other"

RETRY_REASONS = ("rate_limited", "token_invalid", "timeout", "connection", "server_error", OTHER)
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_TOKEN_KINDS = frozenset({"app", "tenant", "user"})
_CALLBACK_KINDS = frozenset({"event", "card"})
_REJECT_REASONS = frozenset(
    {
        "too_large",
        "malformed",
        "stale_timestamp",
        "bad_signature",
        "unknown_app",
        "keys_unavailable",
        "client_disconnected",
        "shutting_down",
        "not_started",
        "storage_unavailable",
        "internal_error",
        "DecryptError",
    }
)
_DEAD_REASONS = frozenset({"max_attempts", "no_handler", "card_update", "malformed", "poison"})
_PACING_KEYS = frozenset({"receiver", "document", "table", "message", "card", "none"})
_STAGES = frozenset({"reserve", "admit"})
_STATUSES = frozenset({"pending", "running", "done", "dead", "no_handler"})
_LONGCONN_STATES = ("connecting", "connected", "reconnecting", "stopped", "failed")


def _error_names() -> frozenset[str]:
    from . import errors

    names = {n for n in errors.__all__ if n.endswith("Error")}
    # builtins that escape as outcomes (a handler's own exception class is bucketed as other)
    names |= {"TimeoutError", "ConnectionError", "CancelledError", "LockTimeoutError"}
    return frozenset(names)


class _Bounded:
    """Maps a raw value to a label value: itself when it fits ``pattern`` (or ``allowed``) and
    fewer than ``limit`` distinct values were seen, else ``other``."""

    __slots__ = ("allowed", "limit", "lock", "pattern", "seen")

    def __init__(
        self,
        limit: int,
        pattern: str | None = None,
        allowed: Iterable[str] | None = None,
    ) -> None:
        self.limit = limit
        self.pattern = re.compile(pattern) if pattern else None
        self.allowed = frozenset(allowed) if allowed is not None else None
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, value: object) -> str:
        if value is None or value == "":
            return "none"
        text = str(value)
        if text in self.seen:
            return text
        if self.allowed is not None and text not in self.allowed:
            return OTHER
        if self.pattern is not None and not self.pattern.fullmatch(text):
            return OTHER
        with self.lock:
            if len(self.seen) >= self.limit:
                return OTHER
            self.seen.add(text)
        return text


def retry_reason_class(reason: object) -> str:
    """The bounded class of a ``request.retried`` reason (free text from the retry policy)."""
    text = str(reason or "").lower()
    if text.startswith("rate limited") or "ratelimited" in text:
        return "rate_limited"
    if text.startswith("token invalid") or "tokeninvalid" in text:
        return "token_invalid"
    if "timeout" in text:
        return "timeout"
    if "connection" in text or "transport" in text:
        return "connection"
    if "servererror" in text or " http 5" in text:
        return "server_error"
    return OTHER


# -- the subscriber ------------------------------------------------------------------------------

_CHILD_CACHE_LIMIT = 4096


class LarkMetrics:
    """Every event-driven family of :data:`FAMILIES`, registered in ``registry``; call it
    with an :class:`~lark_service.instrumentation.Event` (it is an instrumentation
    subscriber). ``clock`` feeds the scrape-time ``lark_token_expires_in_seconds``."""

    def __init__(
        self,
        registry: CollectorRegistry | None = REGISTRY,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.families: dict[str, Any] = {}
        for fam in FAMILIES:
            if fam.scrape:
                continue
            self.families[fam.name] = _make(fam, registry)
        self.families["lark_build_info"].labels(version=__version__).set(1)
        self.app = _Bounded(500, r"[A-Za-z0-9_.:\-]{1,64}")
        self.endpoint = _Bounded(200, r"[a-z0-9_.\-]{1,48}")
        self.method = _Bounded(16, allowed=_METHODS)
        self.outcome = _Bounded(64, allowed={"ok", *_error_names()})
        self.code = _Bounded(400, r"-?[0-9]{1,10}")
        self.kind = _Bounded(8, allowed=_TOKEN_KINDS)
        self.cb_kind = _Bounded(4, allowed=_CALLBACK_KINDS)
        self.event_type = _Bounded(300, r"[A-Za-z0-9_.\-]{1,96}")
        self.reject = _Bounded(32, allowed=_REJECT_REASONS)
        self.status = _Bounded(32, r"[1-5][0-9][0-9]")
        self.dead = _Bounded(16, allowed=_DEAD_REASONS)
        self.pacing_key = _Bounded(16, allowed=_PACING_KEYS)
        self.stage = _Bounded(4, allowed=_STAGES)
        self.word = _Bounded(64, r"[A-Za-z0-9_.\-]{1,48}")  # cache names, fields, dispatchers
        self.error = _Bounded(64, allowed=_error_names())
        self.reason = _Bounded(32, r"[a-z0-9_]{1,32}")
        self.job = _Bounded(64, r"[a-z0-9_]{1,48}")
        self.lc_state = _Bounded(8, allowed=_LONGCONN_STATES)
        self.operation = _Bounded(300, r"[A-Za-z0-9_.\-]{1,80}")
        self.api_key = _Bounded(200, r"[A-Za-z0-9_.:@\-]{1,64}")
        self._children: dict[tuple[Any, ...], Any] = {}
        self._expiry: dict[tuple[str, str], float] = {}
        self._expiry_lock = threading.Lock()
        self._running: dict[str, int] = {}
        self._handlers: dict[str, Callable[[instrumentation.Event], None]] = {
            "request.finished": self._request_finished,
            "request.retried": self._request_retried,
            "request.rate_limited": self._request_rate_limited,
            "pacing.waited": self._pacing_waited,
            "token.fetched": self._token_fetched,
            "token.refreshed": self._token_refreshed,
            "token.evicted": self._token_evicted,
            "token.lock_waited": self._token_lock_waited,
            "token.failed": self._token_failed,
            "token.expiry": self._token_expiry,
            "token.refresh_expiry": self._token_refresh_expiry,
            "cache.hit": self._cache_hit,
            "cache.miss": self._cache_miss,
            "callback.received": self._cb_received,
            "callback.verified": self._cb_verified,
            "callback.rejected": self._cb_rejected,
            "callback.stored": self._cb_stored,
            "callback.duplicate": self._cb_duplicate,
            "callback.dispatched": self._cb_dispatched,
            "callback.handled": self._cb_handled,
            "callback.failed": self._cb_failed,
            "callback.dead_lettered": self._cb_dead_lettered,
            "longconn.state": self._lc_state,
            "longconn.reconnect": self._lc_reconnect,
            "longconn.half_open": self._lc_half_open,
            "longconn.frame": self._lc_frame,
            "longconn.ack": self._lc_ack,
            "longconn.reassembly_dropped": self._lc_dropped,
            "gateway.request": self._gateway_request,
            "drive.upload_resumed": self._drive_resumed,
            "scheduler.job_started": self._job_started,
            "scheduler.job_finished": self._job_finished,
        }
        self.event_names = frozenset(self._handlers)
        """The events this subscriber counts (instrumentation skips building the others)."""
        if registry is not None:
            registry.register(_ExpiryCollector(self))

    def __call__(self, event: instrumentation.Event) -> None:
        handler = self._handlers.get(event.name)
        if handler is not None:
            handler(event)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return other is self

    # -- helpers --------------------------------------------------------------------------

    def _child(self, name: str, *values: str) -> Any:
        return self.families[name].labels(*values)

    def _cached(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        """A child (or tuple of children) for a raw-value key, built once: the hot path
        skips label bounding and ``labels()`` after the first call."""
        found = self._children.get(key)
        if found is None:
            found = make()
            if len(self._children) < _CHILD_CACHE_LIMIT:
                self._children[key] = found
        return found

    # -- request.* ------------------------------------------------------------------------

    def _request_finished(self, e: instrumentation.Event) -> None:
        f = e.fields
        key = ("rf", e.app_id, f.get("family"), f.get("method"), f.get("outcome"), f.get("code"))

        def make() -> tuple[Any, Any]:
            app, endpoint, method = (
                self.app(e.app_id),
                self.endpoint(f.get("family")),
                self.method(f.get("method")),
            )
            code = f.get("code")
            return (
                self._child(
                    "lark_api_requests_total",
                    app,
                    endpoint,
                    method,
                    self.outcome(f.get("outcome")),
                    self.code(code if code is not None else 0),
                ),
                self._child("lark_api_request_duration_seconds", app, endpoint, method),
            )

        counter, histogram = self._cached(key, make)
        counter.inc()
        duration = f.get("duration")
        if duration is not None:
            histogram.observe(duration)

    def _request_retried(self, e: instrumentation.Event) -> None:
        app, endpoint = self.app(e.app_id), self.endpoint(e.get("family"))
        reason = retry_reason_class(e.get("reason"))
        self._child("lark_api_retries_total", app, endpoint, reason).inc()
        delay = e.get("delay") or 0.0
        if delay > 0:
            self._child("lark_api_retry_delay_seconds_total", app, endpoint, reason).inc(delay)

    def _request_rate_limited(self, e: instrumentation.Event) -> None:
        self._child(
            "lark_api_rate_limited_total", self.app(e.app_id), self.endpoint(e.get("family"))
        ).inc()

    def _pacing_waited(self, e: instrumentation.Event) -> None:
        f = e.fields
        key = ("pw", e.app_id, f.get("family"), f.get("key"), f.get("stage"))
        child = self._cached(
            key,
            lambda: self._child(
                "lark_pacing_delay_seconds",
                self.app(e.app_id),
                self.endpoint(f.get("family")),
                self.pacing_key(f.get("key") or "none"),
                self.stage(f.get("stage") or "reserve"),
            ),
        )
        child.observe(f.get("delay") or 0.0)

    # -- token.* --------------------------------------------------------------------------

    def _token_fetched(self, e: instrumentation.Event) -> None:
        kind = self.kind(e.get("kind"))
        self._child(
            "lark_token_fetches_total", self.app(e.app_id), kind, self.outcome(e.get("outcome"))
        ).inc()
        if e.get("duration") is not None:
            self._child("lark_token_fetch_duration_seconds", kind).observe(e["duration"])

    def _token_refreshed(self, e: instrumentation.Event) -> None:
        self._child(
            "lark_token_refreshes_total", self.app(e.app_id), self.kind(e.get("kind"))
        ).inc()

    def _token_evicted(self, e: instrumentation.Event) -> None:
        reason = str(e.get("reason") or "").strip().lower().replace(" ", "_")
        self._child(
            "lark_token_evictions_total",
            self.app(e.app_id),
            self.kind(e.get("kind")),
            self.reason(reason),
        ).inc()

    def _token_lock_waited(self, e: instrumentation.Event) -> None:
        kind = self.kind(e.get("kind"))
        self._child(
            "lark_token_lock_waits_total",
            self.app(e.app_id),
            kind,
            self.word(e.get("outcome") or "ok"),
        ).inc()
        if e.get("wait") is not None:
            self._child("lark_token_lock_wait_seconds", kind).observe(e["wait"])

    def _token_failed(self, e: instrumentation.Event) -> None:
        self._child(
            "lark_token_failures_total",
            self.app(e.app_id),
            self.kind(e.get("kind")),
            self.error(e.get("error")),
        ).inc()

    def _token_expiry(self, e: instrumentation.Event) -> None:
        expires_in = e.get("expires_in")
        if expires_in is None:
            return
        app, kind = self.app(e.app_id), self.kind(e.get("kind"))
        at = (e.time or self.clock()) + float(expires_in)
        with self._expiry_lock:
            # the newest token of the app is the one that expires last
            if kind == "user" or at >= self._expiry.get((app, kind), 0.0):
                self._expiry[(app, kind)] = at
                self._child("lark_token_expiry_timestamp_seconds", app, kind).set(at)

    def _token_refresh_expiry(self, e: instrumentation.Event) -> None:
        expires_in = e.get("expires_in")
        if expires_in is None:
            return
        at = (e.time or self.clock()) + float(expires_in)
        self._child(
            "lark_token_refresh_expiry_timestamp_seconds",
            self.app(e.app_id),
            self.kind(e.get("kind") or "user"),
        ).set(at)

    # -- cache.* --------------------------------------------------------------------------

    def _cache_hit(self, e: instrumentation.Event) -> None:
        self._cache("lark_cache_hits_total", e)

    def _cache_miss(self, e: instrumentation.Event) -> None:
        self._cache("lark_cache_misses_total", e)

    def _cache(self, name: str, e: instrumentation.Event) -> None:
        key = (name, e.app_id, e.get("cache"), e.get("field"))
        self._cached(
            key,
            lambda: self._child(
                name, self.app(e.app_id), self.word(e.get("cache")), self.word(e.get("field"))
            ),
        ).inc()

    # -- callback.* -----------------------------------------------------------------------

    def _cb_received(self, e: instrumentation.Event) -> None:
        # the app id of a received callback comes from the URL: bounded like every label
        self._child(
            "lark_callbacks_received_total", self.app(e.app_id), self.cb_kind(e.get("kind"))
        ).inc()

    def _cb_verified(self, e: instrumentation.Event) -> None:
        self._child(
            "lark_callbacks_verified_total", self.app(e.app_id), self.cb_kind(e.get("kind"))
        ).inc()

    def _cb_rejected(self, e: instrumentation.Event) -> None:
        reason = self.reject(e.get("reason"))
        # an unknown app's id is whatever the caller put in the URL: never a label
        app = "unknown" if reason == "unknown_app" else self.app(e.app_id)
        self._child(
            "lark_callbacks_rejected_total",
            app,
            self.cb_kind(e.get("kind")),
            reason,
            self.status(e.get("status")),
        ).inc()

    def _cb_stored(self, e: instrumentation.Event) -> None:
        self._child(
            "lark_callbacks_stored_total",
            self.app(e.app_id),
            self.cb_kind(e.get("kind")),
            self.event_type(e.get("event_type")),
        ).inc()

    def _cb_duplicate(self, e: instrumentation.Event) -> None:
        self._child(
            "lark_callbacks_duplicates_total", self.app(e.app_id), self.cb_kind(e.get("kind"))
        ).inc()

    def _cb_dispatched(self, e: instrumentation.Event) -> None:
        app = self.app(e.app_id)
        dispatcher = self.word(e.get("dispatcher"))
        self._child(
            "lark_callbacks_dispatched_total", app, self.cb_kind(e.get("kind")), dispatcher
        ).inc()
        if e.get("dispatcher") == "rabbitmq":  # emitted once the broker confirmed
            self._child("lark_rabbitmq_publish_confirms_total", app).inc()

    def _cb_handled(self, e: instrumentation.Event) -> None:
        event_type = self.event_type(e.get("event_type"))
        self._child(
            "lark_callbacks_handled_total",
            self.app(e.app_id),
            event_type,
            self.word(e.get("outcome") or "ok"),
        ).inc()
        if e.get("duration") is not None:
            self._child("lark_callback_handler_duration_seconds", event_type).observe(e["duration"])

    def _cb_failed(self, e: instrumentation.Event) -> None:
        self._child(
            "lark_callbacks_failed_total",
            self.app(e.app_id),
            self.event_type(e.get("event_type")),
            self.error(e.get("error")),
        ).inc()

    def _cb_dead_lettered(self, e: instrumentation.Event) -> None:
        self._child(
            "lark_callbacks_dead_lettered_total",
            self.app(e.app_id),
            self.event_type(e.get("event_type")),
            self.dead(e.get("reason")),
        ).inc()

    # -- longconn.*, gateway.request, drive ------------------------------------------------

    def _lc_state(self, e: instrumentation.Event) -> None:
        app = self.app(e.app_id)
        current = self.lc_state(e.get("state"))
        for state in (*_LONGCONN_STATES, OTHER):
            if state == current or state != OTHER:
                self._child("lark_longconn_state", app, state).set(1.0 if state == current else 0.0)

    def _lc_reconnect(self, e: instrumentation.Event) -> None:
        self._child(
            "lark_longconn_reconnects_total", self.app(e.app_id), self.reason(e.get("reason"))
        ).inc()

    def _lc_half_open(self, e: instrumentation.Event) -> None:
        self._child("lark_longconn_half_open_total", self.app(e.app_id)).inc()

    def _lc_frame(self, e: instrumentation.Event) -> None:
        self._child(
            "lark_longconn_frames_total", self.app(e.app_id), self.reason(e.get("type"))
        ).inc()

    def _lc_ack(self, e: instrumentation.Event) -> None:
        kind = self.cb_kind(e.get("kind"))
        self._child(
            "lark_longconn_acks_total",
            self.app(e.app_id),
            kind,
            self.status(e.get("status")),
            "true" if e.get("sent") else "false",
        ).inc()
        if e.get("latency") is not None:
            self._child("lark_longconn_ack_latency_seconds", kind).observe(e["latency"])

    def _lc_dropped(self, e: instrumentation.Event) -> None:
        self._child(
            "lark_longconn_reassembly_dropped_total",
            self.app(e.app_id),
            self.reason(e.get("reason")),
        ).inc()

    def _gateway_request(self, e: instrumentation.Event) -> None:
        app, operation = self.app(e.app_id), self.operation(e.get("operation"))
        self._child(
            "lark_gateway_requests_total",
            app,
            operation,
            self.method(e.get("method")),
            self.status(e.get("status")),
            self.word(e.get("outcome") or "ok"),
            self.api_key(e.get("key")),
        ).inc()
        if e.get("duration") is not None:
            self._child("lark_gateway_request_duration_seconds", operation).observe(e["duration"])
        if e.get("replayed"):
            self._child("lark_gateway_replays_total", app, operation).inc()

    def _drive_resumed(self, e: instrumentation.Event) -> None:
        self._child(
            "lark_drive_uploads_resumed_total", self.app(e.app_id), self.word(e.get("kind"))
        ).inc()

    # -- scheduler.* ----------------------------------------------------------------------

    def _job_started(self, e: instrumentation.Event) -> None:
        job = self.job(e.get("job"))
        with self._expiry_lock:
            self._running[job] = self._running.get(job, 0) + 1
        self._child("lark_scheduler_jobs_running", job).inc()

    def _job_finished(self, e: instrumentation.Event) -> None:
        job = self.job(e.get("job"))
        outcome = self.word(e.get("outcome") or "ok")
        now = e.time or self.clock()
        self._child("lark_scheduler_job_runs_total", job, outcome).inc()
        if e.get("duration") is not None:
            self._child("lark_scheduler_job_duration_seconds", job).observe(e["duration"])
        if outcome != "skipped":  # another replica ran it (or it still runs)
            self._child("lark_scheduler_job_last_run_timestamp_seconds", job).set(now)
        if outcome == "ok":
            self._child("lark_scheduler_job_last_success_timestamp_seconds", job).set(now)
        with self._expiry_lock:
            running = self._running.get(job, 0)
            if running > 0:
                self._running[job] = running - 1
        if running > 0:
            self._child("lark_scheduler_jobs_running", job).dec()

    # -- scrape-time -------------------------------------------------------------------------

    def expiries(self) -> dict[tuple[str, str], float]:
        """``{(app_id, kind): unix expiry}`` as last reported by ``token.expiry``."""
        with self._expiry_lock:
            return dict(self._expiry)


def _make(fam: Family, registry: CollectorRegistry | None) -> Any:
    # prometheus_client appends _total to counters itself
    if fam.type == "counter":
        return Counter(fam.name[: -len("_total")], fam.help, fam.labels, registry=registry)
    if fam.type == "histogram":
        return Histogram(fam.name, fam.help, fam.labels, registry=registry, buckets=fam.buckets)
    mode: Any = fam.mode
    return Gauge(fam.name, fam.help, fam.labels, registry=registry, multiprocess_mode=mode)


class _ExpiryCollector(Collector):
    def __init__(self, metrics: LarkMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        family = GaugeMetricFamily(
            "lark_token_expires_in_seconds",
            _help("lark_token_expires_in_seconds"),
            labels=["app_id", "kind"],
        )
        now = self.metrics.clock()
        for (app, kind), at in sorted(self.metrics.expiries().items()):
            family.add_metric([app, kind], at - now)
        yield family


def _help(name: str) -> str:
    return next(f.help for f in FAMILIES if f.name == name)


# -- scrape-time collectors: outbox and contact cache ----------------------------------------------

Source = Callable[[], Any]


class _CachedCollector(Collector):
    """Queries its source at most every ``max_age`` seconds (several Prometheus servers
    scraping must not each hit the database); a failure is reported, never raised."""

    def __init__(self, source: Source, *, max_age: float, clock: Callable[[], float]) -> None:
        self.source = source
        self.max_age = max_age
        self.clock = clock
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._families: list[Any] = []

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        with self._lock:
            now = self.clock()
            if now - self._at >= self.max_age:
                self._families = self.query(now)
                self._at = now
            families = list(self._families)
        yield from families

    def query(self, now: float) -> list[Any]:
        raise NotImplementedError


class _OutboxCollector(_CachedCollector):
    def query(self, now: float) -> list[Any]:
        rows = GaugeMetricFamily(
            "lark_callbacks_outbox_rows", _help("lark_callbacks_outbox_rows"), labels=["status"]
        )
        age = GaugeMetricFamily(
            "lark_callbacks_outbox_oldest_pending_age_seconds",
            _help("lark_callbacks_outbox_oldest_pending_age_seconds"),
        )
        up = GaugeMetricFamily("lark_callbacks_outbox_up", _help("lark_callbacks_outbox_up"))
        try:
            store: OutboxStore | None = self.source()
            if store is None:
                return []
            counts = store.counts()
            oldest = store.items("pending", limit=1) if counts.get("pending") else []
        except Exception:
            up.add_metric([], 0.0)
            return [up]
        for status in sorted(set(counts) | {"pending", "running", "dead", "no_handler"}):
            label = status if status in _STATUSES else OTHER
            rows.add_metric([label], float(counts.get(status, 0)))
        age.add_metric([], max(0.0, now - oldest[0].created_at) if oldest else 0.0)
        up.add_metric([], 1.0)
        return [rows, age, up]


class _ContactCacheCollector(_CachedCollector):
    def query(self, now: float) -> list[Any]:
        family = GaugeMetricFamily(
            "lark_contact_cache_rows", _help("lark_contact_cache_rows"), labels=["app_id", "state"]
        )
        try:
            cache: UserCache | None = self.source()
            if cache is None:
                return []
            stats = cache.stats()
        except Exception:
            return []
        bound = _Bounded(500, r"[A-Za-z0-9_.:\-]{1,64}")
        for app, counts in sorted(stats.apps.items()):
            label = bound(app)
            family.add_metric([label, "live"], float(counts.get("live", 0)))
            family.add_metric(
                [label, "expired"], float(counts.get("rows", 0) - counts.get("live", 0))
            )
            family.add_metric([label, "negative"], float(counts.get("negative", 0)))
        return [family]


class _QueueCollector(_CachedCollector):
    """Queue depths from a passive declare of each queue (a short connection per query; the
    query runs in the scrape's thread, never on an event loop)."""

    def query(self, now: float) -> list[Any]:
        messages = GaugeMetricFamily(
            "lark_rabbitmq_queue_messages", _help("lark_rabbitmq_queue_messages"), labels=["queue"]
        )
        consumers = GaugeMetricFamily(
            "lark_rabbitmq_queue_consumers",
            _help("lark_rabbitmq_queue_consumers"),
            labels=["queue"],
        )
        up = GaugeMetricFamily("lark_rabbitmq_up", _help("lark_rabbitmq_up"))
        try:
            target = self.source()
            if target is None:
                return []
            url, queues = target
            depths = _run_coroutine(_queue_depths(url, list(queues)[:32]))
        except Exception:
            up.add_metric([], 0.0)
            return [up]
        for queue, (ready, attached) in sorted(depths.items()):
            messages.add_metric([queue], float(ready))
            consumers.add_metric([queue], float(attached))
        up.add_metric([], 1.0)
        return [messages, consumers, up]


def _run_coroutine(coro: Any) -> Any:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    coro.close()
    raise RuntimeError("queue depths are read from a thread without a running event loop")


async def _queue_depths(url: str, queues: list[str]) -> dict[str, tuple[int, int]]:
    import aio_pika

    out: dict[str, tuple[int, int]] = {}
    connection = await aio_pika.connect(url, timeout=5)
    try:
        for name in queues:
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True)
            except Exception:  # not declared (yet): the broker closed this channel
                continue
            result = queue.declaration_result
            out[name] = (int(result.message_count or 0), int(result.consumer_count or 0))
            await channel.close()
    finally:
        await connection.close()
    return out


_watchers: dict[tuple[int, str], _CachedCollector] = {}
_watch_lock = threading.Lock()


def _watch(
    kind: str,
    cls: type[_CachedCollector],
    source: Source,
    registry: CollectorRegistry | None,
    max_age: float,
    clock: Callable[[], float],
) -> _CachedCollector:
    registry = registry if registry is not None else REGISTRY
    key = (id(registry), kind)
    with _watch_lock:
        old = _watchers.pop(key, None)
        if old is not None:
            registry.unregister(old)
        collector = cls(source, max_age=max_age, clock=clock)
        registry.register(collector)
        _watchers[key] = collector
    return collector


def watch_outbox(
    source: OutboxStore | Source | None,
    *,
    registry: CollectorRegistry | None = None,
    max_age: float = 10.0,
    clock: Callable[[], float] = time.time,
) -> Collector:
    """Export the outbox depth (``lark_callbacks_outbox_rows{status}``) and the age of its
    oldest pending row, queried on scrape from ``source`` (an
    :class:`~lark_service.callbacks.store.OutboxStore`, or a callable returning one or None).
    One outbox per registry: a second call replaces the first."""
    fn: Source = source if callable(source) else (lambda: source)
    return _watch("outbox", _OutboxCollector, fn, registry, max_age, clock)


def watch_contact_cache(
    source: UserCache | Source | None,
    *,
    registry: CollectorRegistry | None = None,
    max_age: float = 60.0,
    clock: Callable[[], float] = time.time,
) -> Collector:
    """Export ``lark_contact_cache_rows{app_id,state}`` from a
    :class:`~lark_service.contact.cache.UserCache` (or a callable returning one or None)."""
    fn: Source = source if callable(source) else (lambda: source)
    return _watch("contact", _ContactCacheCollector, fn, registry, max_age, clock)


def watch_rabbitmq(
    source: Source | None,
    *,
    registry: CollectorRegistry | None = None,
    max_age: float = 15.0,
    clock: Callable[[], float] = time.time,
) -> Collector:
    """Export ``lark_rabbitmq_queue_messages{queue}`` and ``..._consumers{queue}``:
    ``source`` returns ``(amqp_url, queue names)`` (or None: nothing exported). Needs the
    ``rabbitmq`` extra; a broker that cannot be reached sets ``lark_rabbitmq_up`` to 0."""
    fn: Source = source if source is not None else (lambda: None)
    return _watch("rabbitmq", _QueueCollector, fn, registry, max_age, clock)


# -- exposition ------------------------------------------------------------------------------------


def _exposition_registry() -> CollectorRegistry:
    """The default registry, or in multiprocess mode a registry aggregating every process's
    files plus this process's scrape-time collectors."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    with _watch_lock:
        for (registry_id, _), collector in _watchers.items():
            if registry_id == id(REGISTRY):
                registry.register(collector)
    return registry


def render(registry: CollectorRegistry | None = None) -> tuple[bytes, str]:
    """The text exposition of ``registry`` (default: see the module docstring) and its
    content type, for a ``/metrics`` route of your own."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(registry or _exposition_registry()), CONTENT_TYPE_LATEST


def serve_metrics(port: int, host: str | None = None) -> Any:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread (``host`` defaults to
    ``LARK_METRICS_HOST`` or ``0.0.0.0``: Prometheus scrapes from another machine).
    Returns prometheus_client's (server, thread)."""
    from prometheus_client import start_http_server

    addr = host or os.environ.get("LARK_METRICS_HOST") or "0.0.0.0"
    return start_http_server(port, addr=addr, registry=_exposition_registry())


def _default() -> LarkMetrics:
    existing = getattr(REGISTRY, "_lark_metrics", None)
    if isinstance(existing, LarkMetrics):
        return existing
    metrics = LarkMetrics(REGISTRY)
    REGISTRY._lark_metrics = metrics  # type: ignore[attr-defined]
    return metrics


METRICS: LarkMetrics = _default()
"""The subscriber registered in ``prometheus_client.REGISTRY`` (subscribed on import)."""

instrumentation.subscribe(METRICS)

"""lark_service.metrics: names, labels, bounded cardinality, and what each event counts."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from lark_service import LarkClient, instrumentation
from lark_service.callbacks.store import OutboxStore
from lark_service.metrics import FAMILIES, LarkMetrics, retry_reason_class, watch_outbox

from ..unit._mock import SEND_PATH, ScriptedFeishu, feishu_error, ok_message

# Labels that would carry per-request or per-person values: never allowed.
FORBIDDEN_LABELS = {
    "request_id",
    "message_id",
    "user_id",
    "open_id",
    "union_id",
    "event_id",
    "log_id",
    "path",
    "subject",
    "chat_id",
    "email",
    "error_msg",
}
ALLOWED_LABELS = {
    "app_id",
    "endpoint",
    "method",
    "outcome",
    "code",
    "reason",
    "kind",
    "key",
    "stage",
    "error",
    "cache",
    "field",
    "status",
    "event_type",
    "dispatcher",
    "state",
    "job",
    "version",
    "queue",
    "operation",
    "sent",
    "type",
}


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> Iterator[LarkMetrics]:
    """A subscriber on its own registry; the process-wide one is paused meanwhile (the
    cardinality test would otherwise fill its per-label limits for later tests)."""
    from lark_service.metrics import METRICS

    subscriber = LarkMetrics(registry, clock=lambda: 1_000.0)
    instrumentation.unsubscribe(METRICS)
    try:
        with instrumentation.subscribed(subscriber):
            yield subscriber
    finally:
        instrumentation.subscribe(METRICS)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def series(registry: CollectorRegistry, family: str) -> list[dict[str, str]]:
    """The label sets of one family's samples (the _total/_count sample of each series)."""
    out = []
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name in (family, family + "_total", family + "_count"):
                out.append(dict(sample.labels))
    return out


# -- names and labels -------------------------------------------------------------------------


def test_every_family_is_prefixed_lark_and_uses_bounded_labels_only() -> None:
    names = [f.name for f in FAMILIES]
    assert len(names) == len(set(names))
    for family in FAMILIES:
        assert re.fullmatch(r"lark_[a-z0-9_]+", family.name), family.name
        assert not set(family.labels) & FORBIDDEN_LABELS, family
        assert set(family.labels) <= ALLOWED_LABELS, family
        if family.type == "counter":
            assert family.name.endswith("_total"), family.name
        assert family.help


def test_the_architecture_names_exist_with_their_labels() -> None:
    by_name = {f.name: f for f in FAMILIES}
    assert by_name["lark_api_requests_total"].labels == (
        "app_id",
        "endpoint",
        "method",
        "outcome",
        "code",
    )
    assert by_name["lark_scheduler_job_runs_total"].labels == ("job", "outcome")
    for name in ("lark_callbacks_received_total", "lark_callbacks_handled_total"):
        assert by_name[name].type == "counter"
    histograms = {f.name for f in FAMILIES if f.type == "histogram"}
    assert "lark_api_request_duration_seconds" in histograms


def test_the_families_register_in_a_registry(
    registry: CollectorRegistry, metrics: LarkMetrics
) -> None:
    names = set(registry._names_to_collectors)
    for family in FAMILIES:
        if not family.scrape:
            assert family.name in names, family.name
        if family.type == "histogram":
            assert {f"{family.name}_bucket", f"{family.name}_sum"} <= names


# -- what events count ---------------------------------------------------------------------------


def finished(app: str = "cli_a", **fields: Any) -> None:
    base = dict(
        method="POST",
        path="/open-apis/im/v1/messages",
        family="im",
        attempt=1,
        request_id="req-1",
        status=200,
        code=0,
        outcome="ok",
        duration=0.2,
        log_id="log-1",
    )
    base.update(fields)
    instrumentation.emit("request.finished", app, **base)


def test_request_finished_counts_by_app_endpoint_method_outcome_code(
    registry: CollectorRegistry, metrics: LarkMetrics
) -> None:
    finished()
    finished()
    finished(status=400, code=230002, outcome="InvalidParameterError", duration=0.05)
    labels = dict(app_id="cli_a", endpoint="im", method="POST")
    assert value(registry, "lark_api_requests_total", **labels, outcome="ok", code="0") == 2
    assert (
        value(
            registry,
            "lark_api_requests_total",
            **labels,
            outcome="InvalidParameterError",
            code="230002",
        )
        == 1
    )
    assert value(registry, "lark_api_request_duration_seconds_count", **labels) == 3
    assert value(registry, "lark_api_request_duration_seconds_sum", **labels) == pytest.approx(0.45)
    assert value(registry, "lark_api_request_duration_seconds_bucket", **labels, le="0.1") == 1


def test_the_pipeline_feeds_the_subscriber(
    registry: CollectorRegistry, metrics: LarkMetrics
) -> None:
    from lark_service import RetryPolicy

    feishu = ScriptedFeishu()
    feishu.push(SEND_PATH, feishu_error(1500, 500, "internal error"), ok_message())
    retry = RetryPolicy(max_retries=3, base_delay=0.0, max_delay=0.0, jitter=0.0)
    with LarkClient(
        "cli_metrics", "s", base_url="https://feishu.test", transport=feishu.transport()
    ) as client:
        client.with_options(retry=retry).messaging.send_text_message("ou_1", "hi")
    im = dict(app_id="cli_metrics", endpoint="im", method="POST")
    assert value(registry, "lark_api_requests_total", **im, outcome="ok", code="0") == 1
    assert value(registry, "lark_api_requests_total", **im, outcome="ServerError", code="1500") == 1
    assert (
        value(
            registry,
            "lark_api_retries_total",
            app_id="cli_metrics",
            endpoint="im",
            reason="server_error",
        )
        == 1
    )
    assert value(
        registry, "lark_token_fetches_total", app_id="cli_metrics", kind="tenant", outcome="ok"
    ) == pytest.approx(1)
    assert (
        value(registry, "lark_token_expiry_timestamp_seconds", app_id="cli_metrics", kind="tenant")
        > 1_000_000_000
    )


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("rate limited (code 99991400, http 429)", "rate_limited"),
        ("token invalid (code 99991663); refetched", "token_invalid"),
        ("TimeoutError", "timeout"),
        ("ConnectionError", "connection"),
        ("ServerError (code 1500) http 500", "server_error"),
        ("APIError http 502", "server_error"),
        ("something new with ou_123 in it", "other"),
        (None, "other"),
    ],
)
def test_retry_reasons_are_classes_not_text(reason: str | None, expected: str) -> None:
    assert retry_reason_class(reason) == expected


def test_token_events(registry: CollectorRegistry, metrics: LarkMetrics) -> None:
    emit = instrumentation.emit
    emit("token.fetched", "cli_a", kind="tenant", subject="tenant", duration=0.3, outcome="ok")
    emit("token.refreshed", "cli_a", kind="tenant", subject="tenant")
    emit("token.evicted", "cli_a", kind="tenant", subject="tenant", reason="token invalid")
    emit("token.lock_waited", "cli_a", kind="tenant", wait=0.02, outcome="fetched")
    emit("token.failed", "cli_a", kind="app", error="InvalidCredentialsError")
    emit("token.failed", "cli_a", kind="app", error="SomethingOdd")
    a = dict(app_id="cli_a")
    assert value(registry, "lark_token_fetches_total", **a, kind="tenant", outcome="ok") == 1
    assert value(registry, "lark_token_fetch_duration_seconds_count", kind="tenant") == 1
    assert value(registry, "lark_token_refreshes_total", **a, kind="tenant") == 1
    assert (
        value(registry, "lark_token_evictions_total", **a, kind="tenant", reason="token_invalid")
        == 1
    )
    assert (
        value(registry, "lark_token_lock_waits_total", **a, kind="tenant", outcome="fetched") == 1
    )
    assert value(registry, "lark_token_lock_wait_seconds_sum", kind="tenant") == 0.02
    assert (
        value(
            registry, "lark_token_failures_total", **a, kind="app", error="InvalidCredentialsError"
        )
        == 1
    )
    assert value(registry, "lark_token_failures_total", **a, kind="app", error="other") == 1


def test_token_expiry_gauges_follow_the_newest_token(
    registry: CollectorRegistry, metrics: LarkMetrics
) -> None:
    def expiry(expires_in: float, at: float) -> None:
        metrics(
            instrumentation.Event(
                "token.expiry",
                "cli_a",
                {"kind": "tenant", "subject": "tenant", "expires_in": expires_in},
                at,
            )
        )

    expiry(7200, 500.0)
    expiry(100, 400.0)  # an older process's view of an older token: ignored
    labels = dict(app_id="cli_a", kind="tenant")
    assert value(registry, "lark_token_expiry_timestamp_seconds", **labels) == 7700
    # the clock says 1000: 6700 s left
    assert value(registry, "lark_token_expires_in_seconds", **labels) == 6700


def test_cache_and_callback_events(registry: CollectorRegistry, metrics: LarkMetrics) -> None:
    emit = instrumentation.emit
    emit("cache.hit", "cli_a", cache="contact", field="email")
    emit("cache.hit", "cli_a", cache="contact.negative", field="email")
    emit("cache.miss", "cli_a", cache="contact", field="mobile")
    emit("callback.received", "cli_a", kind="event")
    emit("callback.verified", "cli_a", kind="event")
    emit("callback.stored", "cli_a", kind="event", event_type="im.message.receive_v1")
    emit("callback.duplicate", "cli_a", kind="event", event_type="im.message.receive_v1")
    emit("callback.dispatched", "cli_a", kind="event", event_type="x", dispatcher="rabbitmq")
    emit(
        "callback.handled", "cli_a", event_type="im.message.receive_v1", duration=0.1, outcome="ok"
    )
    emit(
        "callback.failed", "cli_a", event_type="im.message.receive_v1", error="KeyError", attempt=1
    )
    emit(
        "callback.dead_lettered", "cli_a", event_type="im.message.receive_v1", reason="max_attempts"
    )
    emit("callback.rejected", "cli_a", kind="event", reason="bad_signature", status=401)
    a = dict(app_id="cli_a")
    assert value(registry, "lark_cache_hits_total", **a, cache="contact", field="email") == 1
    assert (
        value(registry, "lark_cache_hits_total", **a, cache="contact.negative", field="email") == 1
    )
    assert value(registry, "lark_cache_misses_total", **a, cache="contact", field="mobile") == 1
    assert value(registry, "lark_callbacks_received_total", **a, kind="event") == 1
    assert value(registry, "lark_callbacks_verified_total", **a, kind="event") == 1
    et = dict(event_type="im.message.receive_v1")
    assert value(registry, "lark_callbacks_stored_total", **a, kind="event", **et) == 1
    assert value(registry, "lark_callbacks_duplicates_total", **a, kind="event") == 1
    assert (
        value(registry, "lark_callbacks_dispatched_total", **a, kind="event", dispatcher="rabbitmq")
        == 1
    )
    assert value(registry, "lark_rabbitmq_publish_confirms_total", **a) == 1
    assert value(registry, "lark_callbacks_handled_total", **a, **et, outcome="ok") == 1
    assert value(registry, "lark_callback_handler_duration_seconds_count", **et) == 1
    # KeyError is the handler's own: bucketed, not a free-text label
    assert value(registry, "lark_callbacks_failed_total", **a, **et, error="other") == 1
    assert (
        value(registry, "lark_callbacks_dead_lettered_total", **a, **et, reason="max_attempts") == 1
    )
    assert (
        value(
            registry,
            "lark_callbacks_rejected_total",
            **a,
            kind="event",
            reason="bad_signature",
            status="401",
        )
        == 1
    )


def test_scheduler_events(registry: CollectorRegistry, metrics: LarkMetrics) -> None:
    def ev(name: str, at: float, **fields: Any) -> None:
        metrics(instrumentation.Event(name, None, fields, at))

    ev("scheduler.job_started", 100.0, job="token_sweep")
    assert value(registry, "lark_scheduler_jobs_running", job="token_sweep") == 1
    ev("scheduler.job_finished", 102.0, job="token_sweep", outcome="ok", duration=2.0)
    ev("scheduler.job_started", 200.0, job="token_sweep")
    ev("scheduler.job_finished", 201.0, job="token_sweep", outcome="failed", duration=1.0)
    ev("scheduler.job_finished", 202.0, job="cleanup", outcome="ok", duration=1.0)  # no start seen
    j = dict(job="token_sweep")
    assert value(registry, "lark_scheduler_job_runs_total", **j, outcome="ok") == 1
    assert value(registry, "lark_scheduler_job_runs_total", **j, outcome="failed") == 1
    assert value(registry, "lark_scheduler_job_duration_seconds_sum", **j) == 3.0
    assert value(registry, "lark_scheduler_job_last_success_timestamp_seconds", **j) == 102.0
    assert value(registry, "lark_scheduler_job_last_run_timestamp_seconds", **j) == 201.0
    assert value(registry, "lark_scheduler_jobs_running", **j) == 0
    assert value(registry, "lark_scheduler_jobs_running", job="cleanup") == 0


# -- cardinality ---------------------------------------------------------------------------------


def test_hostile_and_unbounded_values_never_become_labels(
    registry: CollectorRegistry, metrics: LarkMetrics
) -> None:
    """Ids, paths and free text end up as ``other``; every label stays within its bound."""
    for i in range(3000):
        finished(
            app=f"cli_{i:016d}",
            family=f"svc{i}",
            code=100000 + i,
            outcome=f"Weird{i}Error",
            method="BREW" if i % 2 else "GET",
        )
        instrumentation.emit(
            "callback.rejected", f"cli_attacker_{i}", kind="event", reason="unknown_app", status=404
        )
        instrumentation.emit(
            "callback.stored", "cli_a", kind="event", event_type=f"custom.event_{i}"
        )
        instrumentation.emit("request.retried", "cli_a", family="im", reason=f"odd {i}", delay=0.0)
        instrumentation.emit(
            "callback.dead_lettered", "cli_a", event_type="x", reason=f"oops: message om_{i} failed"
        )
    instrumentation.emit("callback.received", "/../etc/passwd", kind="event")
    instrumentation.emit("callback.received", "ou_" + "x" * 100, kind="evil")

    requests = series(registry, "lark_api_requests_total")
    assert len({s["app_id"] for s in requests}) <= 501
    assert len({s["endpoint"] for s in requests}) <= 201
    assert len({s["code"] for s in requests}) <= 401
    assert {s["outcome"] for s in requests} == {"other"}
    assert {s["method"] for s in requests} == {"GET", "other"}
    assert len(requests) <= 3000
    rejected = series(registry, "lark_callbacks_rejected_total")
    assert [s["app_id"] for s in rejected] == ["unknown"]
    assert len(series(registry, "lark_callbacks_stored_total")) <= 301
    assert {s["reason"] for s in series(registry, "lark_api_retries_total")} == {"other"}
    assert {s["reason"] for s in series(registry, "lark_callbacks_dead_lettered_total")} == {
        "other"
    }
    received = series(registry, "lark_callbacks_received_total")
    assert {(s["app_id"], s["kind"]) for s in received} == {("other", "event"), ("other", "other")}
    # nothing anywhere looks like a user, message or request id
    text = generate_latest(registry).decode()
    assert not re.search(r'="(ou|om|on|oc)_', text)
    assert "req-1" not in text and "log-1" not in text


# -- scrape-time collectors ---------------------------------------------------------------------


def test_outbox_depth_and_oldest_pending_age(tmp_path: Path, registry: CollectorRegistry) -> None:
    now = [1_700_000_000.0]
    store = OutboxStore(f"sqlite:///{tmp_path / 'state.db'}", clock=lambda: now[0])
    watch_outbox(store, registry=registry, max_age=5.0, clock=lambda: now[0])
    assert value(registry, "lark_callbacks_outbox_rows", status="pending") == 0
    assert value(registry, "lark_callbacks_outbox_oldest_pending_age_seconds") == 0
    assert value(registry, "lark_callbacks_outbox_up") == 1

    _accept(store, "e1")
    now[0] += 3  # within max_age: the cached answer, no query
    assert value(registry, "lark_callbacks_outbox_rows", status="pending") == 0
    now[0] += 27
    _accept(store, "e2")
    now[0] += 13
    assert value(registry, "lark_callbacks_outbox_rows", status="pending") == 2
    assert value(registry, "lark_callbacks_outbox_oldest_pending_age_seconds") == 43


def _accept(store: OutboxStore, event_id: str) -> None:
    store.accept(
        app_id="cli_a",
        kind="event",
        dedup_keys=(f"cli_a:evt:{event_id}",),
        event_id=event_id,
        event_type="im.message.receive_v1",
        payload={"header": {"event_id": event_id}},
    )


def test_a_broken_or_missing_outbox_never_breaks_a_scrape(registry: CollectorRegistry) -> None:
    def broken() -> OutboxStore:
        raise RuntimeError("database down")

    watch_outbox(broken, registry=registry, max_age=0.0)
    generate_latest(registry)
    assert value(registry, "lark_callbacks_outbox_up") == 0
    other = CollectorRegistry()
    watch_outbox(None, registry=other)
    assert "lark_callbacks_outbox" not in generate_latest(other).decode()


# -- auto-subscription --------------------------------------------------------------------------

_AUTOLOAD = """
import json, sys
from lark_service import instrumentation, _metrics_autoload
before = "prometheus_client" in sys.modules
instrumentation.emit("callback.received", "cli_a", kind="event")
from prometheus_client import REGISTRY
print(json.dumps([before, REGISTRY.get_sample_value(
    "lark_callbacks_received_total", {"app_id": "cli_a", "kind": "event"})]))
"""


def _run(code: str, **env: str) -> Any:
    import json
    import os

    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **env},
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_installed_prometheus_client_is_subscribed_on_the_first_event_without_an_enable_call() -> (
    None
):
    before, counted = _run(_AUTOLOAD)
    assert before is False  # not imported until something happened
    assert counted == 1.0  # and the first event itself was counted


def test_lark_metrics_off_leaves_metrics_out() -> None:
    code = (
        "import sys, json\n"
        "from lark_service import instrumentation, _metrics_autoload\n"
        "instrumentation.emit('callback.received', 'cli_a', kind='event')\n"
        "print(json.dumps([instrumentation.enabled(), 'prometheus_client' in sys.modules]))\n"
    )
    assert _run(code, LARK_METRICS="off") == [False, False]


def test_without_prometheus_client_nothing_is_subscribed() -> None:
    code = (
        "import sys, json\nsys.modules['prometheus_client'] = None\n"
        "from lark_service import instrumentation, _metrics_autoload\n"
        "print(json.dumps([instrumentation.enabled()]))\n"
    )
    assert _run(code) == [False]


def test_already_imported_prometheus_client_registers_the_families_at_once() -> None:
    code = (
        "import json, prometheus_client\n"
        "from lark_service import instrumentation, _metrics_autoload\n"
        "names = {m.name for m in prometheus_client.REGISTRY.collect()}\n"
        "print(json.dumps(['lark_api_requests' in names, 'lark_build_info' in names]))\n"
    )
    assert _run(code) == [True, True]


def test_every_family_is_in_the_operations_reference() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    missing = [f.name for f in FAMILIES if f"| `{f.name}` |" not in text]
    assert missing == []


def test_multiprocess_mode_aggregates_processes(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, render() adds up what two processes counted."""
    code = (
        "import json, sys\n"
        "from lark_service import instrumentation, metrics\n"
        "instrumentation.emit('callback.received', 'cli_mp', kind='event')\n"
        "instrumentation.emit('token.expiry', 'cli_mp', kind='tenant', subject='tenant',"
        " expires_in=7200)\n"
        "if sys.argv[1] == 'render':\n"
        "    print(json.dumps(metrics.render()[0].decode()))\n"
        "else:\n"
        "    print(json.dumps(''))\n"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    import json
    import os

    def run(arg: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", code, arg],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, **env},
        )
        assert out.returncode == 0, out.stderr
        text: str = json.loads(out.stdout.strip().splitlines()[-1])
        return text

    run("count")
    text = run("render")
    assert 'lark_callbacks_received_total{app_id="cli_mp",kind="event"} 2.0' in text
    assert 'lark_token_expiry_timestamp_seconds{app_id="cli_mp",kind="tenant"}' in text


# -- RabbitMQ queue depth --------------------------------------------------------------------------


@pytest.mark.rabbitmq
def test_rabbitmq_queue_depth_and_consumers_on_scrape(amqp_url: str) -> None:
    import asyncio
    import uuid

    import aio_pika

    from lark_service.metrics import watch_rabbitmq

    queue = f"lark.test.metrics.{uuid.uuid4().hex[:8]}"

    async def fill() -> None:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            await channel.declare_queue(queue, auto_delete=False)
            for i in range(3):
                await channel.default_exchange.publish(aio_pika.Message(b"x%d" % i), queue)

    async def drop() -> None:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(queue)

    asyncio.run(fill())
    try:
        registry = CollectorRegistry()
        watch_rabbitmq(lambda: (amqp_url, [queue, queue + ".missing"]), registry=registry)
        assert value(registry, "lark_rabbitmq_up") == 1
        assert value(registry, "lark_rabbitmq_queue_messages", queue=queue) == 3
        assert value(registry, "lark_rabbitmq_queue_consumers", queue=queue) == 0
        # a queue not declared yet is left out, not an error
        assert (
            registry.get_sample_value("lark_rabbitmq_queue_messages", {"queue": queue + ".missing"})
            is None
        )
    finally:
        asyncio.run(drop())


def test_an_unreachable_broker_reports_down_without_failing_the_scrape() -> None:
    from lark_service.metrics import watch_rabbitmq

    registry = CollectorRegistry()
    watch_rabbitmq(lambda: ("amqp://guest:guest@127.0.0.1:1/", ["q"]), registry=registry)
    generate_latest(registry)
    assert value(registry, "lark_rabbitmq_up") == 0
    quiet = CollectorRegistry()
    watch_rabbitmq(lambda: None, registry=quiet)  # the in-process dispatcher: nothing
    assert "lark_rabbitmq" not in generate_latest(quiet).decode()


def test_longconn_gateway_and_drive_events(
    registry: CollectorRegistry, metrics: LarkMetrics
) -> None:
    emit = instrumentation.emit
    emit("longconn.state", "cli_a", state="connecting")
    emit("longconn.state", "cli_a", state="connected")
    emit("longconn.reconnect", "cli_a", reason="half_open", attempt=1, delay=1.0)
    emit("longconn.half_open", "cli_a", ping_interval=120)
    emit("longconn.frame", "cli_a", type="event", parts=1)
    emit("longconn.ack", "cli_a", kind="event", status=200, sent=True, latency=0.004)
    emit("longconn.reassembly_dropped", "cli_a", reason="expired")
    emit(
        "gateway.request",
        "cli_a",
        operation="send_message",
        method="POST",
        status=200,
        outcome="ok",
        key="billing-service",
        replayed=True,
        duration=0.03,
    )
    emit("drive.upload_resumed", "cli_a", kind="file", parts_done=3, parts=9)
    a = dict(app_id="cli_a")
    assert value(registry, "lark_longconn_state", **a, state="connected") == 1
    assert value(registry, "lark_longconn_state", **a, state="connecting") == 0
    assert value(registry, "lark_longconn_reconnects_total", **a, reason="half_open") == 1
    assert value(registry, "lark_longconn_half_open_total", **a) == 1
    assert value(registry, "lark_longconn_frames_total", **a, type="event") == 1
    assert (
        value(registry, "lark_longconn_acks_total", **a, kind="event", status="200", sent="true")
        == 1
    )
    assert value(registry, "lark_longconn_ack_latency_seconds_count", kind="event") == 1
    assert value(registry, "lark_longconn_reassembly_dropped_total", **a, reason="expired") == 1
    gateway = dict(operation="send_message", method="POST", status="200", outcome="ok")
    assert (
        value(registry, "lark_gateway_requests_total", **a, **gateway, key="billing-service") == 1
    )
    assert value(registry, "lark_gateway_replays_total", **a, operation="send_message") == 1
    assert (
        value(registry, "lark_gateway_request_duration_seconds_count", operation="send_message")
        == 1
    )
    assert value(registry, "lark_drive_uploads_resumed_total", **a, kind="file") == 1


def test_a_skipped_occurrence_is_counted_but_is_not_a_run(
    registry: CollectorRegistry, metrics: LarkMetrics
) -> None:
    """Every replica reports each occurrence; the ones another replica ran are ``skipped``."""
    metrics(instrumentation.Event("scheduler.job_started", None, {"job": "cleanup"}, 10.0))
    metrics(
        instrumentation.Event(
            "scheduler.job_finished",
            None,
            {"job": "cleanup", "outcome": "skipped", "reason": "elsewhere", "duration": 0.0},
            11.0,
        )
    )
    j = dict(job="cleanup")
    assert value(registry, "lark_scheduler_job_runs_total", **j, outcome="skipped") == 1
    assert registry.get_sample_value("lark_scheduler_job_last_run_timestamp_seconds", j) is None
    assert value(registry, "lark_scheduler_jobs_running", **j) == 0

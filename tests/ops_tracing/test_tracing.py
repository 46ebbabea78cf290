"""lark_service.tracing: spans from instrumentation events (the SDK's in-memory exporter)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from lark_service import LarkClient, instrumentation, tracing
from lark_service.testing import Emulator

APP = ("cli_trace", "trace-secret")


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(provider)
    try:
        yield exporter
    finally:
        tracing.disable()
        provider.shutdown()


def _by_name(exporter: InMemorySpanExporter, name: str) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def test_off_by_default_and_free() -> None:
    assert not tracing.enabled()
    assert not instrumentation.enabled() or all(
        type(s).__name__ != "_Tracer" for s in instrumentation._hub.subscribers
    )


def test_api_calls_and_token_fetches_become_spans(
    lark_emulator: Emulator, spans: InMemorySpanExporter
) -> None:
    lark_emulator.add_app(*APP)
    lark_emulator.add_user("ann", name="Ann")
    ann = lark_emulator.open_id("ann", APP[0])
    lark_emulator.inject_fault("/open-apis/im/v1/messages", "status", status=502)
    with LarkClient(*APP, base_url=lark_emulator.url) as client:
        client.messaging.send_text_message(ann, "hello")
    (token,) = _by_name(spans, "lark.token.fetch")
    assert token.kind == SpanKind.CLIENT
    assert token.attributes["lark.app_id"] == APP[0]
    assert token.attributes["lark.token_kind"] == "tenant"
    assert token.end_time > token.start_time
    requests = [
        s
        for s in _by_name(spans, "lark.request")
        if s.attributes["lark.endpoint"] == "/open-apis/im/v1/messages"
    ]
    assert [s.attributes["http.response.status_code"] for s in requests] == [502, 200]
    first, second = requests
    assert first.status.status_code == StatusCode.ERROR
    assert second.status.status_code == StatusCode.UNSET
    assert first.attributes["lark.request_id"] == second.attributes["lark.request_id"]
    assert second.attributes["http.request.method"] == "POST"
    assert second.attributes["lark.family"]
    assert second.attributes["lark.app_id"] == APP[0]
    assert [e.name for e in second.events] == ["request.retried"]
    assert second.events[0].attributes["reason"]
    for span in spans.get_finished_spans():  # no token values or message text on spans
        assert "hello" not in str(dict(span.attributes))
        assert not any(str(v).startswith("t-") for v in span.attributes.values())


def test_a_call_inside_an_application_span_nests_under_it(
    lark_emulator: Emulator, spans: InMemorySpanExporter
) -> None:
    lark_emulator.add_app(*APP)
    provider = tracing._subscriber.tracer  # type: ignore[union-attr]
    with (
        provider.start_as_current_span("my-job") as parent,
        LarkClient(*APP, base_url=lark_emulator.url) as client,
    ):
        client.access_token()
    (token,) = _by_name(spans, "lark.token.fetch")
    assert token.parent is not None
    assert token.parent.span_id == parent.get_span_context().span_id


def test_callbacks_become_spans(spans: InMemorySpanExporter, tmp_path: Path) -> None:
    from lark_service.callbacks import CallbackHandler, CallbackRouter, StaticKeys
    from lark_service.callbacks.keys import CallbackKeys
    from lark_service.callbacks.simulate import message_event_payload

    from ..callbacks._support import APP as CB_APP
    from ..callbacks._support import EK, VT, FakeClock, sign, wait_until

    clock = FakeClock()
    router = CallbackRouter()
    seen: list[str] = []
    router.event("im.message.receive_v1")(lambda e: seen.append(e.message.text))
    keys = StaticKeys(CallbackKeys(CB_APP, encrypt_key=EK, verification_token=VT))
    handler = CallbackHandler(
        router, keys=keys, database_url=f"sqlite:///{tmp_path / 's.db'}", clock=clock
    )
    try:
        headers, body = sign(message_event_payload(CB_APP, "hi", verification_token=VT), clock)
        assert handler.handle("event", CB_APP, headers, body)[0] == 200
        wait_until(lambda: bool(_by_name(spans, "lark.callback")), what="the callback span")
        bad = {**headers, "X-Lark-Signature": "0" * 64}
        assert handler.handle("event", CB_APP, bad, body)[0] == 401
    finally:
        handler.close()
    (span,) = _by_name(spans, "lark.callback")
    assert span.kind == SpanKind.CONSUMER
    assert span.attributes["lark.event_type"] == "im.message.receive_v1"
    assert span.attributes["lark.app_id"] == CB_APP
    assert span.attributes["lark.outcome"] == "ok"
    (rejected,) = _by_name(spans, "lark.callback.rejected")
    assert rejected.status.status_code == StatusCode.ERROR
    assert rejected.attributes["http.response.status_code"] == 401


def test_scheduler_runs_become_spans(spans: InMemorySpanExporter) -> None:
    from lark_service.scheduler import Job, LocalElection, Schedule, Scheduler

    def boom(ctx: Any) -> Any:
        raise RuntimeError("no")

    scheduler = Scheduler(
        [Job("boom", boom, Schedule(interval=60))],
        context=lambda job, occ: None,  # type: ignore[arg-type,return-value]
        election=LocalElection(),
    )
    scheduler.run_job("boom")
    scheduler.shutdown()
    (span,) = _by_name(spans, "lark.scheduler.job")
    assert span.attributes["lark.job"] == "boom"
    assert span.status.status_code == StatusCode.ERROR


def test_install_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LARK_OTEL_ENABLED", raising=False)
    assert tracing.install_from_env() is False
    monkeypatch.setenv("LARK_OTEL_ENABLED", "true")
    try:
        assert tracing.install_from_env() is True
        assert tracing.enabled()
    finally:
        tracing.disable()
    assert not tracing.enabled()

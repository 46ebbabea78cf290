"""Instrumentation events from the pipeline (issue 9.5): what a metrics subscriber sees."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lark_service import LarkClient, RetryPolicy, instrumentation
from lark_service.instrumentation import Event, EventRecorder

from ..unit._mock import SEND_PATH, ScriptedFeishu, feishu_error, ok_message

NO_WAIT = RetryPolicy(max_retries=3, base_delay=0.0, max_delay=0.0, jitter=0.0)


@pytest.fixture
def events() -> Iterator[EventRecorder]:
    with EventRecorder(prefix="request.") as recorder:
        yield recorder


def test_a_send_emits_started_and_finished_with_family_outcome_and_status(
    scripted: LarkClient, events: EventRecorder
) -> None:
    message = scripted.messaging.send_text_message("ou_1", "hi")

    sends = [e for e in events.events if e.get("path") == SEND_PATH]
    assert [e.name for e in sends] == ["request.started", "request.finished"]
    started, finished = sends
    assert started.app_id == finished.app_id == "cli_platform_a"
    assert started["method"] == "POST"
    assert started["family"] == finished["family"] == "im"
    assert started["attempt"] == 1
    assert started["request_id"] == finished["request_id"] == message.request_id
    assert finished["status"] == 200
    assert finished["outcome"] == "ok"
    assert finished["code"] == 0
    assert finished["duration"] >= 0
    assert finished["log_id"] == "log-om_1"
    # the token fetch is a request too, in its own family
    assert [e["family"] for e in events.named("request.finished")] == ["auth", "im"]


def test_a_failed_call_reports_the_error_class_as_outcome(
    feishu: ScriptedFeishu, scripted: LarkClient, events: EventRecorder
) -> None:
    feishu.push(SEND_PATH, feishu_error(230002, msg="bot not in chat"))
    with pytest.raises(Exception):  # noqa: B017 - the class is asserted through the event
        scripted.messaging.send_text_message("oc_1", "hi")
    finished = [e for e in events.named("request.finished") if e["family"] == "im"]
    assert [(e["status"], e["code"]) for e in finished] == [(400, 230002)]
    assert finished[0]["outcome"].endswith("Error")


def test_a_retried_5xx_emits_request_retried(
    feishu: ScriptedFeishu, scripted: LarkClient, events: EventRecorder
) -> None:
    feishu.push(SEND_PATH, feishu_error(1500, 500, "internal error"), ok_message())
    message = scripted.with_options(retry=NO_WAIT).messaging.send_text_message("ou_1", "hi")

    (retried,) = events.named("request.retried")
    assert retried["family"] == "im"
    assert retried["retry_number"] == 1
    assert retried["request_id"] == message.request_id
    assert "ServerError" in retried["reason"]
    finished = [e for e in events.named("request.finished") if e["family"] == "im"]
    assert [(e["attempt"], e["status"], e["outcome"]) for e in finished] == [
        (1, 500, "ServerError"),
        (2, 200, "ok"),
    ]


def test_a_rate_limit_emits_rate_limited_then_retried(
    feishu: ScriptedFeishu, scripted: LarkClient, events: EventRecorder
) -> None:
    feishu.push(
        SEND_PATH,
        httpx.Response(
            429,
            headers={"x-ogw-ratelimit-reset": "0"},
            json={"code": 99991400, "msg": "too many requests"},
        ),
        ok_message(),
    )
    scripted.with_options(retry=NO_WAIT).messaging.send_text_message("ou_1", "hi")
    names = [n for n in events.names() if n in ("request.rate_limited", "request.retried")]
    assert names == ["request.rate_limited", "request.retried"]
    assert events.named("request.rate_limited")[0]["retry_after"] == 0


def test_a_subscriber_that_raises_never_breaks_a_call(
    scripted: LarkClient, events: EventRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def broken(event: Event) -> None:
        calls.append(event.name)
        raise RuntimeError("subscriber bug")

    with instrumentation.subscribed(broken):
        for _ in range(3):
            assert scripted.messaging.send_text_message("ou_1", "hi").message_id == "om_1"
    assert len(calls) >= 6
    # the recorder subscribed beside it still saw everything
    assert len([e for e in events.named("request.finished") if e["family"] == "im"]) == 3
    assert sum("subscriber" in r.getMessage() for r in caplog.records) <= 1


IDS = ("om_secret_msg_9f3a", "ou_secret_user_71bc", "oc_secret_chat_55de")
LABEL_FIELDS = ("method", "family", "status", "code", "outcome", "attempt", "retry_number")


def _mentions(value: object) -> bool:
    return any(i in str(value) for i in IDS)


def test_label_fields_never_hold_message_user_or_chat_ids(
    feishu: ScriptedFeishu, scripted: LarkClient, events: EventRecorder
) -> None:
    feishu.push(SEND_PATH + "/" + IDS[0], feishu_error(230026, msg="not the sender"))
    scripted.messaging.send_text_message(IDS[1], "hi")
    scripted.messaging.send_text_message(IDS[2], "hi")
    with pytest.raises(Exception):  # noqa: B017
        scripted.messaging.recall_message(IDS[0])

    assert events.events
    for event in events.events:
        for name in LABEL_FIELDS:
            assert not _mentions(event.get(name)), (event.name, name, event.get(name))
        assert not _mentions(event.app_id)


def test_no_field_but_request_id_holds_a_message_id(
    feishu: ScriptedFeishu, scripted: LarkClient, events: EventRecorder
) -> None:
    feishu.push(SEND_PATH + "/" + IDS[0], ok_message(IDS[0]))
    scripted.messaging.recall_message(IDS[0])
    leaks = [
        (event.name, key)
        for event in events.events
        for key, value in event.fields.items()
        # request_id and log_id identify the request itself (the scripted Feishu's log ids
        # happen to embed the message id)
        if key not in ("request_id", "log_id") and _mentions(value)
    ]
    assert leaks == []

"""Subscribers may declare the event names they handle; an event nobody handles is not built."""

from __future__ import annotations

from typing import Any

from lark_service import instrumentation
from lark_service.logging import log_event


class Picky:
    event_names = frozenset({"request.finished"})

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, event: instrumentation.Event) -> None:
        self.seen.append(event.name)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return other is self


def _isolated(*subscribers: Any) -> Any:
    """Only ``subscribers`` listening for the block (the process's own ones set aside)."""
    hub = instrumentation._hub

    class Swap:
        def __enter__(self) -> None:
            self.saved = hub.subscribers
            with hub.lock:
                hub.update(())
            for s in subscribers:
                instrumentation.subscribe(s)

        def __exit__(self, *exc: object) -> None:
            with hub.lock:
                hub.update(self.saved)

    return Swap()


def test_logging_declares_the_two_events_it_logs() -> None:
    assert log_event.event_names == frozenset({"request.finished", "request.retried"})  # type: ignore[attr-defined]


def test_an_event_no_subscriber_handles_is_skipped() -> None:
    picky = Picky()
    with _isolated(log_event, picky):
        assert instrumentation.enabled()
        assert not instrumentation.wanted("request.started")
        assert instrumentation.wanted("request.finished")
        assert instrumentation.wanted("request.retried")
        instrumentation.emit("request.started", "cli_x", method="GET")
        instrumentation.emit("request.finished", "cli_x", outcome="ok")
    assert picky.seen == ["request.finished"]


def test_a_subscriber_without_names_gets_everything() -> None:
    picky = Picky()
    with _isolated(log_event, picky), instrumentation.EventRecorder() as recorder:
        assert instrumentation.wanted("request.started")
        instrumentation.emit("request.started", "cli_x", method="GET")
    assert recorder.names() == ["request.started"]
    assert picky.seen == ["request.started"]  # a hint, not a filter: it ignores such names
    # after the recorder left, the declared names decide again
    with _isolated(log_event, picky):
        assert not instrumentation.wanted("token.fetched")

from __future__ import annotations

import threading
from typing import Any

import pytest

from lark_service.callbacks import (
    CallbackRouter,
    CardActionEvent,
    CardResponse,
    HandlerContext,
    Toast,
    parse_callback,
)
from lark_service.callbacks.router import normalize_result
from lark_service.callbacks.simulate import (
    card_action_payload,
    legacy_card_payload,
    message_event_payload,
)

pytestmark = pytest.mark.anyio

APP = "cli_r"


def click(value: dict[str, Any], *, tag: str = "button", name: str | None = None) -> Any:
    return parse_callback(card_action_payload(APP, value=value, tag=tag, name=name), "card")


def ctx() -> HandlerContext:
    return HandlerContext(app_id=APP)


async def test_value_key_value_tag_and_name_matching() -> None:
    router = CallbackRouter()
    seen: list[str] = []

    @router.card_action(value_key="action", value="approve")
    def approve(event: CardActionEvent) -> None:
        seen.append("approve")

    @router.card_action(value_key="action")
    async def any_action(event: CardActionEvent) -> None:
        seen.append("any-action")

    @router.card_action(tag="select_static")
    def select(event: CardActionEvent) -> None:
        seen.append("select")

    @router.card_action(name="comment")
    def named(event: CardActionEvent) -> None:
        seen.append("named")

    @router.card_action()
    def fallback(event: CardActionEvent) -> None:
        seen.append("all")

    await router.dispatch(click({"action": "approve"}), ctx())
    await router.dispatch(click({"action": "reject"}), ctx())
    await router.dispatch(click({}, tag="select_static"), ctx())
    await router.dispatch(click({}, tag="input", name="comment"), ctx())
    await router.dispatch(click({"other": 1}), ctx())
    assert seen == ["approve", "any-action", "select", "named", "all"]


async def test_value_alone_matches_any_entry() -> None:
    router = CallbackRouter()
    hits: list[Any] = []
    router.card_action(value="approve")(lambda e: hits.append(e.action.value))
    await router.dispatch(click({"verb": "approve"}), ctx())
    await router.dispatch(click({"verb": "reject"}), ctx())
    assert hits == [{"verb": "approve"}]


async def test_bare_card_action_gets_the_event_fields_and_legacy_callbacks_too() -> None:
    router = CallbackRouter()
    got: list[tuple[Any, ...]] = []

    @router.card_action()
    def handler(event: Any) -> None:
        got.append(
            (event.action.value, event.operator.open_id, event.context.open_message_id, event.token)
        )

    payload = card_action_payload(
        APP, value={"a": 1}, open_id="ou_1", open_message_id="om_1", card_token="c-1"
    )
    await router.dispatch(parse_callback(payload, "card"), ctx())
    legacy = legacy_card_payload(
        value={"b": 2}, open_id="ou_2", open_message_id="om_2", card_token="c-2"
    )
    await router.dispatch(parse_callback(legacy, "card"), ctx())
    assert got == [({"a": 1}, "ou_1", "om_1", "c-1"), ({"b": 2}, "ou_2", "om_2", "c-2")]


async def test_event_routes_sync_in_a_thread_and_context_injection() -> None:
    router = CallbackRouter()
    threads: list[str] = []
    contexts: list[HandlerContext] = []

    @router.event("im.message.receive_v1")
    def on_message(event: Any, context: HandlerContext) -> str:
        threads.append(threading.current_thread().name)
        contexts.append(context)
        return "ignored for events"

    event = parse_callback(message_event_payload(APP, "hello"), "event")
    assert await router.dispatch(event, HandlerContext(app_id=APP, attempt=3)) is None
    assert threads and threads[0] != threading.main_thread().name
    assert contexts[0].attempt == 3


async def test_no_match_returns_none_and_star_matches_every_event() -> None:
    router = CallbackRouter()
    assert await router.dispatch(click({}), ctx()) is None
    seen: list[str] = []
    router.event("*")(lambda e: seen.append(e.event_type))
    await router.dispatch(parse_callback(message_event_payload(APP, "x"), "event"), ctx())
    assert seen == ["im.message.receive_v1"]
    with pytest.raises(ValueError):
        router.event("")


async def test_handler_errors_propagate() -> None:
    router = CallbackRouter()

    @router.card_action()
    async def boom(event: Any) -> None:
        raise RuntimeError("nope")

    with pytest.raises(RuntimeError):
        await router.dispatch(click({}), ctx())


def test_include_appends_routes() -> None:
    a, b = CallbackRouter(), CallbackRouter()
    b.card_action()(lambda e: None)
    a.include(b)
    assert len(a) == 1


def test_results_normalize_to_card_responses() -> None:
    card = {"elements": [{"tag": "markdown", "content": "done"}]}
    assert normalize_result(None) is None
    assert normalize_result(42) is None
    assert normalize_result("saved") == CardResponse(toast=Toast("saved"))
    assert normalize_result(Toast("x", type="error")) == CardResponse(
        toast=Toast("x", type="error")
    )
    assert normalize_result(card) == CardResponse(card=card)
    both = normalize_result({"toast": {"type": "success", "content": "ok"}, "card": card})
    assert both == CardResponse(toast={"type": "success", "content": "ok"}, card=card)


def test_answer_bodies() -> None:
    card = {"elements": []}
    response = CardResponse(toast=Toast("ok", type="success"), card=card)
    assert response.answer() == {
        "toast": {"type": "success", "content": "ok"},
        "card": {"type": "raw", "data": card},
    }
    assert response.answer(legacy=True) == {
        "elements": [],
        "toast": {"type": "success", "content": "ok"},
    }
    wrapped = CardResponse(card={"type": "raw", "data": card})
    assert wrapped.raw_card == card
    template = CardResponse(card={"type": "template", "data": {"template_id": "t"}})
    assert template.answer() == {"card": {"type": "template", "data": {"template_id": "t"}}}
    assert CardResponse(toast=Toast("i", i18n={"en_us": "i"})).answer()["toast"]["i18n"] == {
        "en_us": "i"
    }

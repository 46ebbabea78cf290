"""Cards: our JSON 2.0 builder against the official SDK's card builder and callback models, and
cards sent by the official client to the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from lark_service.cards import (
    Card,
    approval_card,
    button,
    column,
    column_set,
    form_card,
    markdown,
    notification_card,
    select,
)
from lark_service.testing.emulator.server import Emulator


def contains(ours: Any, theirs: Any) -> bool:
    """Whether ``ours`` has everything ``theirs`` has (extra keys allowed in dicts)."""
    if isinstance(theirs, dict):
        return isinstance(ours, dict) and all(
            k in ours and contains(ours[k], v) for k, v in theirs.items()
        )
    if isinstance(theirs, list):
        return (
            isinstance(ours, list)
            and len(ours) == len(theirs)
            and all(contains(a, b) for a, b in zip(ours, theirs, strict=True))
        )
    return bool(ours == theirs)


@pytest.fixture(scope="module")
def sdk_builder(lark: Any) -> Any:
    from lark_oapi.channel.card.builder import new_card

    return new_card


def test_display_elements_equal_the_official_builders(sdk_builder: Any) -> None:
    theirs = (
        sdk_builder()
        .config(update_multi=True)
        .header(title="Deploy", subtitle="api", template="green")
        .markdown("Running **step 2**")
        .divider()
        .text("plain words")
        .image("img_v3_x", alt="chart", title="Latency")
        .to_dict()
    )
    ours = (
        Card("Deploy", subtitle="api", template="green")
        .markdown("Running **step 2**")
        .hr()
        .div("plain words")
        .image("img_v3_x", alt="chart", title="Latency")
        .build()
    )
    assert ours == theirs


def test_buttons_and_columns_hold_what_the_official_builder_emits(sdk_builder: Any) -> None:
    theirs = (
        sdk_builder()
        .buttons(
            [
                {"label": "Approve", "action": {"action": "approve"}, "style": "primary"},
                {"label": "Open", "url": "https://x.test"},
            ]
        )
        .button("Reject", action={"action": "reject"}, style="danger")
        .select("Pick", options=[{"label": "A", "value": "a"}])
        .to_dict()["body"]["elements"]
    )
    ours = (
        Card()
        .buttons(
            button("Approve", value={"action": "approve"}, type="primary"),
            button("Open", url="https://x.test"),
        )
        .button("Reject", value={"action": "reject"}, type="danger")
        .add(select("choice", {"a": "A"}, placeholder="Pick"))
        .elements
    )
    assert contains(ours[:2], theirs[:2])
    # Select: ours also names it (for form_value); value/option shapes agree.
    assert ours[2]["options"] == theirs[2]["options"]
    assert ours[2]["placeholder"] == theirs[2]["placeholder"]
    # 2.0 behaviors carry the same callback value and link.
    assert ours[1]["behaviors"] == [{"type": "callback", "value": {"action": "reject"}}]
    assert ours[0]["columns"][1]["elements"][0]["behaviors"] == [
        {"type": "open_url", "default_url": "https://x.test"}
    ]


def test_column_set_of_builders_matches(sdk_builder: Any) -> None:
    theirs = sdk_builder().column_set(
        [sdk_builder().markdown("left"), sdk_builder().markdown("right")]
    )
    ours = column_set([markdown("left")], column(markdown("right")))
    assert ours == theirs.to_dict()["body"]["elements"][0]


def test_button_values_parse_into_the_official_callback_model(lark: Any) -> None:
    from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTrigger

    card = approval_card("Leave", "2 days", value={"request": 42})
    approve = card["body"]["elements"][-1]["columns"][0]["elements"][0]
    payload = {
        "schema": "2.0",
        "header": {"event_type": "card.action.trigger"},
        "event": {"action": {"tag": "button", "value": approve["value"]}},
    }
    event = P2CardActionTrigger(payload)
    assert event.event.action.value == {"action": "approve", "request": 42}

    form = form_card("Expense", {"amount": "Amount"}, submit_value={"action": "expense"})
    submit = form["body"]["elements"][0]["elements"][-1]
    assert submit["form_action_type"] == "submit"
    submitted = P2CardActionTrigger(
        {
            "event": {
                "action": {
                    "tag": "button",
                    "value": submit["value"],
                    "form_value": {"amount": "12"},
                    "name": submit["name"],
                }
            }
        }
    )
    assert submitted.event.action.value == {"action": "expense"}
    assert submitted.event.action.form_value == {"amount": "12"}


def test_our_cards_sent_by_the_official_client(
    official: Callable[..., Any], lark_emulator: Emulator
) -> None:
    from lark_oapi.api.im.v1 import (
        CreateMessageRequest,
        CreateMessageRequestBody,
        GetMessageRequest,
    )

    lark_emulator.add_chat("oc_cards", "Cards")
    client = official()
    cards = [
        notification_card("Disk", "90%", level="error", url="https://x.test"),
        approval_card("Leave", "2 days", value={"request": 7}),
        form_card("Feedback", ["comment"]),
        Card("Raw").build(),
    ]
    for card in cards:
        response = client.im.v1.message.create(
            CreateMessageRequest.builder()
            .receive_id_type("chat_id")
            .request_body(
                CreateMessageRequestBody.builder()
                .receive_id("oc_cards")
                .msg_type("interactive")
                .content(json.dumps(card, ensure_ascii=False))
                .build()
            )
            .build()
        )
        assert response.success(), (response.code, response.msg)
        got = client.im.v1.message.get(
            GetMessageRequest.builder().message_id(response.data.message_id).build()
        )
        assert json.loads(got.data.items[0].body.content) == card


def test_a_malformed_card_answers_230099(
    official: Callable[..., Any], lark_emulator: Emulator
) -> None:
    from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody

    lark_emulator.add_chat("oc_cards", "Cards")
    client = official()
    response = client.im.v1.message.create(
        CreateMessageRequest.builder()
        .receive_id_type("chat_id")
        .request_body(
            CreateMessageRequestBody.builder()
            .receive_id("oc_cards")
            .msg_type("interactive")
            .content(json.dumps({"schema": "2.0", "body": "not an object"}))
            .build()
        )
        .build()
    )
    assert response.code == 230099

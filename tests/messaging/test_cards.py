"""Card builder, templates and the card forms (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from lark_service import LarkClient, errors
from lark_service.cards import (
    MAX_CARD_BYTES,
    Card,
    allows_shared_update,
    approval_card,
    build_card,
    button,
    card_content,
    card_kind,
    card_size,
    div,
    form,
    form_card,
    input_field,
    notification_card,
    select,
    template_card,
)


def test_card_json_two_skeleton() -> None:
    card = Card("Hello", summary="preview").config(width_mode="fill").markdown("x").build()
    assert card["schema"] == "2.0"
    assert card["config"] == {
        "update_multi": True,
        "summary": {"content": "preview"},
        "width_mode": "fill",
    }
    assert card["header"] == {
        "title": {"tag": "plain_text", "content": "Hello"},
        "template": "blue",
    }
    assert card["body"] == {"elements": [{"tag": "markdown", "content": "x"}]}


def test_json_two_cards_are_shared_only() -> None:
    """Feishu refuses a 2.0 card with update_multi false (230099): refused locally instead."""
    for make in (
        lambda: Card("t", update_multi=False),
        lambda: Card("t").config(update_multi=False),
        lambda: build_card("x", update_multi=False),
        lambda: card_content({"schema": "2.0", "config": {"update_multi": False}, "body": {}}),
        lambda: card_content({"schema": "2.0", "config": {"update_multi": "no"}, "body": {}}),
    ):
        with pytest.raises(errors.ValidationError, match="update_multi must be true") as info:
            make()
        assert info.value.field == "card" and info.value.hint and "v1" in info.value.hint
    assert Card("t").config(update_multi=True).markdown("x").build()["config"]["update_multi"]
    # A 2.0 card without config is shared by default; a v1 card may be non-shared.
    assert card_content({"schema": "2.0", "body": {"elements": []}})
    assert card_content({"config": {"update_multi": False}, "elements": []})


def test_elements_are_copied_not_shared() -> None:
    element = {"tag": "markdown", "content": "a"}
    card = Card().add(element)
    element["content"] = "changed"
    assert card.build()["body"]["elements"][0]["content"] == "a"


def test_size_limit_is_checked_on_build() -> None:
    card = Card("t").markdown("字" * 10_300)  # 30,900 bytes of UTF-8 plus the skeleton
    assert card_size(card.to_dict()) > MAX_CARD_BYTES
    with pytest.raises(errors.ValidationError, match="30 KB"):
        card.build()
    with pytest.raises(errors.ValidationError, match="empty"):
        Card().build()


def test_buttons_validate() -> None:
    with pytest.raises(errors.ValidationError, match=r"value .* or a url"):
        button("Nothing")
    with pytest.raises(errors.ValidationError, match="must be a dict"):
        button("x", value="approve")  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError, match="button type"):
        button("x", value={}, type="huge")  # type: ignore[arg-type]
    confirmed = button("Delete", value={"a": 1}, confirm=("Sure?", "It is gone for good"), name="d")
    assert confirmed["confirm"]["title"]["content"] == "Sure?" and confirmed["name"] == "d"


def test_form_and_inputs() -> None:
    element = form(
        "f",
        input_field("reason", label="Reason", placeholder="why", required=True, multiline=True),
        select("level", [("p0", "P0"), ("p1", "P1")], required=True, initial_option="p1"),
        submit_text="Send",
    )
    assert element["tag"] == "form" and element["name"] == "f"
    reason, level, submit = element["elements"]
    assert reason == {
        "tag": "input",
        "name": "reason",
        "label": {"tag": "plain_text", "content": "Reason"},
        "placeholder": {"tag": "plain_text", "content": "why"},
        "required": True,
        "input_type": "multiline_text",
    }
    assert level["initial_option"] == "p1" and len(level["options"]) == 2
    assert submit["form_action_type"] == "submit" and submit["value"] == {"action": "submit"}
    with pytest.raises(errors.ValidationError):
        form("empty")


def test_templates() -> None:
    note = notification_card(
        "CPU", "high", level="error", fields={"host": "db1"}, url="https://x", note="auto"
    )
    assert note["header"]["template"] == "red"
    texts = [e.get("content") for e in note["body"]["elements"]]
    assert "**host:** db1" in texts and "<font color='grey'>auto</font>" in texts
    with pytest.raises(errors.ValidationError, match="level"):
        notification_card("x", "y", level="fatal")  # type: ignore[arg-type]

    approval = approval_card("PR", "merge?", value={"pr": 1}, confirm_reject=False)
    row = approval["body"]["elements"][-1]
    values = [c["elements"][0]["value"] for c in row["columns"]]
    assert values == [{"action": "approve", "pr": 1}, {"action": "reject", "pr": 1}]
    with pytest.raises(errors.ValidationError, match="action"):
        approval_card("x", "y", value={"action": "mine"})

    form_ = form_card("F", ["a", input_field("b")], description="fill in")
    assert form_["body"]["elements"][0] == {"tag": "markdown", "content": "fill in"}
    with pytest.raises(errors.ValidationError):
        form_card("F", [])

    built = build_card("**md**", div("text", fields={"k": "v"}), title="T", template="violet")
    assert built["body"]["elements"][1]["fields"][0]["text"]["content"] == "**k**\nv"


@pytest.mark.parametrize(
    ("card", "kind", "shared"),
    [
        ({"schema": "2.0", "body": {"elements": []}}, "v2", True),
        ({"schema": "2.0", "config": {"update_multi": False}, "body": {}}, "v2", False),
        ({"elements": []}, "v1", False),
        ({"config": {"update_multi": True}, "i18n_elements": {"zh_cn": []}}, "v1", True),
        (template_card("t1"), "template", True),
        ({"type": "card", "data": {"card_id": "c1"}}, "card_id", True),
    ],
)
def test_card_kinds(card: dict[str, Any], kind: str, shared: bool) -> None:
    assert card_kind(card) == kind
    assert allows_shared_update(card) is shared


def test_card_content_accepts_builders_strings_and_sdk_payloads() -> None:
    class Payload:  # what lark-oapi's builder returns from build()
        def __init__(self) -> None:
            self.data = {"schema": "2.0", "body": {"elements": []}}

    class SdkBuilder:
        def build(self) -> Payload:
            return Payload()

    assert card_content(SdkBuilder())["schema"] == "2.0"
    assert card_content('{"elements": []}') == {"elements": []}
    with pytest.raises(errors.ValidationError, match="not JSON"):
        card_content("{nope")
    with pytest.raises(errors.ValidationError, match="empty"):
        card_content({})


def test_client_cards_is_lazy_and_cached() -> None:
    client = LarkClient("cli_x", "s", base_url="http://127.0.0.1:9")
    try:
        assert "cards" not in vars(client)
        cards = client.cards
        assert client.cards is cards
        assert cards.card("x").markdown("y").build()["header"]["title"]["content"] == "x"
        assert cards.build_card("a")["body"]["elements"] == [{"tag": "markdown", "content": "a"}]
    finally:
        client.close()

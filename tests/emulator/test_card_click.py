"""``Emulator.click_card`` and ``POST /_emulator/cards/{id}/click``: clicks Feishu would send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lark_service.testing import Emulator
from lark_service.testing.emulator.api import FeishuError
from tests.callbacks._support import ServerThread

from ._helpers import tenant_token

APP, SECRET = "cli_clicks", "s"

V1_CARD = {
    "config": {"update_multi": True},
    "elements": [
        {
            "tag": "action",
            "actions": [
                {"tag": "button", "value": {"action": "approve", "request": 42}},
                {"tag": "button", "value": {"action": "reject", "request": 42}},
                {
                    "tag": "select_static",
                    "value": {"action": "priority"},
                    "options": [{"value": "high"}, {"value": "low"}],
                },
            ],
        }
    ],
}
V2_CARD = {
    "schema": "2.0",
    "body": {
        "elements": [
            {
                "tag": "column_set",
                "columns": [
                    {
                        "tag": "column",
                        "elements": [
                            {
                                "tag": "button",
                                "name": "ack",
                                "behaviors": [{"type": "callback", "value": {"do": "ack"}}],
                            }
                        ],
                    }
                ],
            }
        ]
    },
}


@pytest.fixture
def received() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An app's callback endpoint (no encryption): its URL and the payloads it got."""
    seen: list[dict[str, Any]] = []

    async def card(request: Request) -> Response:
        seen.append(json.loads(await request.body()))
        return JSONResponse({"toast": {"type": "info", "content": "ok"}})

    with ServerThread(Starlette(routes=[Route("/card", card, methods=["POST"])])) as url:
        yield url, seen


def send_card(emu: Emulator, card: dict[str, Any]) -> str:
    with httpx.Client(base_url=emu.url) as http:
        token = tenant_token(http, APP, SECRET)
        sent = http.post(
            "/open-apis/im/v1/messages",
            params={"receive_id_type": "user_id"},
            headers={"Authorization": f"Bearer {token}"},
            json={"receive_id": "alice", "msg_type": "interactive", "content": json.dumps(card)},
        )
    message_id: str = sent.json()["data"]["message_id"]
    return message_id


@pytest.fixture
def emu(lark_emulator: Emulator, received: tuple[str, list[dict[str, Any]]]) -> Emulator:
    lark_emulator.add_app(APP, SECRET, callback_url=received[0] + "/card")
    lark_emulator.add_user("alice", name="Alice")
    return lark_emulator


def test_click_card_sends_the_components_whole_value(
    emu: Emulator, received: tuple[str, list[dict[str, Any]]]
) -> None:
    message_id = send_card(emu, V1_CARD)

    result = emu.click_card(message_id, {"action": "approve"}, user_id="alice")

    assert (result["status"], result["answer"]["toast"]["content"]) == (200, "ok")
    (payload,) = received[1]
    action = payload["event"]["action"]
    assert action["value"] == {"action": "approve", "request": 42}  # as on the card
    assert action["tag"] == "button"
    assert payload["event"]["operator"]["open_id"] == emu.open_id("alice", APP)
    assert payload["event"]["operator"]["user_id"] == "alice"


def test_a_value_that_is_not_on_the_card_is_refused(
    emu: Emulator, received: tuple[str, list[dict[str, Any]]]
) -> None:
    message_id = send_card(emu, V1_CARD)
    for value in ({"action": "delete"}, {"action": "approve", "request": 7}):
        with pytest.raises(FeishuError) as info:
            emu.click_card(message_id, value, user_id="alice")
        assert info.value.code == 230001
        assert "no component" in info.value.msg
    with pytest.raises(FeishuError):
        emu.click_card(message_id, {"action": "priority"}, option="urgent")
    assert received[1] == []  # nothing was sent to the app


def test_a_click_must_name_the_component(
    emu: Emulator, received: tuple[str, list[dict[str, Any]]]
) -> None:
    message_id = send_card(emu, V1_CARD)
    with pytest.raises(FeishuError) as info:
        emu.click_card(message_id, user_id="alice")
    assert info.value.code == 230001
    r = httpx.post(f"{emu.url}/_emulator/cards/{message_id}/click", json={"user_id": "alice"})
    assert (r.status_code, r.json()["code"]) == (400, 230001)
    assert received[1] == []


def test_an_unknown_user_gets_a_feishu_shaped_error(emu: Emulator) -> None:
    message_id = send_card(emu, V1_CARD)
    r = httpx.post(
        f"{emu.url}/_emulator/cards/{message_id}/click",
        json={"user_id": "nobody", "value": {"action": "approve"}},
    )
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == 99992352 and "nobody" in body["msg"]
    assert body["error"]["log_id"] == r.headers["X-Tt-Logid"]
    with pytest.raises(FeishuError) as info:
        emu.click_card(message_id, {"action": "approve"}, open_id="ou_nobody")
    assert info.value.code == 99992351


def test_a_json2_button_is_clicked_by_name_with_its_callback_value(
    emu: Emulator, received: tuple[str, list[dict[str, Any]]]
) -> None:
    message_id = send_card(emu, V2_CARD)
    result = emu.click_card(message_id, name="ack", user_id="alice")
    assert result["status"] == 200
    action = received[1][0]["event"]["action"]
    assert (action["name"], action["value"], action["tag"]) == ("ack", {"do": "ack"}, "button")


def test_a_select_sends_its_option(
    emu: Emulator, received: tuple[str, list[dict[str, Any]]]
) -> None:
    message_id = send_card(emu, V1_CARD)
    emu.click_card(message_id, {"action": "priority"}, option="high", user_id="alice")
    action = received[1][0]["event"]["action"]
    assert (action["tag"], action["option"]) == ("select_static", "high")


@pytest.mark.anyio
async def test_aclick_card_from_async_code(
    emu: Emulator, received: tuple[str, list[dict[str, Any]]]
) -> None:
    message_id = send_card(emu, V1_CARD)
    result = await emu.aclick_card(message_id, {"action": "reject"}, user_id="alice")
    assert result["status"] == 200
    assert received[1][0]["event"]["action"]["value"] == {"action": "reject", "request": 42}


def test_clicks_on_what_is_not_a_live_card_are_refused(emu: Emulator) -> None:
    r = httpx.post(f"{emu.url}/_emulator/cards/om_nope/click", json={"value": {"a": 1}})
    assert (r.status_code, r.json()["code"]) == (404, 230001)
    with httpx.Client(base_url=emu.url) as http:
        token = tenant_token(http, APP, SECRET)
        auth = {"Authorization": f"Bearer {token}"}
        text = http.post(
            "/open-apis/im/v1/messages",
            params={"receive_id_type": "user_id"},
            headers=auth,
            json={"receive_id": "alice", "msg_type": "text", "content": '{"text":"x"}'},
        ).json()["data"]["message_id"]
        card = send_card(emu, V1_CARD)
        http.delete(f"/open-apis/im/v1/messages/{card}", headers=auth)
    with pytest.raises(FeishuError) as info:
        emu.click_card(text, {"a": 1})
    assert info.value.code == 230054
    with pytest.raises(FeishuError) as info:
        emu.click_card(card, {"action": "approve"})
    assert info.value.code == 230011

"""``CallbackHandler.handle_trusted``: a pre-authenticated payload (the long connection's)
takes the webhook path without a signature — decrypted when encrypted, deduplicated, stored,
dispatched, answered — and still refuses what is not a callback of this app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lark_service.callbacks import (
    CallbackHandler,
    CallbackKeys,
    CallbackRouter,
    CardActionEvent,
    CardResponse,
    StaticKeys,
    Toast,
    crypto,
)
from lark_service.callbacks.simulate import card_action_payload, message_event_payload

APP, EK = "cli_trusted", "trusted-encrypt-key"


@pytest.fixture
def handled() -> list[str]:
    return []


@pytest.fixture
def handler(tmp_path: Path, handled: list[str]) -> Any:
    router = CallbackRouter()

    @router.event("im.message.receive_v1")
    def on_message(event: Any) -> None:
        handled.append(event.event_id)

    @router.card_action(value_key="do", value="ok")
    def on_card(event: CardActionEvent) -> CardResponse:
        return CardResponse(toast=Toast("fine", type="success"))

    h = CallbackHandler(
        router,
        keys=StaticKeys(CallbackKeys(APP, encrypt_key=EK)),
        database_url=f"sqlite:///{tmp_path / 'state.db'}",
    )
    yield h
    h.close()


def test_a_plain_payload_is_stored_and_a_repush_is_a_duplicate(
    handler: CallbackHandler, handled: list[str]
) -> None:
    payload = message_event_payload(APP, "hi")
    assert handler.handle_trusted("event", APP, payload) == (200, {"msg": "success"})
    raw = json.dumps(payload).encode()
    assert handler.handle_trusted("event", APP, raw) == (200, {"msg": "success"})
    handler.close()  # drains the dispatcher
    assert handled == [payload["header"]["event_id"]]


def test_an_encrypted_payload_is_opened_with_the_apps_key(
    handler: CallbackHandler, handled: list[str]
) -> None:
    payload = message_event_payload(APP, "secret")
    blob = crypto.encrypt(EK, json.dumps(payload).encode())
    body = json.dumps({"encrypt": blob}).encode()
    assert handler.handle_trusted("event", APP, body)[0] == 200
    handler.close()
    assert handled == [payload["header"]["event_id"]]


def test_no_signature_is_needed_but_the_app_must_match(handler: CallbackHandler) -> None:
    other = message_event_payload("cli_someone_else", "hi")
    status, body = handler.handle_trusted("event", APP, other)
    assert status == 400 and "cli_someone_else" in body["msg"]
    assert handler.handle_trusted("event", APP, b"not json")[0] == 400


def test_a_card_is_answered_with_the_handlers_toast(handler: CallbackHandler) -> None:
    payload = card_action_payload(APP, value={"do": "ok"})
    status, body = handler.handle_trusted("card", APP, payload)
    assert status == 200 and body["toast"]["content"] == "fine"


@pytest.mark.anyio
async def test_async_twin(handler: CallbackHandler, handled: list[str]) -> None:
    payload = message_event_payload(APP, "async")
    assert await handler.ahandle_trusted("event", APP, payload) == (200, {"msg": "success"})

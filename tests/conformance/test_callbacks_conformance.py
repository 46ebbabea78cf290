"""Our callback crypto and signatures against the official lark-oapi SDK (test-only).

The SDK's ``AESCipher`` must decrypt what we (and the emulator) encrypt; its
``EventDispatcherHandler`` and legacy ``CardActionHandler`` must accept our signatures; and a
card click sent by the emulator must pass the SDK's own checks end to end.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from lark_service.callbacks import crypto
from lark_service.callbacks.simulate import (
    card_action_payload,
    legacy_card_payload,
    message_event_payload,
    signed_request,
    url_verification_payload,
)
from tests.callbacks._support import ServerThread, free_port

EK, VT = "conf-encrypt-key", "conf-verification-token"
SDK_HEADERS = ("X-Lark-Request-Timestamp", "X-Lark-Request-Nonce", "X-Lark-Signature")


def raw_request(lark: Any, headers: dict[str, str], body: bytes) -> Any:
    from lark_oapi.core.model import RawRequest

    req = RawRequest()
    req.uri = "/webhook"
    req.headers = dict(headers)
    req.body = body
    return req


def event_handler(lark: Any, seen: list[Any]) -> Any:
    return (
        lark.EventDispatcherHandler.builder(EK, VT)
        .register_p2_card_action_trigger(lambda data: seen.append(data) or {})
        .register_p2_im_message_receive_v1(lambda data: seen.append(data))
        .build()
    )


def test_the_sdk_cipher_decrypts_what_we_encrypt(lark: Any) -> None:
    from lark_oapi.core.utils import AESCipher

    for text in ("{}", json.dumps({"challenge": "你好"}), "x" * 1000):
        blob = crypto.encrypt(EK, text.encode())
        assert AESCipher(EK).decrypt_str(blob) == text


def test_the_sdk_accepts_our_signed_encrypted_card_action(lark: Any) -> None:
    seen: list[Any] = []
    payload = card_action_payload(
        "cli_conf",
        value={"action": "approve"},
        open_id="ou_conf",
        open_message_id="om_conf",
        verification_token=VT,
    )
    headers, body = signed_request(payload, encrypt_key=EK, verification_token=VT)
    response = event_handler(lark, seen).do(raw_request(lark, headers, body))
    assert response.status_code == 200, response.content
    (event,) = seen
    assert event.event.operator.open_id == "ou_conf"
    assert event.event.action.value == {"action": "approve"}
    assert event.event.context.open_message_id == "om_conf"
    assert event.header.event_id == payload["header"]["event_id"]


def test_the_sdk_rejects_a_signature_we_reject(lark: Any) -> None:
    payload = card_action_payload("cli_conf", value={}, verification_token=VT)
    headers, body = signed_request(payload, encrypt_key=EK, verification_token=VT)
    headers["X-Lark-Signature"] = "0" * 64
    assert event_handler(lark, []).do(raw_request(lark, headers, body)).status_code == 500


def test_the_sdk_accepts_our_message_event_and_url_verification(lark: Any) -> None:
    seen: list[Any] = []
    headers, body = signed_request(
        message_event_payload("cli_conf", "hello", verification_token=VT), encrypt_key=EK
    )
    assert event_handler(lark, seen).do(raw_request(lark, headers, body)).status_code == 200
    assert json.loads(seen[0].event.message.content) == {"text": "hello"}
    _, body = signed_request(url_verification_payload("ch", VT), encrypt_key=EK)
    answer = event_handler(lark, []).do(raw_request(lark, {}, body))
    assert json.loads(answer.content) == {"challenge": "ch"}


def test_the_sdk_accepts_our_legacy_card_signature(lark: Any) -> None:
    seen: list[Any] = []
    handler = (
        lark.CardActionHandler.builder(EK, VT).register(lambda card: seen.append(card)).build()
    )
    payload = legacy_card_payload(value={"k": "v"}, open_id="ou_legacy")
    headers, body = signed_request(payload, verification_token=VT, legacy=True)
    assert handler.do(raw_request(lark, headers, body)).status_code == 200
    assert seen[0].open_id == "ou_legacy" and seen[0].action.value == {"k": "v"}
    headers["X-Lark-Signature"] = "f" * 40
    assert handler.do(raw_request(lark, headers, body)).status_code == 500


def test_an_emulator_click_passes_the_sdk_checks(lark: Any, lark_emulator: Any) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    seen: list[Any] = []
    handler = event_handler(lark, seen)

    async def webhook(request: Request) -> Response:
        headers = {name: request.headers.get(name, "") for name in SDK_HEADERS}
        result = handler.do(raw_request(lark, headers, await request.body()))
        return Response(
            result.content, status_code=result.status_code, media_type="application/json"
        )

    port = free_port()
    lark_emulator.add_app(
        "cli_confemu",
        "s",
        callback_url=f"http://127.0.0.1:{port}/card",
        encrypt_key=EK,
        verification_token=VT,
    )
    lark_emulator.add_user("bob")
    from lark_service import LarkClient

    with LarkClient("cli_confemu", "s", base_url=lark_emulator.url) as client:
        message_id = client.request(
            "POST",
            "/open-apis/im/v1/messages",
            params={"receive_id_type": "open_id"},
            json={
                "receive_id": lark_emulator.open_id("bob", "cli_confemu"),
                "msg_type": "interactive",
                "content": json.dumps(
                    {
                        "elements": [
                            {
                                "tag": "action",
                                "actions": [{"tag": "button", "value": {"action": "approve"}}],
                            }
                        ]
                    }
                ),
            },
        ).data["message_id"]
    with ServerThread(Starlette(routes=[Route("/card", webhook, methods=["POST"])]), port=port):
        r = httpx.post(
            f"{lark_emulator.url}/_emulator/cards/{message_id}/click",
            json={"user_id": "bob", "value": {"action": "approve"}},
            timeout=30,
        )
    assert r.status_code == 200 and r.json()["status"] == 200
    (event,) = seen
    assert event.event.operator.open_id == lark_emulator.open_id("bob", "cli_confemu")
    assert event.event.context.open_message_id == message_id
    assert event.event.token.startswith("c-")


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

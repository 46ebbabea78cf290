"""client.cards.update_card_by_token: the request it makes (a scripted Feishu)."""

from __future__ import annotations

import json

import httpx
import pytest

from lark_service import AsyncLarkClient, LarkClient, errors
from lark_service.cards import Card

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
UPDATE_PATH = "/open-apis/interactive/v1/card/update"


class Feishu:
    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            return httpx.Response(
                200, json={"code": 0, "msg": "ok", "tenant_access_token": "t-x", "expire": 7200}
            )
        assert request.url.path == UPDATE_PATH
        assert request.headers["authorization"] == "Bearer t-x"
        self.bodies.append(json.loads(request.content))
        return httpx.Response(200, headers={"X-Tt-Logid": "log-1"}, json={"code": 0, "msg": "ok"})


def test_update_card_by_token_sends_token_and_card() -> None:
    feishu = Feishu()
    card = Card("Approved").markdown("by Alice")
    with LarkClient(
        "cli_x", "s", base_url="https://feishu.test", transport=httpx.MockTransport(feishu.handle)
    ) as client:
        result = client.cards.update_card_by_token("c-123", card, open_ids=["ou_a"])
    assert result.log_id == "log-1" and result.request_id
    (body,) = feishu.bodies
    assert body == {"token": "c-123", "card": {**card.build(), "open_ids": ["ou_a"]}}


@pytest.mark.anyio
async def test_async_update_card_by_token_and_validation() -> None:
    feishu = Feishu()

    async def handle(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return feishu.handle(request)

    async with AsyncLarkClient(
        "cli_x", "s", base_url="https://feishu.test", transport=httpx.MockTransport(handle)
    ) as client:
        await client.cards.update_card_by_token("c-1", {"elements": []})
        with pytest.raises(errors.ValidationError, match="token"):
            await client.cards.update_card_by_token(" ", {"elements": []})
        with pytest.raises(errors.ValidationError, match="open_ids"):
            await client.cards.update_card_by_token("c-1", {"elements": []}, open_ids=[])
        with pytest.raises(errors.ValidationError, match="not a card"):
            await client.cards.update_card_by_token("c-1", {"nope": 1})
    assert len(feishu.bodies) == 1

"""Gateway operations for cards: send one (``client.messaging``) and update a clicked card
by its callback token (``client.cards``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..gateway import GatewayBody, examples, expose
from ..messaging._gateway import ReceiveIdType

__all__ = ["OPERATIONS"]

_CARD_EXAMPLE = {
    "header": {"title": {"tag": "plain_text", "content": "Deploy v2.3"}},
    "elements": [{"tag": "markdown", "content": "**Approve** the release?"}],
}


class SendCardBody(GatewayBody):
    model_config = examples({"receive_id": "oc_ops", "card": _CARD_EXAMPLE})

    receive_id: str = Field(min_length=1, max_length=256)
    card: dict[str, Any] = Field(description="A v1 or v2 card, a template or a card_id reference.")
    receive_id_type: ReceiveIdType | None = None


class UpdateByTokenBody(GatewayBody):
    model_config = examples(
        {"token": "c-295ee57216a5dc9de90fefd0aadb4b1d7d337bc7", "card": _CARD_EXAMPLE}
    )

    token: str = Field(
        min_length=1, max_length=512, description="The callback's token (30 min, 2 uses)."
    )
    card: dict[str, Any]
    open_ids: list[str] | None = Field(default=None, max_length=200)


async def send_card(
    messaging: Any,
    *,
    receive_id: str,
    card: dict[str, Any],
    receive_id_type: Any = None,
    message_uuid: str | None = None,
    app_id: str | None = None,
) -> Any:
    return await messaging.send_interactive_card(
        receive_id, card, receive_id_type=receive_id_type, uuid=message_uuid, app_id=app_id
    )


OPERATIONS = [
    expose("POST", "/cards", send_card, scopes=["cards:send"], body=SendCardBody,
           domain="messaging", uuid_argument="message_uuid", summary="Send an interactive card"),
    expose("POST", "/cards/update", "update_card_by_token", scopes=["cards:send"],
           body=UpdateByTokenBody, summary="Update a clicked card with its callback token"),
]  # fmt: skip

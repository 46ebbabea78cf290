# Generated from src/lark_service/cards/_async_client.py by scripts/unasync.py: edit that file instead.
"""``client.cards``: card builders, and the delayed update of a clicked card."""

from __future__ import annotations

from collections.abc import Sequence

from .._sync_resource import Resource
from ..errors import ValidationError
from ._builders import CardBuilders
from ._schema import card_content
from .models import CardUpdate

__all__ = ["CardsClient"]

_CARD_UPDATE = "/open-apis/interactive/v1/card/update"


class CardsClient(CardBuilders, Resource):
    """Card builders (pure, no request) and ``interactive/v1/card/update``."""

    def update_card_by_token(
        self,
        token: str,
        card: object,
        *,
        open_ids: Sequence[str] | None = None,
        app_id: str | None = None,
    ) -> CardUpdate:
        """Update a clicked card later, with the callback's token (valid 30 min, twice).

        ``POST /open-apis/interactive/v1/card/update``. Call it only after the callback was
        answered. ``open_ids`` limits the update to those users (non-shared cards). The token
        works only twice, so the call is not retried after a failure Feishu may have processed
        (a read timeout, a dropped connection, a 5xx). Raises ValidationError (no token, bad
        card, over 30 KB) before sending; InvalidParameterError for an expired or used-up
        token; TransportError / ServerError when the update may or may not have happened.
        """
        if not isinstance(token, str) or not token.strip():
            raise ValidationError(
                "token must be the non-empty token of a card callback (c-…)", field="token"
            )
        content = card_content(card)
        if open_ids is not None:
            ids = list(open_ids)
            if not ids or not all(isinstance(i, str) and i for i in ids):
                raise ValidationError(
                    "open_ids must be non-empty open_id strings", field="open_ids"
                )
            content["open_ids"] = ids
        response = self._request(
            "POST",
            _CARD_UPDATE,
            options=self._opts(app_id=app_id, idempotent=False),
            json={"token": token, "card": content},
        )
        return CardUpdate.from_response(response)

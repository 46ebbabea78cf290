"""``client.cards``: card builders, and the delayed update of a clicked card."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._async_pipeline import AsyncPipeline
from ..errors import ValidationError
from . import templates
from ._schema import card_content, template_card
from .builder import Card, Element, HeaderTemplate
from .models import CardUpdate
from .templates import Level

__all__ = ["AsyncCardsClient"]

_CARD_UPDATE = "/open-apis/interactive/v1/card/update"


class AsyncCardsClient:
    """Card builders (pure, no request) and ``interactive/v1/card/update``."""

    def __init__(self, pipeline: AsyncPipeline) -> None:
        self._pipeline = pipeline

    @staticmethod
    def card(
        title: str | None = None,
        *,
        subtitle: str | None = None,
        template: HeaderTemplate = "blue",
        update_multi: bool = True,
    ) -> Card:
        """A new card JSON 2.0 builder (see :class:`lark_service.cards.Card`)."""
        return Card(title, subtitle=subtitle, template=template, update_multi=update_multi)

    @staticmethod
    def build_card(
        *elements: Element | str,
        title: str | None = None,
        subtitle: str | None = None,
        template: HeaderTemplate = "blue",
        update_multi: bool = True,
    ) -> dict[str, Any]:
        """A card from elements (a ``str`` is Markdown). No request; ValidationError over 30 KB."""
        return templates.build_card(
            *elements,
            title=title,
            subtitle=subtitle,
            template=template,
            update_multi=update_multi,
        )

    @staticmethod
    def notification_card(
        title: str,
        content: str,
        *,
        level: Level = "info",
        fields: Mapping[str, str] | None = None,
        url: str | None = None,
        url_text: str = "View details",
        note: str | None = None,
    ) -> dict[str, Any]:
        """A notice card coloured by ``level``. No request; raises ValidationError."""
        return templates.notification_card(
            title, content, level=level, fields=fields, url=url, url_text=url_text, note=note
        )

    @staticmethod
    def approval_card(
        title: str,
        content: str,
        *,
        fields: Mapping[str, str] | None = None,
        value: Mapping[str, Any] | None = None,
        approve_text: str = "Approve",
        reject_text: str = "Reject",
        confirm_reject: bool = True,
    ) -> dict[str, Any]:
        """An Approve/Reject card (clicks send ``{"action": …, **value}``). No request."""
        return templates.approval_card(
            title,
            content,
            fields=fields,
            value=value,
            approve_text=approve_text,
            reject_text=reject_text,
            confirm_reject=confirm_reject,
        )

    @staticmethod
    def form_card(
        title: str,
        fields: Sequence[Element | str] | Mapping[str, str],
        *,
        description: str | None = None,
        submit_text: str = "Submit",
        submit_value: Mapping[str, Any] | None = None,
        name: str = "form",
    ) -> dict[str, Any]:
        """A form card with a submit button. No request; raises ValidationError."""
        return templates.form_card(
            title,
            fields,
            description=description,
            submit_text=submit_text,
            submit_value=submit_value,
            name=name,
        )

    @staticmethod
    def template_card(
        template_id: str, variables: Mapping[str, Any] | None = None, *, version: str | None = None
    ) -> dict[str, Any]:
        """A card by template id (made in Feishu's card builder tool). No request."""
        return template_card(template_id, variables, version=version)

    async def update_card_by_token(
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
        response = await self._pipeline.request(
            "POST",
            _CARD_UPDATE,
            json={"token": token, "card": content},
            app_id=app_id,
            idempotent=False,
        )
        return CardUpdate.from_response(response)

"""Cards: a typed card JSON 2.0 builder, ready-made templates, and ``client.cards``.

    from lark_service.cards import Card, button, notification_card

Importing this package makes no request; builders are pure and size-checked (30 KB).
"""

from ._async_client import AsyncCardsClient
from ._schema import allows_shared_update, card_content, card_kind, template_card
from ._sync_client import CardsClient
from .builder import (
    MAX_CARD_BYTES,
    ButtonType,
    Card,
    HeaderTemplate,
    button,
    card_size,
    check_card_size,
    column,
    column_set,
    div,
    form,
    hr,
    image,
    input_field,
    markdown,
    plain_text,
    select,
)
from .models import CardUpdate
from .templates import Level, approval_card, build_card, form_card, notification_card

__all__ = [
    "MAX_CARD_BYTES",
    "AsyncCardsClient",
    "ButtonType",
    "Card",
    "CardUpdate",
    "CardsClient",
    "HeaderTemplate",
    "Level",
    "allows_shared_update",
    "approval_card",
    "build_card",
    "button",
    "card_content",
    "card_kind",
    "card_size",
    "check_card_size",
    "column",
    "column_set",
    "div",
    "form",
    "form_card",
    "hr",
    "image",
    "input_field",
    "markdown",
    "notification_card",
    "plain_text",
    "select",
    "template_card",
]

"""What counts as a card: the four forms Feishu's ``interactive`` messages take, checked.

- JSON 2.0: ``{"schema": "2.0", "config": …, "header": …, "body": {"elements": [...]}}``
- JSON 1.0: ``{"config": …, "header": …, "elements": [...]}`` (or ``i18n_elements``)
- a template: ``{"type": "template", "data": {"template_id": …, "template_variable": …}}``
- a CardKit entity: ``{"type": "card", "data": {"card_id": …}}``
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from ..errors import ValidationError
from .builder import check_card_size, check_v2_update_multi

__all__ = ["CardKind", "allows_shared_update", "card_content", "card_kind", "template_card"]

CardKind = Literal["v2", "v1", "template", "card_id"]

_FORMS = (
    'a Card, or a dict in one of the forms {"schema": "2.0", "body": {"elements": [...]}}, '
    '{"elements": [...]} (v1), {"type": "template", "data": {"template_id": ...}} or '
    '{"type": "card", "data": {"card_id": ...}}'
)


def template_card(
    template_id: str,
    variables: Mapping[str, Any] | None = None,
    *,
    version: str | None = None,
) -> dict[str, Any]:
    """A card made in the card builder tool, by ``template_id`` (and ``version``)."""
    if not isinstance(template_id, str) or not template_id:
        raise ValidationError("template_id must be a non-empty string", field="card")
    data: dict[str, Any] = {"template_id": template_id}
    if version:
        data["template_version_name"] = version
    if variables:
        data["template_variable"] = dict(variables)
    return {"type": "template", "data": data}


def card_kind(card: Mapping[str, Any]) -> CardKind:
    """Which of the four forms ``card`` is (ValidationError if none)."""
    if card.get("schema") == "2.0":
        body = card.get("body")
        if not isinstance(body, Mapping) or not isinstance(body.get("elements", []), list):
            raise ValidationError('a JSON 2.0 card needs "body": {"elements": [...]}', field="card")
        return "v2"
    if "schema" in card:
        raise ValidationError(
            f'card schema {card["schema"]!r} is not supported; use "2.0" or omit it (v1)',
            field="card",
        )
    kind = card.get("type")
    data = card.get("data")
    if kind == "template":
        if not isinstance(data, Mapping) or not data.get("template_id"):
            raise ValidationError(
                'a template card needs "data": {"template_id": ...}', field="card"
            )
        return "template"
    if kind == "card":
        if not isinstance(data, Mapping) or not data.get("card_id"):
            raise ValidationError('a card entity needs "data": {"card_id": ...}', field="card")
        return "card_id"
    if isinstance(card.get("elements"), list) or isinstance(card.get("i18n_elements"), Mapping):
        return "v1"
    raise ValidationError(f"not a card: expected {_FORMS}", field="card")


def card_content(card: object) -> dict[str, Any]:
    """The card as the ``content`` object of an ``interactive`` message, checked.

    Accepts a :class:`~lark_service.cards.Card` (or any builder with ``build()`` /
    ``to_dict()``), a dict, or a JSON string of one. Raises ValidationError for anything else
    and for cards over 30 KB.
    """
    value: Any = card
    if hasattr(value, "build") and callable(value.build) and not isinstance(value, Mapping):
        value = value.build()
        if hasattr(value, "data") and not isinstance(value, Mapping):  # lark-oapi CardPayload
            value = value.data
    elif hasattr(value, "to_dict") and callable(value.to_dict):
        value = value.to_dict()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"the card string is not JSON: {exc}", field="card") from None
    if not isinstance(value, Mapping):
        raise ValidationError(f"expected {_FORMS}; got {type(card).__name__}", field="card")
    content = dict(value)
    if not content:
        raise ValidationError("the card is empty", field="card")
    if card_kind(content) == "v2":
        config = content.get("config")
        if isinstance(config, Mapping):
            check_v2_update_multi(config.get("update_multi", True))
    check_card_size(content)
    return content


def allows_shared_update(card: Mapping[str, Any]) -> bool:
    """Whether ``card`` may be updated for everyone (``config.update_multi``).

    v1 cards must say ``"update_multi": true``; in JSON 2.0 it is the default (and the only
    value Feishu supports: :func:`card_content` refuses a 2.0 card saying otherwise);
    templates and entities are decided by Feishu.
    """
    kind = card_kind(card)
    config = card.get("config")
    setting = config.get("update_multi") if isinstance(config, Mapping) else None
    if kind == "v1":
        return setting is True
    if kind == "v2":
        return setting is not False
    return True

"""The card builders of ``client.cards`` (pure: no request), shared by the async and sync
clients so they are written once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import templates
from ._schema import template_card
from .builder import Card, Element, HeaderTemplate
from .templates import Level

__all__ = ["CardBuilders"]


class CardBuilders:
    """Card builders; each returns a card and sends nothing."""

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

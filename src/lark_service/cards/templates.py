"""Ready-made cards for the common cases: a notification, an approval request, a form.

Each returns the card JSON 2.0 dict (size-checked), ready for ``send_interactive_card``.
Button values carry ``"action"``, which is what ``@router.card_action(value_key="action",
value="approve")`` matches on in the callback server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..errors import ValidationError
from .builder import Card, Element, HeaderTemplate, button, input_field, markdown

__all__ = ["Level", "approval_card", "build_card", "form_card", "notification_card"]

Level = Literal["info", "success", "warning", "error"]

_LEVEL_TEMPLATE: dict[str, HeaderTemplate] = {
    "info": "blue",
    "success": "green",
    "warning": "orange",
    "error": "red",
}


def build_card(
    *elements: Element | str,
    title: str | None = None,
    subtitle: str | None = None,
    template: HeaderTemplate = "blue",
    update_multi: bool = True,
) -> dict[str, Any]:
    """A card JSON 2.0 from elements (a ``str`` is a Markdown block), checked."""
    card = Card(title, subtitle=subtitle, template=template, update_multi=update_multi)
    for element in elements:
        card.add(markdown(element) if isinstance(element, str) else element)
    return card.build()


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
    """A notice: coloured title by ``level``, Markdown ``content``, optional fields and link."""
    if level not in _LEVEL_TEMPLATE:
        raise ValidationError(
            f"level {level!r} is not one of {', '.join(_LEVEL_TEMPLATE)}", field="level"
        )
    card = Card(title, template=_LEVEL_TEMPLATE[level]).markdown(content)
    if fields:
        card.add(_fields(fields))
    if url:
        card.button(url_text, url=url, type="primary")
    if note:
        card.hr().markdown(f"<font color='grey'>{note}</font>")
    return card.build()


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
    """An approval request with Approve / Reject buttons.

    Clicks come back with ``{"action": "approve"|"reject", **value}`` — put the id of what
    is being approved in ``value``.
    """
    extra = dict(value or {})
    if "action" in extra:
        raise ValidationError("value must not hold 'action'; it is set per button", field="value")
    card = Card(title, template="orange").markdown(content)
    if fields:
        card.add(_fields(fields))
    card.hr().buttons(
        button(approve_text, value={"action": "approve", **extra}, type="primary"),
        button(
            reject_text,
            value={"action": "reject", **extra},
            type="danger",
            confirm=(reject_text, f"{reject_text}: {title}?") if confirm_reject else None,
        ),
    )
    return card.build()


def form_card(
    title: str,
    fields: Sequence[Element | str] | Mapping[str, str],
    *,
    description: str | None = None,
    submit_text: str = "Submit",
    submit_value: Mapping[str, Any] | None = None,
    name: str = "form",
) -> dict[str, Any]:
    """A form: inputs (a ``str`` is a required text input of that name; a mapping is
    name → label), and a submit button sending ``submit_value`` plus ``form_value``."""
    if isinstance(fields, Mapping):
        inputs = [input_field(k, label=v, required=True) for k, v in fields.items()]
    else:
        inputs = [
            input_field(f, label=f, required=True) if isinstance(f, str) else f for f in fields
        ]
    if not inputs:
        raise ValidationError("a form needs at least one field", field="fields")
    card = Card(title, template="blue")
    if description:
        card.markdown(description)
    card.form(name, *inputs, submit_text=submit_text, submit_value=submit_value)
    return card.build()


def _fields(fields: Mapping[str, str]) -> Element:
    lines = "\n".join(f"**{label}:** {value}" for label, value in fields.items())
    return markdown(lines)

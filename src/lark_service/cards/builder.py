"""A typed builder for Feishu card JSON 2.0.

    card = (
        Card("Deploy finished", template="green")
        .markdown("**api** 1.4.2 is live")
        .hr()
        .buttons(
            button("Open", url="https://ci.example.com/1"),
            button("Roll back", value={"action": "rollback"}, type="danger"),
        )
    )
    client.messaging.send_interactive_card("oc_ops", card)

Element functions (:func:`markdown`, :func:`div`, :func:`button`, :func:`column_set`,
:func:`form`, :func:`input_field`, …) return plain dicts, so hand-written JSON mixes in freely.
The shapes follow the official SDK's builder (``lark_oapi.channel.card``); buttons carry their
callback both as 2.0 ``behaviors`` and as the ``value`` older clients read.
:meth:`Card.build` checks the 30 KB limit.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, get_args

from ..errors import ValidationError

__all__ = [
    "MAX_CARD_BYTES",
    "ButtonType",
    "Card",
    "HeaderTemplate",
    "button",
    "card_size",
    "check_card_size",
    "check_v2_update_multi",
    "column",
    "column_set",
    "div",
    "form",
    "hr",
    "image",
    "input_field",
    "markdown",
    "plain_text",
    "select",
]

MAX_CARD_BYTES = 30 * 1024

HeaderTemplate = Literal[
    "blue",
    "wathet",
    "turquoise",
    "green",
    "yellow",
    "orange",
    "red",
    "carmine",
    "violet",
    "purple",
    "indigo",
    "grey",
    "default",
]
ButtonType = Literal[
    "default",
    "primary",
    "danger",
    "text",
    "primary_text",
    "danger_text",
    "primary_filled",
    "danger_filled",
    "laser",
]
Element = dict[str, Any]

_TEMPLATES: tuple[str, ...] = get_args(HeaderTemplate)
_BUTTON_TYPES: tuple[str, ...] = get_args(ButtonType)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"card {what} must be a non-empty string", field="card")
    return value


def plain_text(content: str) -> Element:
    """``{"tag": "plain_text", "content": …}``."""
    return {"tag": "plain_text", "content": content}


def markdown(content: str, *, element_id: str | None = None) -> Element:
    """A Markdown block (``**bold**``, links, ``<at id=ou_…></at>``, lists…)."""
    element: Element = {"tag": "markdown", "content": _text(content, "markdown")}
    if element_id:
        element["element_id"] = element_id
    return element


def div(text: str, *, lark_md: bool = False, fields: Mapping[str, str] | None = None) -> Element:
    """A text block; ``fields`` adds ``**label**\\nvalue`` pairs in two columns."""
    element: Element = {
        "tag": "div",
        "text": {"tag": "lark_md" if lark_md else "plain_text", "content": _text(text, "text")},
    }
    if fields:
        element["fields"] = [
            {"is_short": True, "text": {"tag": "lark_md", "content": f"**{k}**\n{v}"}}
            for k, v in fields.items()
        ]
    return element


def hr() -> Element:
    """A horizontal rule."""
    return {"tag": "hr"}


def image(img_key: str, *, alt: str | None = None, title: str | None = None) -> Element:
    """An image by its uploaded ``image_key``."""
    element: Element = {"tag": "img", "img_key": _text(img_key, "image key")}
    if alt:
        element["alt"] = plain_text(alt)
    if title:
        element["title"] = plain_text(title)
    return element


def button(
    text: str,
    *,
    value: Mapping[str, Any] | None = None,
    url: str | None = None,
    type: ButtonType = "default",
    confirm: tuple[str, str] | None = None,
    name: str | None = None,
) -> Element:
    """A button: ``value`` is sent back in the card callback; ``url`` opens a link.

    ``confirm=(title, text)`` asks before acting.
    """
    if type not in _BUTTON_TYPES:
        raise ValidationError(
            f"button type {type!r} is not one of {', '.join(_BUTTON_TYPES)}", field="card"
        )
    if value is None and url is None:
        raise ValidationError(f"button {text!r} needs a value (callback) or a url", field="card")
    if value is not None and not isinstance(value, Mapping):
        raise ValidationError(
            "a button value must be a dict (Feishu sends objects back, not strings)",
            field="card",
        )
    element: Element = {
        "tag": "button",
        "text": plain_text(_text(text, "button text")),
        "type": type,
    }
    behaviors: list[dict[str, Any]] = []
    if url is not None:
        element["url"] = _text(url, "button url")
        behaviors.append({"type": "open_url", "default_url": url})
    if value is not None:
        element["value"] = dict(value)
        behaviors.append({"type": "callback", "value": dict(value)})
    element["behaviors"] = behaviors
    if confirm is not None:
        title, body = confirm
        element["confirm"] = {"title": plain_text(title), "text": plain_text(body)}
    if name:
        element["name"] = name
    return element


def column(
    *elements: Element,
    width: Literal["auto", "weighted"] | None = None,
    weight: int | None = None,
) -> Element:
    """One column of a :func:`column_set`."""
    element: Element = {"tag": "column", "elements": [dict(e) for e in elements]}
    if width:
        element["width"] = width
    if weight is not None:
        element["weight"] = weight
    return element


def column_set(*columns: Element | Sequence[Element]) -> Element:
    """Columns side by side; each item is a :func:`column`, one element or a list of them."""
    if not columns:
        raise ValidationError("a column_set needs at least one column", field="card")
    built: list[Element] = []
    for item in columns:
        if isinstance(item, Mapping):
            built.append(dict(item) if item.get("tag") == "column" else column(dict(item)))
        else:
            built.append(column(*item))
    return {"tag": "column_set", "columns": built}


def input_field(
    name: str,
    *,
    label: str | None = None,
    placeholder: str | None = None,
    required: bool = False,
    default_value: str | None = None,
    multiline: bool = False,
) -> Element:
    """A text input inside a :func:`form`; its value comes back as ``form_value[name]``."""
    element: Element = {"tag": "input", "name": _text(name, "input name")}
    if label:
        element["label"] = plain_text(label)
    if placeholder:
        element["placeholder"] = plain_text(placeholder)
    if required:
        element["required"] = True
    if default_value is not None:
        element["default_value"] = default_value
    if multiline:
        element["input_type"] = "multiline_text"
    return element


def select(
    name: str,
    options: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    placeholder: str | None = None,
    required: bool = False,
    initial_option: str | None = None,
) -> Element:
    """A drop-down (``select_static``); ``options`` maps value → label."""
    pairs = list(options.items()) if isinstance(options, Mapping) else list(options)
    if not pairs:
        raise ValidationError(f"select {name!r} needs at least one option", field="card")
    element: Element = {
        "tag": "select_static",
        "name": _text(name, "select name"),
        "options": [{"text": plain_text(label), "value": value} for value, label in pairs],
    }
    if placeholder:
        element["placeholder"] = plain_text(placeholder)
    if required:
        element["required"] = True
    if initial_option is not None:
        element["initial_option"] = initial_option
    return element


def form(
    name: str,
    *elements: Element,
    submit_text: str = "Submit",
    submit_value: Mapping[str, Any] | None = None,
) -> Element:
    """A form: its inputs, then a submit button sending ``submit_value`` and the inputs."""
    if not elements:
        raise ValidationError(f"form {name!r} needs at least one input", field="card")
    value = dict(submit_value) if submit_value is not None else {"action": "submit"}
    submit = button(submit_text, value=value, type="primary", name=f"{name}_submit")
    submit["form_action_type"] = "submit"
    return {
        "tag": "form",
        "name": _text(name, "form name"),
        "elements": [*(dict(e) for e in elements), submit],
    }


def check_v2_update_multi(value: object) -> None:
    """ValidationError unless ``value`` is True: JSON 2.0 cards are always shared (Feishu
    refuses ``update_multi: false`` with 230099)."""
    if value is not True:
        raise ValidationError(
            f"a JSON 2.0 card is always shared: update_multi must be true, not {value!r}",
            field="card",
            hint="Feishu refuses other values (230099). For a card that differs per user, send "
            "a v1 card dict without update_multi and update it with the callback token and "
            "open_ids.",
        )


def card_size(card: Mapping[str, Any]) -> int:
    """Bytes of the card as sent (compact UTF-8 JSON)."""
    return len(json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def check_card_size(card: Mapping[str, Any]) -> None:
    """ValidationError when the card is over Feishu's 30 KB."""
    size = card_size(card)
    if size > MAX_CARD_BYTES:
        raise ValidationError(
            f"the card is {size:,} bytes; Feishu accepts cards of at most 30 KB "
            f"({MAX_CARD_BYTES:,} bytes)",
            field="card",
            hint="Shorten the text, paginate, or link to the details.",
        )


class Card:
    """A card JSON 2.0 under construction; every method returns the card for chaining.

    JSON 2.0 cards are shared-only: ``update_multi`` can only be True (ValidationError
    otherwise, where Feishu would answer 230099).
    """

    def __init__(
        self,
        title: str | None = None,
        *,
        subtitle: str | None = None,
        template: HeaderTemplate = "blue",
        update_multi: bool = True,
        summary: str | None = None,
    ) -> None:
        check_v2_update_multi(update_multi)
        self._header: dict[str, Any] | None = None
        self._config: dict[str, Any] = {"update_multi": update_multi}
        if summary:
            self._config["summary"] = {"content": summary}
        self._elements: list[Element] = []
        if title is not None:
            self.header(title, subtitle=subtitle, template=template)

    def header(
        self,
        title: str,
        *,
        subtitle: str | None = None,
        template: HeaderTemplate = "blue",
    ) -> Card:
        """Set the title bar (``template`` is its colour)."""
        if template not in _TEMPLATES:
            raise ValidationError(
                f"header template {template!r} is not one of {', '.join(_TEMPLATES)}",
                field="card",
            )
        header: dict[str, Any] = {"title": plain_text(_text(title, "title"))}
        if subtitle:
            header["subtitle"] = plain_text(subtitle)
        header["template"] = template
        self._header = header
        return self

    def config(self, **settings: Any) -> Card:
        """Set ``config`` keys (``width_mode``, ``enable_forward``, ``summary``…;
        ``update_multi`` can only be true in JSON 2.0)."""
        if "update_multi" in settings:
            check_v2_update_multi(settings["update_multi"])
        self._config.update(settings)
        return self

    def add(self, *elements: Element) -> Card:
        """Append elements (from the functions of this module, or hand-written dicts)."""
        for element in elements:
            if not isinstance(element, Mapping) or not isinstance(element.get("tag"), str):
                raise ValidationError(
                    f"card elements are dicts with a 'tag', not {element!r}", field="card"
                )
            self._elements.append(copy.deepcopy(dict(element)))
        return self

    def markdown(self, content: str) -> Card:
        """Append a Markdown block."""
        return self.add(markdown(content))

    def div(
        self, text: str, *, lark_md: bool = False, fields: Mapping[str, str] | None = None
    ) -> Card:
        """Append a text block (with optional two-column ``fields``)."""
        return self.add(div(text, lark_md=lark_md, fields=fields))

    def hr(self) -> Card:
        """Append a horizontal rule."""
        return self.add(hr())

    def image(self, img_key: str, *, alt: str | None = None, title: str | None = None) -> Card:
        """Append an image."""
        return self.add(image(img_key, alt=alt, title=title))

    def button(
        self,
        text: str,
        *,
        value: Mapping[str, Any] | None = None,
        url: str | None = None,
        type: ButtonType = "default",
        confirm: tuple[str, str] | None = None,
    ) -> Card:
        """Append one button on its own line."""
        return self.add(button(text, value=value, url=url, type=type, confirm=confirm))

    def buttons(self, *buttons: Element) -> Card:
        """Append buttons side by side (a column set, one button per column)."""
        return self.add(column_set(*(column(b) for b in buttons)))

    def columns(self, *columns: Element | Sequence[Element]) -> Card:
        """Append a column set."""
        return self.add(column_set(*columns))

    def form(
        self,
        name: str,
        *inputs: Element,
        submit_text: str = "Submit",
        submit_value: Mapping[str, Any] | None = None,
    ) -> Card:
        """Append a form of inputs with a submit button."""
        return self.add(form(name, *inputs, submit_text=submit_text, submit_value=submit_value))

    @property
    def elements(self) -> list[Element]:
        """A copy of the body elements so far."""
        return copy.deepcopy(self._elements)

    def to_dict(self) -> dict[str, Any]:
        """The card JSON (not size-checked; see :meth:`build`)."""
        card: dict[str, Any] = {
            "schema": "2.0",
            "config": copy.deepcopy(self._config),
            "body": {"elements": copy.deepcopy(self._elements)},
        }
        if self._header is not None:
            card["header"] = copy.deepcopy(self._header)
        return card

    def build(self) -> dict[str, Any]:
        """The card JSON, checked: something to show, at most 30 KB."""
        card = self.to_dict()
        if not self._elements and self._header is None:
            raise ValidationError("the card is empty: add a header or an element", field="card")
        check_card_size(card)
        return card

    def __repr__(self) -> str:
        title = self._header["title"]["content"] if self._header else None
        return f"Card(title={title!r}, elements={len(self._elements)})"

"""Cell styles of Sheets (pure): Feishu's v2 style object, built from keyword shortcuts or
given as is, and checked before any request.

Feishu's style object (``PUT /open-apis/sheets/v2/spreadsheets/:token/style``, body
``{"appendStyle": {"range", "style"}}``)::

    {
        "font": {"bold": true, "italic": false, "fontSize": "12pt/1.5", "clean": false},
        "textDecoration": 0,        # 0 none, 1 underline, 2 strikethrough, 3 both
        "formatter": "#,##0.00",    # number format
        "hAlign": 1,                # 0 left, 1 center, 2 right
        "vAlign": 1,                # 0 top, 1 middle, 2 bottom
        "foreColor": "#000000",     # text colour
        "backColor": "#FFF2CC",     # fill
        "borderType": "FULL_BORDER",
        "borderColor": "#000000",
        "clean": false              # true clears every style of the range first
    }

Sources and what is **unverified**: the endpoint, ``appendStyle`` and the 5,000 × 100 /
30,000-border-cell limits are on Feishu's "设置单元格样式" page (D). The field names
``font.bold``/``font.fontSize``, ``hAlign``/``vAlign`` as integers, ``foreColor``,
``backColor``, ``borderType``, ``borderColor`` agree across third-party clients (3P) but the
page body was not read here. The ``fontSize`` form ``"<9-36>pt/1.5"``, the meaning of the
``textDecoration``/alignment integers and the ``borderType`` names come from memory of that
page (**?**): check them against the live page before relying on an exact rendering.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError

__all__ = [
    "ALIGN",
    "BORDER_TYPES",
    "STYLE_KEYS",
    "VALIGN",
    "build_style",
    "has_border",
]

ALIGN = {"left": 0, "center": 1, "right": 2}
"""``align=`` shortcut → Feishu's ``hAlign``."""
VALIGN = {"top": 0, "middle": 1, "center": 1, "bottom": 2}
"""``valign=`` shortcut → Feishu's ``vAlign``."""
BORDER_TYPES = (
    "FULL_BORDER",
    "OUTER_BORDER",
    "INNER_BORDER",
    "NO_BORDER",
    "LEFT_BORDER",
    "RIGHT_BORDER",
    "TOP_BORDER",
    "BOTTOM_BORDER",
)
STYLE_KEYS = frozenset(
    {
        "font",
        "textDecoration",
        "formatter",
        "hAlign",
        "vAlign",
        "foreColor",
        "backColor",
        "borderType",
        "borderColor",
        "clean",
    }
)
"""Top-level keys of Feishu's style object."""
FONT_KEYS = frozenset({"bold", "italic", "fontSize", "clean"})
FONT_SIZES = range(9, 37)
"""Font sizes Feishu offers (points)."""

_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_FONT_SIZE = re.compile(r"([0-9]+)pt/1\.5")


def build_style(
    style: Mapping[str, Any] | None = None,
    *,
    bold: bool | None = None,
    italic: bool | None = None,
    underline: bool | None = None,
    strikethrough: bool | None = None,
    font_size: int | None = None,
    color: str | None = None,
    background: str | None = None,
    align: str | None = None,
    valign: str | None = None,
    number_format: str | None = None,
    border: str | None = None,
    border_color: str | None = None,
    clean: bool | None = None,
) -> dict[str, Any]:
    """Feishu's style object: ``style`` (Feishu's own keys) with the shortcuts applied on top.

    Shortcuts: ``bold``/``italic``; ``underline``/``strikethrough`` (``textDecoration``);
    ``font_size`` in points (9-36); ``color`` (text) and ``background`` as ``#RRGGBB``;
    ``align`` left/center/right; ``valign`` top/middle/bottom; ``number_format`` (Feishu's
    ``formatter``, e.g. ``"#,##0.00"``, ``"0%"``, ``"yyyy/MM/dd"``); ``border`` full, outer,
    inner, none, left, right, top or bottom (or a ``*_BORDER`` name) with ``border_color``;
    ``clean=True`` clears the range's styles first.

    Raises ValidationError for an empty style, unknown keys, a colour that is not ``#RGB`` /
    ``#RRGGBB``, a font size outside 9-36, an unknown alignment or border.
    """
    out: dict[str, Any] = _copy_style(style) if style is not None else {}
    font: dict[str, Any] = dict(out.get("font") or {})
    if bold is not None:
        font["bold"] = _flag(bold, "bold")
    if italic is not None:
        font["italic"] = _flag(italic, "italic")
    if font_size is not None:
        if isinstance(font_size, bool) or not isinstance(font_size, int):
            raise ValidationError(
                f"font_size must be a whole number of points, not {font_size!r}",
                field="font_size",
            )
        font["fontSize"] = f"{font_size}pt/1.5"
    if font:
        out["font"] = font
    if underline is not None or strikethrough is not None:
        current = int(out.get("textDecoration") or 0)
        under = _flag(underline, "underline") if underline is not None else bool(current & 1)
        strike = (
            _flag(strikethrough, "strikethrough")
            if strikethrough is not None
            else bool(current & 2)
        )
        out["textDecoration"] = (1 if under else 0) | (2 if strike else 0)
    if color is not None:
        out["foreColor"] = color
    if background is not None:
        out["backColor"] = background
    if align is not None:
        out["hAlign"] = _choice(align, ALIGN, "align")
    if valign is not None:
        out["vAlign"] = _choice(valign, VALIGN, "valign")
    if number_format is not None:
        out["formatter"] = number_format
    if border is not None:
        out["borderType"] = _border(border)
    if border_color is not None:
        out["borderColor"] = border_color
    if clean is not None:
        out["clean"] = _flag(clean, "clean")
    _check(out)
    return out


def has_border(style: Mapping[str, Any]) -> bool:
    """Whether ``style`` sets borders (then at most 30,000 cells per call)."""
    return "borderType" in style or "borderColor" in style


def _copy_style(style: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(style, Mapping):
        raise ValidationError(
            f"style must be a dict of Feishu's style keys, not {type(style).__name__}",
            field="style",
        )
    out = {str(k): v for k, v in style.items()}
    if isinstance(out.get("font"), Mapping):
        out["font"] = dict(out["font"])
    return out


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, not {value!r}", field=name)
    return value


def _choice(value: object, table: Mapping[str, int], name: str) -> int:
    key = value.lower() if isinstance(value, str) else value
    if key not in table:
        raise ValidationError(
            f"{name} must be one of {', '.join(table)}, not {value!r}", field=name
        )
    return table[str(key)]


def _border(value: object) -> str:
    if isinstance(value, str):
        name = value.upper()
        if not name.endswith("_BORDER"):
            name += "_BORDER"
        if name in BORDER_TYPES:
            return name
    raise ValidationError(
        f"border must be one of full, outer, inner, none, left, right, top, bottom, not {value!r}",
        field="border",
    )


def _check(style: Mapping[str, Any]) -> None:
    if not style:
        raise ValidationError(
            "the style is empty: give Feishu's style keys or a shortcut such as bold=True",
            field="style",
        )
    unknown = set(style) - STYLE_KEYS
    if unknown:
        raise ValidationError(
            f"unknown style keys {', '.join(sorted(unknown))}; Feishu's are "
            f"{', '.join(sorted(STYLE_KEYS))}",
            field="style",
        )
    font = style.get("font")
    if font is not None:
        if not isinstance(font, Mapping):
            raise ValidationError("style font must be a dict", field="style")
        bad = set(font) - FONT_KEYS
        if bad:
            raise ValidationError(
                f"unknown font keys {', '.join(sorted(bad))}; Feishu's are "
                f"{', '.join(sorted(FONT_KEYS))}",
                field="style",
            )
        size = font.get("fontSize")
        if size is not None:
            found = _FONT_SIZE.fullmatch(size) if isinstance(size, str) else None
            if found is None or int(found.group(1)) not in FONT_SIZES:
                raise ValidationError(
                    f"font size {size!r} is not one Feishu offers: {FONT_SIZES.start}-"
                    f"{FONT_SIZES.stop - 1} points, written like '12pt/1.5' (or font_size=12)",
                    field="font_size",
                )
    for key in ("foreColor", "backColor", "borderColor"):
        value = style.get(key)
        if value is not None and (not isinstance(value, str) or not _COLOR.fullmatch(value)):
            raise ValidationError(
                f"{key} must be a colour like #1F6FEB (or #FFF), not {value!r}", field="style"
            )
    for key, top in (("hAlign", 2), ("vAlign", 2), ("textDecoration", 3)):
        value = style.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top
        ):
            raise ValidationError(f"{key} must be 0-{top}, not {value!r}", field="style")
    border = style.get("borderType")
    if border is not None and border not in BORDER_TYPES:
        raise ValidationError(
            f"borderType must be one of {', '.join(BORDER_TYPES)}, not {border!r}", field="style"
        )
    formatter = style.get("formatter")
    if formatter is not None and not isinstance(formatter, str):
        raise ValidationError("formatter (number_format) must be a string", field="style")

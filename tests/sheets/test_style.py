"""Pure style builder: Feishu's style object from shortcuts, checked locally."""

from __future__ import annotations

import pytest

from lark_service.errors import ValidationError
from lark_service.sheets.style import build_style, has_border


def test_shortcuts() -> None:
    style = build_style(
        bold=True,
        italic=False,
        font_size=12,
        underline=True,
        color="#1F6FEB",
        background="#fff",
        align="center",
        valign="middle",
        number_format="#,##0.00",
        border="full",
        border_color="#000000",
    )
    assert style == {
        "font": {"bold": True, "italic": False, "fontSize": "12pt/1.5"},
        "textDecoration": 1,
        "foreColor": "#1F6FEB",
        "backColor": "#fff",
        "hAlign": 1,
        "vAlign": 1,
        "formatter": "#,##0.00",
        "borderType": "FULL_BORDER",
        "borderColor": "#000000",
    }
    assert has_border(style)
    assert not has_border(build_style(bold=True))


def test_feishu_object_with_shortcuts_on_top() -> None:
    base = {"font": {"bold": False, "fontSize": "10pt/1.5"}, "textDecoration": 1}
    style = build_style(base, bold=True, strikethrough=True)
    assert style == {"font": {"bold": True, "fontSize": "10pt/1.5"}, "textDecoration": 3}
    assert base["font"] == {"bold": False, "fontSize": "10pt/1.5"}  # not mutated
    assert build_style({"clean": True}) == {"clean": True}
    assert build_style(border="OUTER_BORDER")["borderType"] == "OUTER_BORDER"


@pytest.mark.parametrize(
    ("style", "kwargs", "match"),
    [
        (None, {}, "empty"),
        ({"fontColor": "#000"}, {}, "unknown style keys fontColor"),
        ({"font": {"size": 3}}, {}, "unknown font keys size"),
        (None, {"font_size": 40}, "9-36"),
        (None, {"font_size": 8}, "9-36"),
        ({"font": {"fontSize": "12px"}}, {}, "12pt/1.5"),
        (None, {"color": "red"}, "colour"),
        (None, {"background": "#12345"}, "colour"),
        (None, {"align": "justify"}, "align must be one of"),
        (None, {"valign": "up"}, "valign must be one of"),
        (None, {"border": "thick"}, "border must be one of"),
        (None, {"bold": 1}, "True or False"),
        ({"hAlign": 5}, {}, "hAlign must be 0-2"),
        ({"borderType": "DOTTED"}, {}, "borderType"),
        ("bold", {}, "dict"),
    ],
)
def test_refused(style: object, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        build_style(style, **kwargs)  # type: ignore[arg-type]

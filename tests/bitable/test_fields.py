"""Field values typed by field type, both directions."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from lark_service.bitable import Attachment, FieldType, Link, Url, User, decode_value, encode_value
from lark_service.bitable.fields import decode_fields, encode_fields, to_text
from lark_service.errors import ValidationError

T = FieldType
WHEN = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)
WHEN_MS = 1714555800000


@pytest.mark.parametrize(
    ("value", "kind", "wire"),
    [
        ("hello", T.TEXT, "hello"),
        (42, T.TEXT, "42"),
        (42, T.NUMBER, 42),
        ("1,234.5", T.NUMBER, 1234.5),
        ("7", T.NUMBER, 7),
        ("Open", T.SINGLE_SELECT, "Open"),
        (["a", "b"], T.MULTI_SELECT, ["a", "b"]),
        ("a; b", T.MULTI_SELECT, ["a", "b"]),
        (WHEN, T.DATE, WHEN_MS),
        ("2024-05-01T09:30:00Z", T.DATE, WHEN_MS),
        (date(2024, 5, 1), T.DATE, 1714521600000),
        (str(WHEN_MS), T.DATE, WHEN_MS),
        (True, T.CHECKBOX, True),
        ("yes", T.CHECKBOX, True),
        ("", T.CHECKBOX, False),
        (User("ou_1", name="A"), T.PERSON, [{"id": "ou_1"}]),
        ("ou_1;ou_2", T.PERSON, [{"id": "ou_1"}, {"id": "ou_2"}]),
        ("+8613800000000", T.PHONE, "+8613800000000"),
        ("https://x.test", T.URL, {"link": "https://x.test", "text": "https://x.test"}),
        (Url("https://x.test", "X"), T.URL, {"link": "https://x.test", "text": "X"}),
        (Attachment("box1"), T.ATTACHMENT, [{"file_token": "box1"}]),
        (Link(("rec1", "rec2")), T.LINK, ["rec1", "rec2"]),
        ("rec1;rec2", T.DUPLEX_LINK, ["rec1", "rec2"]),
        ({"lat": 1}, 99, {"lat": 1}),  # unknown type: untouched
    ],
)
def test_encode_typed(value: object, kind: int, wire: object) -> None:
    assert encode_value(value, kind, name="f") == wire


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("abc", T.NUMBER),
        (True, T.NUMBER),
        (float("nan"), T.NUMBER),
        ("someday", T.DATE),
        ("maybe", T.CHECKBOX),
        (3.5, T.PERSON),
        ("/tmp/x.png", T.ATTACHMENT),
        (1, T.FORMULA),
        (1, T.AUTO_NUMBER),
    ],
)
def test_encode_refuses(value: object, kind: int) -> None:
    with pytest.raises(ValidationError):
        encode_value(value, kind, name="f")


def test_encode_untyped_by_python_type() -> None:
    fields = encode_fields(
        {
            "when": WHEN,
            "who": User("ou_1"),
            "people": [User("ou_1"), User("ou_2")],
            "site": Url("https://x.test"),
            "file": Attachment("box"),
            "plain": "text",
            "n": 3,
        }
    )
    assert fields == {
        "when": WHEN_MS,
        "who": [{"id": "ou_1"}],
        "people": [{"id": "ou_1"}, {"id": "ou_2"}],
        "site": {"link": "https://x.test", "text": "https://x.test"},
        "file": [{"file_token": "box"}],
        "plain": "text",
        "n": 3,
    }
    with pytest.raises(ValidationError, match="uploaded"):
        encode_fields({"file": Path("/tmp/x.png")})
    with pytest.raises(ValidationError):
        encode_fields(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_decode_by_shape_and_type() -> None:
    assert (
        decode_value([{"type": "text", "text": "he"}, {"type": "text", "text": "llo"}]) == "hello"
    )
    assert decode_value(WHEN_MS, T.DATE) == WHEN
    assert decode_value(WHEN_MS) == WHEN_MS  # a number stays a number without the type
    assert decode_value([{"id": "ou_1", "name": "A", "email": "a@x"}], T.PERSON) == [
        User("ou_1", name="A", email="a@x")
    ]
    assert decode_value({"link": "https://x", "text": "X"}) == Url("https://x", "X")
    assert decode_value([{"file_token": "b", "name": "a.png", "size": 3}]) == [
        Attachment("b", name="a.png", size=3)
    ]
    assert decode_value({"link_record_ids": ["rec1"]}, T.LINK) == Link(("rec1",))
    assert decode_value([{"record_ids": ["r1", "r2"], "text": "x", "type": "text"}]) == Link(
        ("r1", "r2")
    )
    assert decode_value({"weird": 1}, 4242) == {"weird": 1}
    assert decode_value("5", T.NUMBER) == 5


def test_round_trip_every_type() -> None:
    types = {
        "t": T.TEXT,
        "n": T.NUMBER,
        "s": T.SINGLE_SELECT,
        "m": T.MULTI_SELECT,
        "d": T.DATE,
        "c": T.CHECKBOX,
        "p": T.PERSON,
        "ph": T.PHONE,
        "u": T.URL,
        "a": T.ATTACHMENT,
        "l": T.LINK,
    }
    values = {
        "t": "x",
        "n": 2.5,
        "s": "Open",
        "m": ["a", "b"],
        "d": WHEN,
        "c": True,
        "p": [User("ou_1")],
        "ph": "123",
        "u": Url("https://x", "X"),
        "a": [Attachment("box")],
        "l": Link(("rec1",)),
    }
    wire = encode_fields(values, types)
    assert decode_fields(wire, types) == values


def test_to_text() -> None:
    assert to_text(["a", "b"]) == "a;b"
    assert to_text(WHEN) == "2024-05-01T09:30:00+00:00"
    assert to_text(True) == "true" and to_text(None) == "" and to_text(3.0) == "3"
    assert to_text([User("ou_1"), User("ou_2")]) == "ou_1;ou_2"

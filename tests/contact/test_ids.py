"""Pure helpers: email/mobile normalization and query classification."""

from __future__ import annotations

import pytest

from lark_service.contact import classify_query, normalize_email, normalize_mobile
from lark_service.errors import ValidationError


def test_normalize_email() -> None:
    assert normalize_email(" Alice@Example.COM ") == "alice@example.com"
    for bad in ("", "alice", "a@b", "a b@c.com", None, 3):
        with pytest.raises(ValidationError):
            normalize_email(bad)


def test_normalize_mobile() -> None:
    assert normalize_mobile("13800000001") == "+8613800000001"
    assert normalize_mobile("+86 138-0000-0001") == "+8613800000001"
    assert normalize_mobile("+1 (415) 555-0100") == "+14155550100"
    assert normalize_mobile("4155550100") == "4155550100"
    for bad in ("", "call me", "+", "12", None):
        with pytest.raises(ValidationError):
            normalize_mobile(bad)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("alice@example.com", ("email", "alice@example.com")),
        ("ou_abc", ("open_id", "ou_abc")),
        ("on_abc", ("union_id", "on_abc")),
        ("+8613800000001", ("mobile", "+8613800000001")),
        ("13800000001", ("mobile", "+8613800000001")),
        ("alice", ("user_id", "alice")),
        ("12345", ("user_id", "12345")),
    ],
)
def test_classify_query(query: str, expected: tuple[str, str]) -> None:
    assert classify_query(query) == expected

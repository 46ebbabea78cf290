"""Pure helpers: validate and normalize emails, mobiles and ids; infer id types; chunk lists."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal, TypeVar

from .._paths import path_id
from ..errors import ValidationError

__all__ = [
    "BATCH_SIZE",
    "PAGE_SIZE",
    "DepartmentIdType",
    "LookupField",
    "UserIdType",
    "check_id",
    "check_path_id",
    "chunks",
    "classify_query",
    "department_id_type",
    "normalize_email",
    "normalize_mobile",
    "user_id_type",
]

T = TypeVar("T")

UserIdType = Literal["open_id", "union_id", "user_id"]
DepartmentIdType = Literal["open_department_id", "department_id"]
LookupField = Literal["open_id", "union_id", "user_id", "email", "mobile"]

BATCH_SIZE = 50
"""Feishu's limit of emails, mobiles or user ids per batch call."""
PAGE_SIZE = 50
"""The largest ``page_size`` the contact list endpoints accept."""

_USER_ID_TYPES = ("open_id", "union_id", "user_id")
_DEPARTMENT_ID_TYPES = ("open_department_id", "department_id")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MOBILE_JUNK = re.compile(r"[\s\-().]")
_MOBILE = re.compile(r"^\+?\d{5,20}$")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_email(email: object) -> str:
    """``email`` trimmed and lower-cased; ValidationError if it is not an address."""
    if (
        not isinstance(email, str)
        or not _EMAIL.match(email.strip())
        or len(email) > 320
        or not _encodable(email)
    ):
        raise ValidationError(
            f"not an email address: {email!r}",
            field="email",
            hint="Pass an address like alice@example.com.",
        )
    return email.strip().lower()


def normalize_mobile(mobile: object) -> str:
    """``mobile`` without spaces or dashes, a mainland-China number given ``+86``.

    Feishu stores mobiles with the country code (``+8613800000001``); a bare 11-digit number
    starting with 1 is taken as Chinese. Other numbers need their ``+<country code>``.
    """
    text = _MOBILE_JUNK.sub("", mobile) if isinstance(mobile, str) else ""
    if not _MOBILE.match(text):
        raise ValidationError(
            f"not a mobile number: {mobile!r}",
            field="mobile",
            hint="Pass digits with the country code, e.g. +8613800000001.",
        )
    if not text.startswith("+") and _CN_MOBILE.match(text):
        return "+86" + text
    return text


def user_id_type(value: str, given: str | None = None) -> UserIdType:
    """``given`` checked, else inferred: ``ou_`` open_id, ``on_`` union_id, else user_id."""
    if given is not None:
        if given not in _USER_ID_TYPES:
            raise ValidationError(
                f"id_type must be one of {', '.join(_USER_ID_TYPES)}, not {given!r}",
                field="id_type",
            )
        return given  # type: ignore[return-value]
    if value.startswith("ou_"):
        return "open_id"
    if value.startswith("on_"):
        return "union_id"
    return "user_id"


def department_id_type(value: str, given: str | None = None) -> DepartmentIdType:
    """``given`` checked, else inferred: ``od-`` (and the root ``"0"``) open, else custom."""
    if given is not None:
        if given not in _DEPARTMENT_ID_TYPES:
            raise ValidationError(
                f"department_id_type must be one of {', '.join(_DEPARTMENT_ID_TYPES)}, "
                f"not {given!r}",
                field="department_id_type",
            )
        return given  # type: ignore[return-value]
    if value == "0" or value.startswith("od-"):
        return "open_department_id"
    return "department_id"


def classify_query(query: object) -> tuple[LookupField, str]:
    """What ``query`` names and its normalized form: an email (has ``@``), an open_id
    (``ou_``), a union_id (``on_``), a mobile (``+`` and digits, or a Chinese 11-digit number),
    else a user_id."""
    text = check_id(query, "query")
    if "@" in text:
        return "email", normalize_email(text)
    if text.startswith("ou_"):
        return "open_id", text
    if text.startswith("on_"):
        return "union_id", text
    compact = _MOBILE_JUNK.sub("", text)
    if compact.startswith("+") or _CN_MOBILE.match(compact):
        return "mobile", normalize_mobile(text)
    return "user_id", text


def check_id(value: object, field: str) -> str:
    """A non-empty id string, stripped; ValidationError otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be a non-empty string, got {value!r}", field=field)
    return value.strip()


def check_path_id(value: object, field: str) -> str:
    """:func:`check_id`, and a ValidationError for what cannot be one URL path segment
    (``.``, ``..``, ``/``, control characters, lone surrogates: see
    :func:`lark_service._paths.path_id`), before the cache or Feishu is asked."""
    text = check_id(value, field)
    path_id(text, field)
    return text


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unique(values: Iterable[T]) -> list[T]:
    """``values`` without repeats, first occurrence kept."""
    return list(dict.fromkeys(values))


def chunks(values: Sequence[T], size: int = BATCH_SIZE) -> Iterator[list[T]]:
    """``values`` in lists of at most ``size``."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])

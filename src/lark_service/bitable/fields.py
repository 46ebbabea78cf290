"""Field values typed by field type, in both directions (pure code, shared by both clients).

Feishu writes and reads each Bitable field type in its own shape (``openapi-reference.md`` §7;
the field type numbers are those of ``list_fields``' ``type``):

======================  ===========================================  =========================
type                    Python (what you give and get)               Feishu (the wire)
======================  ===========================================  =========================
1 text                  ``str``                                      ``"text"`` (search answers
                                                                     ``[{"type":"text","text"}]``)
2 number                ``int`` / ``float``                          ``42.5``
3 single select         ``str`` (the option's name)                  ``"Open"``
4 multi select          ``list[str]``                                ``["a", "b"]``
5 date                  ``datetime`` (aware, UTC when read)          ms timestamp ``1700000000000``
7 checkbox              ``bool``                                     ``true``
11 person               :class:`User` (or an ``ou_`` open_id)        ``[{"id": "ou_…"}]``
13 phone                ``str``                                      ``"+86…"``
15 URL                  :class:`Url` (or a ``str``)                  ``{"link", "text"}``
17 attachment           :class:`Attachment` (or a local file path,   ``[{"file_token": …}]``
                        uploaded first by the client)
18 / 21 link            :class:`Link` (or a list of record ids)      ``["rec…"]`` (read:
                                                                     ``{"link_record_ids"}``)
anything else           passed through untouched                     as Feishu sends it
======================  ===========================================  =========================

:func:`encode_value` turns a Python value into the write shape; with the field's type known
(from a :class:`~lark_service.bitable.models.TableSchema`) it also converts text such as a CSV
cell (``"42"`` for a number, ``"2024-05-01"`` for a date, ``"a;b"`` for a multi select,
``"yes"`` for a checkbox) and refuses a value the type cannot hold with a
:class:`~lark_service.errors.ValidationError` before any request. Without a type it converts
by the value's own Python type (``datetime`` → ms, :class:`User` → ``{"id"}``…) and passes
the rest through. :func:`decode_value` does the reverse: by shape alone (text segments,
people, URLs, attachments, links) and, with the type known, dates to ``datetime``.

Naive ``datetime`` values are taken as UTC; a ``date`` is midnight UTC.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import IntEnum
from pathlib import Path
from typing import Any

from ..errors import ValidationError

__all__ = [
    "DATE_TYPES",
    "MULTI_SEPARATOR",
    "READ_ONLY_TYPES",
    "Attachment",
    "FieldType",
    "Link",
    "Url",
    "User",
    "datetime_to_ms",
    "decode_fields",
    "decode_value",
    "encode_fields",
    "encode_value",
    "ms_to_datetime",
    "to_text",
]

MULTI_SEPARATOR = ";"
"""How a multi select, a list of people or of links is written as one text cell (CSV)."""


class FieldType(IntEnum):
    """Bitable field types (``type`` in ``list_fields``; ``ui_type`` refines some of them)."""

    TEXT = 1
    NUMBER = 2
    SINGLE_SELECT = 3
    MULTI_SELECT = 4
    DATE = 5
    CHECKBOX = 7
    PERSON = 11
    PHONE = 13
    URL = 15
    ATTACHMENT = 17
    LINK = 18
    LOOKUP = 19
    FORMULA = 20
    DUPLEX_LINK = 21
    LOCATION = 22
    GROUP_CHAT = 23
    CREATED_TIME = 1001
    MODIFIED_TIME = 1002
    CREATED_BY = 1003
    MODIFIED_BY = 1004
    AUTO_NUMBER = 1005


DATE_TYPES = frozenset({FieldType.DATE, FieldType.CREATED_TIME, FieldType.MODIFIED_TIME})
READ_ONLY_TYPES = frozenset(
    {
        FieldType.LOOKUP,
        FieldType.FORMULA,
        FieldType.CREATED_TIME,
        FieldType.MODIFIED_TIME,
        FieldType.CREATED_BY,
        FieldType.MODIFIED_BY,
        FieldType.AUTO_NUMBER,
    }
)
"""Types Feishu computes itself: writing them is refused locally when the type is known."""
_PEOPLE = frozenset({FieldType.PERSON, FieldType.CREATED_BY, FieldType.MODIFIED_BY})
_LINKS = frozenset({FieldType.LINK, FieldType.DUPLEX_LINK})
_TRUE = frozenset({"true", "yes", "y", "1", "x", "on", "checked", "✓"})
_FALSE = frozenset({"false", "no", "n", "0", "", "off", "unchecked"})


@dataclass(frozen=True)
class User:
    """A person in a person field: ``id`` is the open_id (``user_id_type=open_id``)."""

    id: str
    name: str | None = None
    en_name: str | None = None
    email: str | None = None

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True)
class Url:
    """A URL field: the link and the text shown for it."""

    link: str
    text: str | None = None

    def __str__(self) -> str:
        return self.link


@dataclass(frozen=True)
class Attachment:
    """A file in an attachment field (``file_token`` from a Drive media upload)."""

    file_token: str
    name: str | None = None
    size: int | None = None
    type: str | None = None
    url: str | None = None
    tmp_url: str | None = None

    def __str__(self) -> str:
        return self.name or self.file_token


@dataclass(frozen=True)
class Link:
    """A link to records (of the same or another table): their record ids."""

    record_ids: tuple[str, ...] = ()
    text: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return MULTI_SEPARATOR.join(self.record_ids)


def datetime_to_ms(value: datetime | date) -> int:
    """A ``datetime`` (naive = UTC) or ``date`` (midnight UTC) as epoch milliseconds."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return round(value.timestamp() * 1000)


def ms_to_datetime(value: int | float) -> datetime:
    """Epoch milliseconds as an aware UTC ``datetime``."""
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc)


_BY_NUMBER: dict[int, FieldType] = {t.value: t for t in FieldType}
_SCALARS = frozenset({str, int, bool})
_PLAIN_ITEMS = frozenset({str, int, bool})
"""List items encoded as they are (floats are checked for NaN/inf instead)."""


def _type_of(field_type: int | None) -> FieldType | int | None:
    if field_type is None:
        return None
    return _BY_NUMBER.get(field_type, field_type)


def _bad(name: str, value: Any, what: str) -> ValidationError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ValidationError(f"field {name!r}: {shown} is not {what}", field=name)


# -- encode: Python -> Feishu -----------------------------------------------------------------


def encode_value(value: Any, field_type: int | None = None, *, name: str = "value") -> Any:
    """``value`` in the shape Feishu writes for ``field_type`` (None: by the value's type).

    Raises ValidationError for a value the type cannot hold, a read-only type, or a local
    file path (the client uploads those before encoding).
    """
    if value is None:
        return None
    if field_type is None and type(value) in _SCALARS:
        return value  # the common case, fast: text, integers, booleans as they are
    kind = _type_of(field_type)
    if kind is None or not isinstance(kind, FieldType):
        return _encode_untyped(value, name)
    if kind in READ_ONLY_TYPES:
        raise ValidationError(
            f"field {name!r} is a {kind.name.lower()} field: Feishu computes it, it cannot be "
            "written",
            field=name,
        )
    encoder = _ENCODERS.get(kind)
    return encoder(value, name) if encoder is not None else _encode_untyped(value, name)


def encode_fields(
    fields: Mapping[str, Any], types: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """Every value of a record's ``fields`` encoded (``types``: field name → field type)."""
    if not isinstance(fields, Mapping):
        raise ValidationError(
            f"a record's fields must be a mapping of field name to value, not "
            f"{type(fields).__name__}",
            field="fields",
        )
    out: dict[str, Any] = {}
    known = types or {}
    for key, value in fields.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(f"field names must be non-empty strings, not {key!r}")
        out[key] = encode_value(value, known.get(key), name=key)
    return out


def _encode_untyped(value: Any, name: str) -> Any:
    if isinstance(value, (datetime, date)):
        return datetime_to_ms(value)
    if isinstance(value, User):
        return [{"id": value.id}]
    if isinstance(value, Url):
        return {"link": value.link, "text": value.text or value.link}
    if isinstance(value, Attachment):
        return [{"file_token": value.file_token}]
    if isinstance(value, Link):
        return list(value.record_ids)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        raise ValidationError(
            f"field {name!r}: a local file ({value}) must be uploaded first; the client does "
            "this for attachment fields",
            field=name,
        )
    if isinstance(value, (list, tuple)) and value:
        if all(type(v) in _PLAIN_ITEMS for v in value):
            return list(value)  # fast path: multi-select options, record ids
        if all(isinstance(v, User) for v in value):
            return [{"id": v.id} for v in value]
        if all(isinstance(v, Attachment) for v in value):
            return [{"file_token": v.file_token} for v in value]
        if any(isinstance(v, (datetime, date, Decimal, Url, Link, Path)) for v in value):
            return [_encode_untyped(v, name) for v in value]
        return list(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise _bad(name, value, "a finite number")
    return value


def _text(value: Any, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return _number_text(value)
    if isinstance(value, (list, tuple)):
        return "".join(_segment_text(v) for v in value)
    if isinstance(value, (User, Url, Attachment, Link, datetime, date)):
        return str(value)
    raise _bad(name, value, "text")


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _segment_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("text") or value.get("link") or "")
    return str(value)


def _number(value: Any, name: str) -> int | float:
    if isinstance(value, bool):
        raise _bad(name, value, "a number")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise _bad(name, value, "a finite number")
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            number = float(text)
        except ValueError:
            raise _bad(name, value, "a number") from None
        if not math.isfinite(number):
            raise _bad(name, value, "a finite number")
        return (
            int(number) if number.is_integer() and "." not in text and "e" not in text else number
        )
    raise _bad(name, value, "a number")


def _single(value: Any, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_text(value)
    raise _bad(name, value, "an option name (str)")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(MULTI_SEPARATOR) if part.strip()]


def _multi(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        return _split(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_single(v, name) for v in value]
    raise _bad(name, value, "a list of option names")


def _date(value: Any, name: str) -> int:
    if isinstance(value, (datetime, date)):
        return datetime_to_ms(value)
    if isinstance(value, bool):
        raise _bad(name, value, "a date")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _bad(
                name, value, "a date (ISO 8601, e.g. 2024-05-01 or 2024-05-01T09:00)"
            ) from None
        return datetime_to_ms(parsed)
    raise _bad(name, value, "a date")


def _checkbox(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _bad(name, value, "a checkbox value (true/false)")


def _people(value: Any, name: str) -> list[dict[str, str]]:
    items: Iterable[Any]
    if isinstance(value, str):
        items = _split(value)
    elif isinstance(value, (User, Mapping)):
        items = [value]
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise _bad(name, value, "a person (User or open_id)")
    out: list[dict[str, str]] = []
    for item in items:
        if isinstance(item, User):
            out.append({"id": item.id})
        elif isinstance(item, str) and item:
            out.append({"id": item})
        elif isinstance(item, Mapping) and isinstance(item.get("id"), str):
            out.append({"id": item["id"]})
        else:
            raise _bad(name, item, "a person (User or open_id)")
    return out


def _phone(value: Any, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _bad(name, value, "a phone number (str)")


def _url(value: Any, name: str) -> dict[str, str]:
    if isinstance(value, Url):
        return {"link": value.link, "text": value.text or value.link}
    if isinstance(value, str):
        return {"link": value, "text": value}
    if isinstance(value, Mapping) and isinstance(value.get("link"), str):
        return {"link": value["link"], "text": str(value.get("text") or value["link"])}
    raise _bad(name, value, "a URL")


def _attachments(value: Any, name: str) -> list[dict[str, str]]:
    items = value if isinstance(value, (list, tuple)) else [value]
    out: list[dict[str, str]] = []
    for item in items:
        if isinstance(item, Attachment):
            out.append({"file_token": item.file_token})
        elif isinstance(item, Mapping) and isinstance(item.get("file_token"), str):
            out.append({"file_token": item["file_token"]})
        elif isinstance(item, (Path, os.PathLike, str)):
            raise ValidationError(
                f"field {name!r}: {str(item)!r} must be uploaded first (the client uploads "
                "local files given as a Path, or as a path for an attachment field)",
                field=name,
            )
        else:
            raise _bad(name, item, "an attachment")
    return out


def _links(value: Any, name: str) -> list[str]:
    if isinstance(value, Link):
        return list(value.record_ids)
    if isinstance(value, str):
        return _split(value)
    if isinstance(value, Mapping):
        ids = value.get("link_record_ids") or value.get("record_ids")
        if isinstance(ids, list):
            return [str(v) for v in ids]
    if isinstance(value, (list, tuple)):
        out: list[str] = []
        for item in value:
            out.extend(_links(item, name))
        return out
    raise _bad(name, value, "a link (record ids)")


_ENCODERS: dict[FieldType, Any] = {
    FieldType.TEXT: _text,
    FieldType.NUMBER: _number,
    FieldType.SINGLE_SELECT: _single,
    FieldType.MULTI_SELECT: _multi,
    FieldType.DATE: _date,
    FieldType.CHECKBOX: _checkbox,
    FieldType.PERSON: _people,
    FieldType.PHONE: _phone,
    FieldType.URL: _url,
    FieldType.ATTACHMENT: _attachments,
    FieldType.LINK: _links,
    FieldType.DUPLEX_LINK: _links,
    FieldType.GROUP_CHAT: lambda value, name: value,
    FieldType.LOCATION: lambda value, name: value,
}


# -- decode: Feishu -> Python -----------------------------------------------------------------


def decode_value(value: Any, field_type: int | None = None) -> Any:
    """A value as Feishu answers it, in Python terms (see the module docstring); unknown
    types and shapes are returned untouched."""
    if value is None:
        return None
    if field_type is None:
        kind_of_value = type(value)
        if kind_of_value in _SCALARS:
            return value  # fast path: scalars need no decoding without a type
        if kind_of_value is list and all(type(v) is str for v in value):
            return value  # fast path: options or ids (what _decode_shape would return)
    kind = _type_of(field_type)
    if kind in DATE_TYPES:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return ms_to_datetime(value)
        if isinstance(value, str) and value.isdigit():
            return ms_to_datetime(int(value))
        return value
    if kind == FieldType.TEXT or kind == FieldType.PHONE:
        return _plain_text(value)
    if kind == FieldType.NUMBER and isinstance(value, str):
        try:
            return _number(value, "value")
        except ValidationError:
            return value
    if kind == FieldType.CHECKBOX:
        return bool(value)
    if kind in _PEOPLE:
        people = _decode_people(value)
        return people if people is not None else value
    if kind in _LINKS:
        link = _decode_link(value)
        return link if link is not None else value
    if isinstance(kind, int) and not isinstance(kind, FieldType):
        return value  # a type we do not know: untouched
    return _decode_shape(value)


def decode_fields(
    fields: Mapping[str, Any], types: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """Every value of an answered record's ``fields`` decoded."""
    known = types or {}
    return {key: decode_value(value, known.get(key)) for key, value in fields.items()}


def _is_segments(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, Mapping) and "text" in v and "type" in v for v in value)
        and not any("record_ids" in v for v in value)
    )


def _plain_text(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if _is_segments(value):
        return "".join(_segment_text(v) for v in value)
    return value


def _decode_people(value: Any) -> list[User] | None:
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list) or not all(
        isinstance(v, Mapping) and isinstance(v.get("id"), str) for v in value
    ):
        return None
    return [
        User(id=v["id"], name=v.get("name"), en_name=v.get("en_name"), email=v.get("email"))
        for v in value
    ]


def _decode_link(value: Any) -> Link | None:
    if isinstance(value, Mapping) and isinstance(value.get("link_record_ids"), list):
        return Link(tuple(str(v) for v in value["link_record_ids"]))
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        ids: list[str] = []
        texts: list[str] = []
        for item in value:
            found = item.get("record_ids")
            if not isinstance(found, list):
                return None
            ids.extend(str(v) for v in found)
            if item.get("text"):
                texts.append(str(item["text"]))
        return Link(tuple(ids), ", ".join(texts) or None)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return Link(tuple(value))
    return None


def _decode_shape(value: Any) -> Any:
    if _is_segments(value):
        return _plain_text(value)
    if isinstance(value, Mapping):
        if isinstance(value.get("link"), str) and set(value) <= {"link", "text"}:
            return Url(value["link"], value.get("text"))
        if "link_record_ids" in value:
            return _decode_link(value) or value
        return value
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        if all(isinstance(v.get("file_token"), str) for v in value):
            return [
                Attachment(
                    file_token=v["file_token"],
                    name=v.get("name"),
                    size=int(v["size"])
                    if isinstance(v.get("size"), (int, str)) and str(v.get("size")).isdigit()
                    else None,
                    type=v.get("type"),
                    url=v.get("url"),
                    tmp_url=v.get("tmp_url"),
                )
                for v in value
            ]
        if all("record_ids" in v for v in value):
            return _decode_link(value) or value
        if all(isinstance(v.get("id"), str) for v in value) and any(
            k in v for v in value for k in ("name", "en_name", "email")
        ):
            return _decode_people(value) or value
    return value


def to_text(value: Any) -> str:
    """A decoded value as one text cell (CSV export): lists joined with
    :data:`MULTI_SEPARATOR`, dates in ISO 8601, booleans ``true``/``false``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return MULTI_SEPARATOR.join(to_text(v) for v in value)
    if isinstance(value, Mapping):
        import json

        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)

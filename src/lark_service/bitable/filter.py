"""The filter builder: ``F("Status") == "Open"`` → the search endpoint's filter object (pure).

::

    from lark_service.bitable import F

    f = (F("Status") == "Open") & (F("Score") > 80)
    f = (F("Owner").is_empty()) | (F("Tags").contains("urgent"))
    f = (F("Status") == "Open") & ((F("Score") >= 90) | F("Flag").is_not_empty())
    f.to_filter()        # {"conjunction": "and", "conditions": [...], "children": [...]}
    f.to_filter(schema)  # the same, checked against the table's field schema

``records/search`` takes ``{"conjunction": "and"|"or", "conditions": [{"field_name",
"operator", "value": [str…]}], "children": [{"conjunction", "conditions"}]}``: one level of
groups under the top one. ``a & b & c`` flattens into one group; a group of the other
conjunction becomes a child; a group nested deeper than Feishu allows is refused.

Values are sent as strings: numbers as written, booleans ``true``/``false``, a ``datetime``
or ``date`` as ``["ExactDate", "<ms>"]`` (the date token shape is unverified: taken from
Feishu's search page as the reference quotes it), a :class:`~.fields.User` as its open_id.

Refused locally (ValidationError, nothing sent): an operator outside Feishu's ten, an empty
field name, ``None`` as a value (use ``is_empty()``), a filter over 2,000 characters
(Feishu's 1254107), and, with a schema, an unknown field name or an operator the field's
type does not support (``>`` on a text field).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ValidationError
from .fields import DATE_TYPES, FieldType, User, datetime_to_ms

if TYPE_CHECKING:
    from .models import TableSchema

__all__ = [
    "MAX_FILTER_LENGTH",
    "OPERATORS",
    "Condition",
    "F",
    "FilterExpression",
    "Group",
    "filter_body",
    "parse_condition",
]

OPERATORS = (
    "is",
    "isNot",
    "contains",
    "doesNotContain",
    "isEmpty",
    "isNotEmpty",
    "isGreater",
    "isGreaterEqual",
    "isLess",
    "isLessEqual",
)
"""The operators ``records/search`` accepts."""
MAX_FILTER_LENGTH = 2000
"""Feishu refuses a longer filter (1254107)."""
Conjunction = Literal["and", "or"]
_NO_VALUE = frozenset({"isEmpty", "isNotEmpty"})
_ORDERED = frozenset({"isGreater", "isGreaterEqual", "isLess", "isLessEqual"})
_CONTAINS = frozenset({"contains", "doesNotContain"})
_ORDERED_TYPES = frozenset(
    {FieldType.NUMBER, FieldType.AUTO_NUMBER, FieldType.FORMULA, FieldType.LOOKUP} | DATE_TYPES
)
_NO_CONTAINS = frozenset({FieldType.NUMBER, FieldType.CHECKBOX, FieldType.AUTO_NUMBER} | DATE_TYPES)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(
            f"a field name must be a non-empty string, not {name!r}", field="filter"
        )
    return name


def _value_text(value: Any, field_name: str) -> list[str]:
    if value is None:
        raise ValidationError(
            f"filter on {field_name!r}: None is not a value; use F({field_name!r}).is_empty()",
            field="filter",
        )
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, (datetime, date)):
        return ["ExactDate", str(datetime_to_ms(value))]
    if isinstance(value, float) and value.is_integer():
        return [str(int(value))]
    if isinstance(value, (int, float, Decimal)):
        return [str(value)]
    if isinstance(value, User):
        return [value.id]
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        out: list[str] = []
        for item in value:
            out.extend(_value_text(item, field_name))
        return out
    raise ValidationError(
        f"filter on {field_name!r}: {type(value).__name__} is not a filter value "
        "(str, number, bool, datetime, User or a list of them)",
        field="filter",
    )


class _Combine:
    def __and__(self, other: FilterExpression) -> Group:
        return Group.of("and", self, other)  # type: ignore[arg-type]

    def __or__(self, other: FilterExpression) -> Group:
        return Group.of("or", self, other)  # type: ignore[arg-type]

    def __bool__(self) -> bool:
        raise TypeError(
            "a filter has no truth value: combine conditions with & and | (not 'and'/'or'), "
            "and put each comparison in parentheses"
        )

    def to_filter(self, schema: TableSchema | None = None) -> dict[str, Any]:
        """The search endpoint's filter object, checked against ``schema`` when given."""
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class Condition(_Combine):
    """One condition: ``field_name operator value``. Build it with :class:`F`, or directly
    with one of :data:`OPERATORS` (ValidationError for any other)."""

    field_name: str
    operator: str
    value: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_name(self.field_name)
        if self.operator not in OPERATORS:
            close = difflib.get_close_matches(str(self.operator), OPERATORS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValidationError(
                f"filter operator {self.operator!r} is not one of {', '.join(OPERATORS)}{hint}",
                field="filter",
            )
        if not isinstance(self.value, tuple) or not all(isinstance(v, str) for v in self.value):
            raise ValidationError("a condition's value must be a tuple of strings", field="filter")
        if self.operator in _NO_VALUE and self.value:
            raise ValidationError(f"{self.operator} takes no value", field="filter")
        if self.operator not in _NO_VALUE and not self.value:
            raise ValidationError(f"{self.operator} needs a value", field="filter")

    def check(self, schema: TableSchema | None) -> None:
        """ValidationError if the field is unknown to ``schema`` or its type does not
        support the operator."""
        if schema is None:
            return
        found = schema.get(self.field_name)
        if found is None:
            close = difflib.get_close_matches(self.field_name, list(schema.names), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValidationError(
                f"filter: the table has no field {self.field_name!r}{hint}; its fields are "
                f"{', '.join(schema.names) or 'none'}",
                field="filter",
            )
        kind = found.field_type
        if self.operator in _ORDERED and kind is not None and kind not in _ORDERED_TYPES:
            raise ValidationError(
                f"filter: {self.operator} compares numbers and dates; {self.field_name!r} is a "
                f"{found.type_name} field",
                field="filter",
            )
        if self.operator in _CONTAINS and kind in _NO_CONTAINS:
            raise ValidationError(
                f"filter: {self.operator} does not apply to {self.field_name!r}, a "
                f"{found.type_name} field; use == or a comparison",
                field="filter",
            )

    def as_wire(self) -> dict[str, Any]:
        return {"field_name": self.field_name, "operator": self.operator, "value": list(self.value)}

    def to_filter(self, schema: TableSchema | None = None) -> dict[str, Any]:
        return Group("and", (self,)).to_filter(schema)

    def __repr__(self) -> str:
        return f"Condition({self.field_name!r}, {self.operator!r}, {list(self.value)!r})"


@dataclass(frozen=True, eq=False)
class Group(_Combine):
    """Conditions and groups joined by one conjunction (``&`` → ``and``, ``|`` → ``or``)."""

    conjunction: Conjunction
    items: tuple[Condition | Group, ...]

    def __post_init__(self) -> None:
        if self.conjunction not in ("and", "or"):
            raise ValidationError(
                f"conjunction must be 'and' or 'or', not {self.conjunction!r}", field="filter"
            )
        for item in self.items:
            if not isinstance(item, (Condition, Group)):
                raise ValidationError(
                    f"{type(item).__name__} cannot be combined into a filter; build "
                    "conditions with F(...)",
                    field="filter",
                )

    @classmethod
    def of(cls, conjunction: Conjunction, *parts: Condition | Group) -> Group:
        """``parts`` joined by ``conjunction``; groups of the same conjunction are merged."""
        items: list[Condition | Group] = []
        for part in parts:
            if isinstance(part, Group) and (
                part.conjunction == conjunction or len(part.items) == 1
            ):
                items.extend(part.items)
            else:
                items.append(part)
        return cls(conjunction, tuple(items))

    def conditions(self) -> Iterable[Condition]:
        """Every condition, at any depth."""
        for item in self.items:
            if isinstance(item, Condition):
                yield item
            else:
                yield from item.conditions()

    def to_filter(self, schema: TableSchema | None = None) -> dict[str, Any]:
        for condition in self.conditions():
            condition.check(schema)
        conditions = [i.as_wire() for i in self.items if isinstance(i, Condition)]
        children: list[dict[str, Any]] = []
        for item in self.items:
            if not isinstance(item, Group):
                continue
            if any(isinstance(sub, Group) for sub in item.items):
                raise ValidationError(
                    "filter: Feishu allows one level of groups under the top one, e.g. "
                    "(a & b) | (c & d); this filter nests deeper",
                    field="filter",
                )
            children.append(
                {
                    "conjunction": item.conjunction,
                    "conditions": [
                        sub.as_wire() for sub in item.items if isinstance(sub, Condition)
                    ],
                }
            )
        body: dict[str, Any] = {"conjunction": self.conjunction, "conditions": conditions}
        if children:
            body["children"] = children
        _check_length(body)
        return body


FilterExpression = Condition | Group


class F:
    """A field to build conditions on: ``F("Score") > 80``, ``F("Owner").is_empty()``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = _check_name(name)

    def _cond(self, operator: str, value: Any = None) -> Condition:
        values = () if operator in _NO_VALUE else tuple(_value_text(value, self.name))
        return Condition(self.name, operator, values)

    def __eq__(self, value: object) -> Condition:  # type: ignore[override]
        return self._cond("is", value)

    def __ne__(self, value: object) -> Condition:  # type: ignore[override]
        return self._cond("isNot", value)

    def __gt__(self, value: Any) -> Condition:
        return self._cond("isGreater", value)

    def __ge__(self, value: Any) -> Condition:
        return self._cond("isGreaterEqual", value)

    def __lt__(self, value: Any) -> Condition:
        return self._cond("isLess", value)

    def __le__(self, value: Any) -> Condition:
        return self._cond("isLessEqual", value)

    __hash__ = None  # type: ignore[assignment]

    def is_(self, value: Any) -> Condition:
        """``is`` (same as ``==``)."""
        return self._cond("is", value)

    def is_not(self, value: Any) -> Condition:
        """``isNot`` (same as ``!=``)."""
        return self._cond("isNot", value)

    def contains(self, value: Any) -> Condition:
        """``contains``: text containing ``value``, a multi select/person holding it."""
        return self._cond("contains", value)

    def does_not_contain(self, value: Any) -> Condition:
        """``doesNotContain``."""
        return self._cond("doesNotContain", value)

    not_contains = does_not_contain

    def is_empty(self) -> Condition:
        """``isEmpty``: no value."""
        return self._cond("isEmpty")

    def is_not_empty(self) -> Condition:
        """``isNotEmpty``."""
        return self._cond("isNotEmpty")

    def __repr__(self) -> str:
        return f"F({self.name!r})"


def _check_length(body: Mapping[str, Any]) -> None:
    size = len(json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    if size > MAX_FILTER_LENGTH:
        raise ValidationError(
            f"the filter is {size} characters long; Feishu accepts at most {MAX_FILTER_LENGTH} "
            "(1254107): split the query or filter fewer values",
            field="filter",
        )


def filter_body(value: Any, schema: TableSchema | None = None) -> dict[str, Any] | None:
    """``filter=`` of ``query_records`` as the wire object: a :class:`Condition` /
    :class:`Group`, or a Feishu-shaped mapping (checked: conjunction, operators, fields)."""
    if value is None:
        return None
    if isinstance(value, (Condition, Group)):
        return value.to_filter(schema)
    if isinstance(value, Mapping):
        return _from_wire(value, top=True).to_filter(schema)
    raise ValidationError(
        f"filter must be built with F(...) (or be Feishu's filter object), not "
        f"{type(value).__name__}",
        field="filter",
    )


def _from_wire(value: Mapping[str, Any], *, top: bool) -> Group:
    conjunction = value.get("conjunction", "and")
    items: list[Condition | Group] = []
    for raw in _list(value.get("conditions"), "conditions"):
        if not isinstance(raw, Mapping):
            raise ValidationError("filter conditions must be objects", field="filter")
        values = raw.get("value") or []
        if isinstance(values, str):
            values = [values]
        items.append(
            Condition(
                str(raw.get("field_name", "")),
                str(raw.get("operator", "")),
                tuple(map(str, values)),
            )
        )
    for child in _list(value.get("children"), "children"):
        if not top or not isinstance(child, Mapping):
            raise ValidationError("filter children must be objects one level deep", field="filter")
        items.append(_from_wire(child, top=False))
    return Group(conjunction, tuple(items))


def _list(value: Any, name: str) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"filter {name} must be a list", field="filter")
    return value


_TEXT_OPS = (
    ("is not empty", "isNotEmpty"),
    ("is empty", "isEmpty"),
    ("!=", "isNot"),
    (">=", "isGreaterEqual"),
    ("<=", "isLessEqual"),
    ("!~", "doesNotContain"),
    ("=", "is"),
    (">", "isGreater"),
    ("<", "isLess"),
    ("~", "contains"),
)


def parse_condition(text: str) -> Condition:
    """``"Status = Open"``, ``"Score >= 80"``, ``"Title ~ deploy"`` (contains), ``"!~"``,
    ``"!="``, ``"Owner is empty"`` / ``"is not empty"`` → a :class:`Condition` (the command
    line's ``--filter``). The field name is everything before the operator, trimmed."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("a filter must not be empty", field="filter")
    lowered = text.lower().rstrip()
    for words, operator in _TEXT_OPS[:2]:
        if lowered.endswith(" " + words):
            return Condition(_check_name(text.rstrip()[: -len(words)].strip()), operator, ())
    found: list[tuple[int, int, str, str]] = []
    for symbol, operator in _TEXT_OPS[2:]:
        at = text.find(symbol)
        if at > 0:
            found.append((at, -len(symbol), symbol, operator))
    if found:
        at, _, symbol, operator = min(found)
        name, value = text[:at].strip(), text[at + len(symbol) :].strip()
        if not value:
            raise ValidationError(f"filter {text!r} has no value after {symbol}", field="filter")
        return Condition(_check_name(name), operator, (value,))
    raise ValidationError(
        f"filter {text!r} has no operator: use FIELD = VALUE, !=, >, >=, <, <=, ~ (contains), "
        "!~, or FIELD is empty / is not empty",
        field="filter",
    )

"""A typed filter builder for aPaaS workspace records, producing PostgREST-style syntax.

>>> from lark_service.apaas import C
>>> render((C("age") > 10) & (C("name") == "Bob"))
'age=gt.10&name=eq.Bob'
>>> render((C("age") > 10) | C("name").in_(["Bob", "Ann"]))
'or=(age.gt.10,name.in.(Bob,Ann))'
>>> render(~(C("status") == "done"))
'status=not.eq.done'

Top-level conditions are joined with ``&`` (``column=op.value``); ``|`` groups become
``or=(...)`` (nested: ``and(...)`` / ``or(...)``); ``~`` negates (``not.``). Values holding
``,().:"`` or spaces are double-quoted as PostgREST requires; booleans are ``true``/``false``;
``None`` compares with ``is.null``. A plain string filter is sent as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Union

from ..errors import ValidationError

__all__ = ["And", "C", "Condition", "Filter", "Not", "Or", "render"]

_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is")
_RESERVED = set(',().:"\\ ')


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if not isinstance(value, str):
        raise ValidationError(
            f"filter values are str, int, float, bool or None, not {type(value).__name__}",
            field="filter",
        )
    if value == "" or any(ch in _RESERVED for ch in value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _column(name: str) -> str:
    if not isinstance(name, str) or not name or any(ch in _RESERVED | {"=", "&"} for ch in name):
        raise ValidationError(f"invalid column name {name!r}", field="filter")
    return name


class _Expr:
    def __and__(self, other: Filter) -> And:
        return And((self, other))  # type: ignore[arg-type]

    def __or__(self, other: Filter) -> Or:
        return Or((self, other))  # type: ignore[arg-type]

    def __invert__(self) -> Not:
        return Not(self)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Condition(_Expr):
    column: str
    op: str
    value: Any
    negated: bool = False

    def expr(self) -> str:
        if self.op == "in":
            values = ",".join(_value(v) for v in self.value)
            body = f"in.({values})"
        else:
            body = f"{self.op}.{_value(self.value)}"
        return ("not." if self.negated else "") + body


@dataclass(frozen=True)
class And(_Expr):
    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class Or(_Expr):
    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class Not(_Expr):
    part: Filter


Filter = Union[Condition, And, Or, Not]  # noqa: UP007 - a runtime alias


class C:
    """A column to compare: ``C("age") > 10``, ``C("name") == "Bob"``, ``C("tag").in_([...])``,
    ``C("title").like("%report%")``, ``C("owner").is_null()``."""

    def __init__(self, name: str) -> None:
        self.name = _column(name)

    def _c(self, op: str, value: Any) -> Condition:
        if value is None and op in ("eq", "neq"):
            return Condition(self.name, "is", None, negated=op == "neq")
        return Condition(self.name, op, value)

    def __eq__(self, value: Any) -> Condition:  # type: ignore[override]
        return self._c("eq", value)

    def __ne__(self, value: Any) -> Condition:  # type: ignore[override]
        return self._c("neq", value)

    def __gt__(self, value: Any) -> Condition:
        return self._c("gt", value)

    def __ge__(self, value: Any) -> Condition:
        return self._c("gte", value)

    def __lt__(self, value: Any) -> Condition:
        return self._c("lt", value)

    def __le__(self, value: Any) -> Condition:
        return self._c("lte", value)

    def __hash__(self) -> int:
        return hash(self.name)

    def like(self, pattern: str) -> Condition:
        """SQL LIKE (``%`` any run of characters), case-sensitive."""
        return Condition(self.name, "like", pattern)

    def ilike(self, pattern: str) -> Condition:
        """LIKE, ignoring case."""
        return Condition(self.name, "ilike", pattern)

    def in_(self, values: Iterable[Any]) -> Condition:
        items = tuple(values)
        if not items:
            raise ValidationError(f"{self.name}.in_() needs at least one value", field="filter")
        return Condition(self.name, "in", items)

    def is_null(self) -> Condition:
        return Condition(self.name, "is", None)

    def is_not_null(self) -> Condition:
        return Condition(self.name, "is", None, negated=True)


def _flat(kind: type, parts: Iterable[Filter]) -> list[Filter]:
    out: list[Filter] = []
    for part in parts:
        if isinstance(part, kind):
            out.extend(_flat(kind, part.parts))  # type: ignore[union-attr]
        else:
            out.append(part)
    return out


def _inner(node: Filter, negate: bool = False) -> str:
    """``node`` as a member of a group: ``col.op.value`` / ``and(...)`` / ``or(...)``."""
    if isinstance(node, Condition):
        cond = Condition(node.column, node.op, node.value, node.negated != negate)
        return f"{node.column}.{cond.expr()}"
    if isinstance(node, Not):
        return _inner(node.part, not negate)
    kind = "and" if isinstance(node, And) else "or"
    members = ",".join(_inner(p) for p in _flat(type(node), node.parts))
    return ("not." if negate else "") + f"{kind}({members})"


def render(filter: Filter | str | None) -> str | None:
    """The PostgREST text of ``filter`` (a string is checked for emptiness and sent as is)."""
    if filter is None:
        return None
    if isinstance(filter, str):
        if not filter.strip():
            raise ValidationError("filter must not be empty", field="filter")
        return filter
    if not isinstance(filter, (Condition, And, Or, Not)):
        raise ValidationError(
            "filter must be built with C(...) (e.g. C('age') > 10) or be a string",
            field="filter",
        )
    parts: list[str] = []
    for node in _flat(And, [filter]):
        if isinstance(node, Condition):
            parts.append(f"{node.column}={node.expr()}")
        elif isinstance(node, Not) and isinstance(node.part, Condition):
            c = node.part
            parts.append(f"{c.column}={Condition(c.column, c.op, c.value, not c.negated).expr()}")
        elif isinstance(node, Or):
            members = ",".join(_inner(p) for p in _flat(Or, node.parts))
            parts.append(f"or=({members})")
        elif isinstance(node, Not) and isinstance(node.part, (And, Or)):
            kind = "and" if isinstance(node.part, And) else "or"
            members = ",".join(_inner(p) for p in _flat(type(node.part), node.part.parts))
            parts.append(f"not.{kind}=({members})")
        else:  # a negated negation
            assert isinstance(node, Not)
            inner = render(node.part.part if isinstance(node.part, Not) else node.part)
            parts.append(str(inner))
    return "&".join(parts)

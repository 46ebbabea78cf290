"""The emulator's aPaaS state: workspaces, tables, records, functions, flows and user tasks.

Kept in ``EmulatorState.domain("apaas")``; tests reach it with :func:`apaas`
(``apaas(emu.state).add_workspace(...)``). Records are evaluated with a PostgREST-style
filter parser (:func:`parse_filter`): ``age=gt.10&name=eq.Bob``, ``or=(age.gt.10,name.eq.Bob)``,
``and(...)`` inside groups, ``not.`` negation; operators ``eq neq gt gte lt lte like ilike in
is``. Order is ``age.desc,score.asc``.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .state import EmulatorState

__all__ = [
    "ApaasDomain",
    "Execution",
    "FilterSyntaxError",
    "Function",
    "Table",
    "Workspace",
    "apaas",
    "order_records",
    "parse_filter",
]

Predicate = Callable[[dict[str, Any]], bool]


class FilterSyntaxError(ValueError):
    """A filter the parser cannot read."""


@dataclass
class Table:
    name: str
    description: str = ""
    columns: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    def column_names(self) -> list[str]:
        return [str(c.get("name")) for c in self.columns]

    def unique_columns(self) -> list[str]:
        return [
            str(c["name"]) for c in self.columns if c.get("is_unique") or c.get("is_primary_key")
        ]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "columns": self.columns}


@dataclass
class Workspace:
    workspace_id: str
    tables: dict[str, Table] = field(default_factory=dict)
    required_scopes: list[str] = field(default_factory=list)
    max_records: int | None = None
    conflicts: int = 0
    """The next ``conflicts`` writes answer a write conflict (a concurrent writer)."""

    def record_count(self) -> int:
        return sum(len(t.records) for t in self.tables.values())


@dataclass
class Function:
    result: Any = None
    latency: float = 0.0
    error: str | None = None


@dataclass
class Execution:
    execution_id: str
    namespace: str
    flow_id: str
    params: Any
    status: str
    out_params: Any
    started_at: float
    task_id: str | None = None


@dataclass
class ApaasDomain:
    lock: threading.RLock = field(default_factory=threading.RLock)
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    functions: dict[tuple[str, str], Function] = field(default_factory=dict)
    flows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    executions: dict[str, Execution] = field(default_factory=dict)
    idempotency: dict[tuple[str, str, str], str] = field(default_factory=dict)
    next_id: int = 1

    def new_id(self) -> int:
        with self.lock:
            value = self.next_id
            self.next_id += 1
            return value

    def add_workspace(
        self,
        workspace_id: str,
        tables: list[dict[str, Any]] | None = None,
        *,
        required_scopes: list[str] | None = None,
        max_records: int | None = None,
        now_ms: int = 0,
    ) -> Workspace:
        """Create (or replace) a workspace; ``tables`` as ``{"name", "description",
        "columns": [{"name", "data_type", "is_primary_key", "is_unique", ...}], "records"}``."""
        ws = Workspace(workspace_id, required_scopes=list(required_scopes or []))
        ws.max_records = max_records
        for spec in tables or []:
            table = Table(
                str(spec["name"]),
                str(spec.get("description", "")),
                [_column(c) for c in spec.get("columns", [])],
            )
            for record in spec.get("records", []):
                table.records.append(self.stamp(dict(record), now_ms))
            ws.tables[table.name] = table
        with self.lock:
            self.workspaces[workspace_id] = ws
        return ws

    def stamp(self, record: dict[str, Any], now_ms: int) -> dict[str, Any]:
        record.setdefault("_id", self.new_id())
        record.setdefault("_created_at", now_ms)
        record["_updated_at"] = now_ms
        return record

    def set_function(
        self,
        namespace: str,
        name: str,
        *,
        result: Any = None,
        latency: float = 0.0,
        error: str | None = None,
    ) -> None:
        with self.lock:
            self.functions[(namespace, name)] = Function(result, latency, error)

    def set_flow(
        self,
        namespace: str,
        flow_id: str,
        *,
        out_params: Any = None,
        status: str = "completed",
        task: bool = True,
        label: str | None = None,
    ) -> None:
        with self.lock:
            self.flows[(namespace, flow_id)] = {
                "out_params": out_params,
                "status": status,
                "task": task,
                "label": label or flow_id,
            }


def _column(spec: dict[str, Any]) -> dict[str, Any]:
    column = {
        "name": spec["name"],
        "description": spec.get("description", ""),
        "data_type": spec.get("data_type", "text"),
        "is_primary_key": bool(spec.get("is_primary_key", False)),
        "is_unique": bool(spec.get("is_unique", False)),
        "is_auto_increment": bool(spec.get("is_auto_increment", False)),
        "is_array": bool(spec.get("is_array", False)),
        "is_allow_null": bool(spec.get("is_allow_null", True)),
        "default_value": spec.get("default_value", ""),
    }
    return column


def apaas(state: EmulatorState) -> ApaasDomain:
    """The aPaaS state of ``state`` (made on first use)."""
    return state.domain("apaas", ApaasDomain)


# -- PostgREST-style filters --------------------------------------------------------------


def _split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses and double quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth < 0:
                raise FilterSyntaxError(f"unbalanced ')' in {text!r}")
        elif not quoted and depth == 0 and ch == sep:
            parts.append(text[start:i])
            start = i + 1
    if depth or quoted:
        raise FilterSyntaxError(f"unbalanced parentheses or quotes in {text!r}")
    parts.append(text[start:])
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def _coerce(raw: str, sample: Any) -> Any:
    if isinstance(sample, bool):
        return raw.lower() == "true"
    if isinstance(sample, (int, float)):
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw


def _like(pattern: str, value: Any, fold: bool) -> bool:
    text = str(value)
    glob = pattern.replace("%", "*")
    if fold:
        return fnmatch.fnmatchcase(text.lower(), glob.lower())
    return fnmatch.fnmatchcase(text, glob)


def _condition(column: str, expr: str) -> Predicate:
    negate = False
    if expr.startswith("not."):
        negate, expr = True, expr[4:]
    op, dot, raw = expr.partition(".")
    if not dot:
        raise FilterSyntaxError(f"{column}: expected operator.value, got {expr!r}")
    if op not in {"eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is"}:
        raise FilterSyntaxError(f"{column}: unknown operator {op!r}")

    def test(record: dict[str, Any]) -> bool:
        value = record.get(column)
        if op == "is":
            want = {"null": None, "true": True, "false": False}.get(raw.lower(), raw)
            return value is want if want is None else value == want
        if op == "in":
            inner = raw[1:-1] if raw.startswith("(") and raw.endswith(")") else raw
            options = [_coerce(_unquote(v), value) for v in _split_top(inner, ",") if v != ""]
            return value in options
        if value is None:
            return False
        target = _coerce(_unquote(raw), value)
        if op == "like":
            return _like(str(target), value, False)
        if op == "ilike":
            return _like(str(target), value, True)
        try:
            if op == "eq":
                return bool(value == target)
            if op == "neq":
                return bool(value != target)
            if op == "gt":
                return bool(value > target)
            if op == "gte":
                return bool(value >= target)
            if op == "lt":
                return bool(value < target)
            return bool(value <= target)
        except TypeError:
            return False

    return (lambda r: not test(r)) if negate else test


def _group(kind: str, inner: str, negate: bool) -> Predicate:
    parts = [_item(p) for p in _split_top(inner, ",") if p]
    if kind == "or":

        def both(r: dict[str, Any]) -> bool:
            return any(p(r) for p in parts)
    else:

        def both(r: dict[str, Any]) -> bool:
            return all(p(r) for p in parts)

    return (lambda r: not both(r)) if negate else both


def _item(text: str) -> Predicate:
    """One member of a group: ``col.op.value`` or ``and(...)`` / ``or(...)`` / ``not.or(...)``."""
    negate = False
    body = text
    if body.startswith("not.") and (body[4:].startswith("and(") or body[4:].startswith("or(")):
        negate, body = True, body[4:]
    for kind in ("and", "or"):
        if body.startswith(kind + "(") and body.endswith(")"):
            return _group(kind, body[len(kind) + 1 : -1], negate)
    column, dot, expr = text.partition(".")
    if not dot:
        raise FilterSyntaxError(f"expected column.operator.value, got {text!r}")
    return _condition(column, expr)


def parse_filter(text: str | None) -> Predicate:
    """A predicate for ``text`` (conditions joined by ``&``; an empty filter matches all)."""
    if not text:
        return lambda r: True
    predicates: list[Predicate] = []
    for part in _split_top(text, "&"):
        if not part:
            continue
        key, eq, expr = part.partition("=")
        if not eq:
            raise FilterSyntaxError(f"expected column=operator.value, got {part!r}")
        negate = False
        if key.startswith("not."):
            negate, key = True, key[4:]
        if key in ("or", "and"):
            if not (expr.startswith("(") and expr.endswith(")")):
                raise FilterSyntaxError(f"{key}= needs a parenthesised list, got {expr!r}")
            predicates.append(_group(key, expr[1:-1], negate))
        else:
            predicates.append(_condition(key, expr))
    return lambda r: all(p(r) for p in predicates)


def order_records(records: list[dict[str, Any]], order: str | None) -> list[dict[str, Any]]:
    """``records`` sorted by ``age.desc,score.asc`` (None values last)."""
    result = list(records)
    if not order:
        return result
    for spec in reversed([s for s in order.split(",") if s]):
        column, _, direction = spec.partition(".")
        reverse = direction.startswith("desc")
        present = [r for r in result if r.get(column) is not None]
        missing = [r for r in result if r.get(column) is None]
        present.sort(key=lambda r: r[column], reverse=reverse)
        result = present + missing
    return result

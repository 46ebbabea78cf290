"""Bitable state of the emulator: bases, tables, fields and records, plus the pure rules the
routes apply (value checks by field type, filter evaluation, sorting).

Kept in ``EmulatorState.domain("bitable", ...)``, so ``reset()`` drops it. Tests seed it::

    from lark_service.testing.emulator.bitable_state import bitable_of

    base = bitable_of(emulator)                # an Emulator or an EmulatorState
    base.add_base("bascnDemo", "Ops")
    table_id = base.add_table("bascnDemo", "Tasks", {"Name": 1, "Score": 2, "Status": 3})

Knobs (attributes of :class:`BitableState`): ``batch_limit`` (500: 1254104 above),
``max_records`` (20,000 per table: 1254103), ``writes_per_second`` (a per-app write
budget: 1254290 over it), ``write_seconds`` (how long a write is "in
flight": a second write to the same table meanwhile gets 1254291), ``lose_answers`` (the
next N writes are applied but answered 1255040, as a timed-out gateway would: a client that
retries without the same ``client_token`` duplicates records), ``lose_rate`` with
``seed`` (a fraction of writes, at random).
"""

from __future__ import annotations

import itertools
import math
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .api import FeishuError

__all__ = [
    "BitableBase",
    "BitableField",
    "BitableState",
    "BitableTable",
    "bitable_of",
    "check_value",
    "matches",
    "sort_key",
]

TEXT, NUMBER, SINGLE, MULTI, DATE, CHECKBOX, PERSON, PHONE, URL, ATTACHMENT, LINK = (
    1, 2, 3, 4, 5, 7, 11, 13, 15, 17, 18,
)  # fmt: skip
DUPLEX = 21
READ_ONLY = frozenset({19, 20, 1001, 1002, 1003, 1004, 1005})
DAY_MS = 86_400_000
_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):012x}"


@dataclass
class BitableField:
    field_id: str
    name: str
    type: int
    is_primary: bool = False
    property: dict[str, Any] | None = None
    option_names: tuple[list[Any], int, set[Any]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    """A cache for writes: the options list it was built from, its length, the names."""

    def wire(self) -> dict[str, Any]:
        ui = {
            TEXT: "Text", NUMBER: "Number", SINGLE: "SingleSelect", MULTI: "MultiSelect",
            DATE: "DateTime", CHECKBOX: "Checkbox", PERSON: "User", PHONE: "Phone", URL: "Url",
            ATTACHMENT: "Attachment", LINK: "SingleLink", DUPLEX: "DuplexLink",
        }.get(self.type, "Unknown")  # fmt: skip
        return {
            "field_id": self.field_id,
            "field_name": self.name,
            "type": self.type,
            "ui_type": ui,
            "is_primary": self.is_primary,
            "is_hidden": False,
            "property": self.property,
            "description": None,
        }


@dataclass
class BitableTable:
    table_id: str
    name: str
    fields: list[BitableField]
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    revision: int = 1
    writers: int = 0
    _by_name: dict[str, BitableField] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _indexed: int = field(default=-1, init=False, repr=False, compare=False)

    def field(self, name: str) -> BitableField | None:
        # every value of every written record looks its field up: a dict, not a scan
        if self._indexed != len(self.fields):
            by_name: dict[str, BitableField] = {}
            for f in self.fields:
                by_name.setdefault(f.name, f)
            self._by_name, self._indexed = by_name, len(self.fields)
        return self._by_name.get(name)


@dataclass
class BitableBase:
    app_token: str
    name: str
    tables: dict[str, BitableTable] = field(default_factory=dict)


class BitableState:
    """Bases by ``app_token``, client-token answers, and the knobs (module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.bases: dict[str, BitableBase] = {}
        self.answers: dict[tuple[str, ...], dict[str, Any]] = {}
        self.batch_limit = 500
        self.max_records = 20_000
        self.write_seconds = 0.0
        self.lose_answers = 0
        self.lose_rate = 0.0
        self.random = random.Random(0)
        self.uploads: dict[str, dict[str, Any]] = {}
        self.conflicts = 0
        """How many writes were refused with 1254291."""
        self.writes = 0
        self.writes_per_second: float | None = None
        """A per-app write budget (None: none); over it writes get 1254290."""
        self.rate_limited = 0
        self._write_times: dict[str, list[float]] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        """The most writes (to any tables) in flight at once."""
        """Write calls applied (a replayed ``client_token`` is not counted again)."""

    def seed(self, seed: int) -> None:
        self.random = random.Random(seed)

    # -- seeding --------------------------------------------------------------------------

    def add_base(self, app_token: str, name: str = "Base") -> BitableBase:
        with self.lock:
            base = self.bases.get(app_token)
            if base is None:
                base = self.bases[app_token] = BitableBase(app_token, name)
            return base

    def add_table(
        self,
        app_token: str,
        name: str,
        fields: Mapping[str, int] | None = None,
        *,
        table_id: str | None = None,
        options: Mapping[str, list[str]] | None = None,
    ) -> str:
        """A table with ``fields`` (``{name: type}``; the first is the primary field); its id."""
        with self.lock:
            base = self.add_base(app_token)
            table_id = table_id or _new_id("tbl")
            spec = dict(fields or {"Name": TEXT})
            made = []
            for index, (fname, ftype) in enumerate(spec.items()):
                prop: dict[str, Any] | None = None
                if ftype in (SINGLE, MULTI):
                    prop = {
                        "options": [
                            {"id": _new_id("opt"), "name": o, "color": 0}
                            for o in (options or {}).get(fname, [])
                        ]
                    }
                made.append(BitableField(_new_id("fld"), fname, int(ftype), index == 0, prop))
            base.tables[table_id] = BitableTable(table_id, name, made)
            return table_id

    def table(self, app_token: str, table_id: str) -> BitableTable:
        """The table, or FeishuError 1254040 / 1254041 like Feishu."""
        base = self.bases.get(app_token)
        if base is None:
            raise FeishuError(1254040, "BaseTokenNotFound", http_status=404)
        table = base.tables.get(table_id)
        if table is None:
            raise FeishuError(1254041, "TableIdNotFound", http_status=404)
        return table

    def records(self, app_token: str, table_id: str) -> list[dict[str, Any]]:
        """Every record of a table (``{"record_id", "fields", ...}``), in creation order."""
        with self.lock:
            return [dict(r) for r in self.table(app_token, table_id).records.values()]

    def admit_write(self, app_id: str, now: float) -> bool:
        """Count a write of ``app_id`` at ``now`` (seconds); False when it is over
        :attr:`writes_per_second` in the last second (not counted then)."""
        if self.writes_per_second is None:
            return True
        with self.lock:
            times = [t for t in self._write_times.get(app_id, []) if t > now - 1.0]
            if len(times) >= self.writes_per_second:
                self._write_times[app_id] = times
                self.rate_limited += 1
                return False
            times.append(now)
            self._write_times[app_id] = times
            return True

    def take_lost_answer(self) -> bool:
        """Whether the write just applied should be answered as if it timed out."""
        with self.lock:
            if self.lose_answers > 0:
                self.lose_answers -= 1
                return True
            return self.lose_rate > 0 and self.random.random() < self.lose_rate


def bitable_of(emulator: Any) -> BitableState:
    """The bitable state of an ``Emulator`` or ``EmulatorState``."""
    state = getattr(emulator, "state", emulator)
    found: BitableState = state.domain("bitable", BitableState)
    return found


# -- value checks (Feishu's conversion codes) -------------------------------------------------

_CONVERT = {
    TEXT: (1254060, "TextFieldConvFail"),
    NUMBER: (1254061, "NumberFieldConvFail"),
    SINGLE: (1254062, "SingleSelectFieldConvFail"),
    MULTI: (1254063, "MultiSelectFieldConvFail"),
    DATE: (1254064, "DatetimeFieldConvFail"),
    CHECKBOX: (1254065, "CheckboxFieldConvFail"),
    PERSON: (1254066, "UserFieldConvFail"),
    LINK: (1254067, "LinkFieldConvFail"),
    DUPLEX: (1254067, "LinkFieldConvFail"),
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_value(table: BitableTable, name: str, value: Any, open_ids: set[str] | None) -> Any:
    """``value`` as stored, or FeishuError with Feishu's code for the field type."""
    found = table.field(name)
    if found is None:
        raise FeishuError(1254045, f"FieldNameNotFound, ext={name}")
    kind = found.type
    if value is None:
        return None
    # fast paths for the common shapes (a bulk import checks every value of every record)
    plain = type(value)
    if plain is str and kind in (TEXT, PHONE):
        return value
    if (plain is int or (plain is float and math.isfinite(value))) and kind in (NUMBER, DATE):
        return value
    if plain is bool and kind == CHECKBOX:
        return value
    if kind in READ_ONLY:
        raise FeishuError(1254045, f"field {name} is read-only")
    ok = True
    if kind in (TEXT, PHONE):
        ok = isinstance(value, str)
    elif kind == NUMBER:
        ok = _is_number(value)
    elif kind == SINGLE:
        ok = isinstance(value, str)
    elif kind == MULTI:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif kind == DATE:
        ok = _is_number(value)
    elif kind == CHECKBOX:
        ok = isinstance(value, bool)
    elif kind == PERSON:
        ok = isinstance(value, list) and all(
            isinstance(v, Mapping) and isinstance(v.get("id"), str) for v in value
        )
        if ok and open_ids is not None:
            ok = all(v["id"] in open_ids for v in value)
        if ok:
            value = [{"id": v["id"]} for v in value]
    elif kind in (LINK, DUPLEX):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif kind == URL:
        ok = isinstance(value, Mapping) and isinstance(value.get("link"), str)
    elif kind == ATTACHMENT:
        ok = isinstance(value, list) and all(
            isinstance(v, Mapping) and isinstance(v.get("file_token"), str) for v in value
        )
    if not ok:
        code, msg = _CONVERT.get(kind, (1254001, "WrongRequestBody"))
        raise FeishuError(code, f"{msg}, field={name}")
    if kind in (SINGLE, MULTI):
        _add_options(found, [value] if isinstance(value, str) else value)
    return value


def _add_options(found: BitableField, names: list[str]) -> None:
    """Feishu adds an option that a write names and the field lacks."""
    prop = found.property = found.property or {"options": []}
    options = prop.setdefault("options", [])
    cached = found.option_names
    if (
        cached is not None
        and cached[0] is options
        and cached[1] == len(options)
        and all(name in cached[2] for name in names)
    ):
        return  # every option exists (the common case): no set rebuilt per value
    known = {o.get("name") for o in options}
    found.option_names = (options, len(options), known)
    for name in names:
        if name not in known:
            options.append({"id": _new_id("opt"), "name": name, "color": len(options) % 10})
            known.add(name)


# -- filters and sorting ----------------------------------------------------------------------

OPERATORS = frozenset(
    {
        "is", "isNot", "contains", "doesNotContain", "isEmpty", "isNotEmpty",
        "isGreater", "isGreaterEqual", "isLess", "isLessEqual",
    }
)  # fmt: skip


def _invalid_filter(detail: str) -> FeishuError:
    return FeishuError(1254018, f"InvalidFilter, {detail}")


def check_filter(table: BitableTable, spec: Any, *, top: bool = True) -> None:
    """FeishuError for a filter Feishu would refuse (shape, operator, unknown field)."""
    if not isinstance(spec, Mapping):
        raise _invalid_filter("filter must be an object")
    if spec.get("conjunction", "and") not in ("and", "or"):
        raise _invalid_filter("conjunction must be and/or")
    for cond in spec.get("conditions") or []:
        if not isinstance(cond, Mapping):
            raise _invalid_filter("conditions must be objects")
        if cond.get("operator") not in OPERATORS:
            raise _invalid_filter(f"unknown operator {cond.get('operator')!r}")
        if table.field(str(cond.get("field_name"))) is None:
            raise FeishuError(1254045, f"FieldNameNotFound, ext={cond.get('field_name')}")
        value = cond.get("value", [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _invalid_filter("value must be a list of strings")
    children = spec.get("children") or []
    if children and not top:
        raise _invalid_filter("children nest one level")
    for child in children:
        check_filter(table, child, top=False)


def matches(table: BitableTable, fields: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    """Whether a record's stored ``fields`` satisfy the filter ``spec``."""
    results = [_condition(table, fields, c) for c in spec.get("conditions") or []]
    results += [matches(table, fields, child) for child in spec.get("children") or []]
    if not results:
        return True
    return all(results) if spec.get("conjunction", "and") == "and" else any(results)


def _texts(value: Any) -> list[str]:
    """A stored value as comparable strings (ids for people, names for options)."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            if isinstance(item, Mapping):
                out.append(str(item.get("id") or item.get("file_token") or item.get("text", "")))
            else:
                out.append(str(item))
        return out
    if isinstance(value, Mapping):
        return [str(value.get("link") or value.get("text") or "")]
    return [_num_text(value) if _is_number(value) else str(value)]


def _num_text(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _date_bounds(values: list[str]) -> tuple[float, float] | None:
    """``["ExactDate", ms]`` (or a bare ms) as the UTC day holding it."""
    raw = values[1] if len(values) >= 2 and values[0] == "ExactDate" else (values or [""])[0]
    try:
        ms = float(raw)
    except ValueError:
        return None
    start = ms - (ms % DAY_MS)
    return start, start + DAY_MS


def _condition(table: BitableTable, fields: Mapping[str, Any], cond: Mapping[str, Any]) -> bool:
    name = str(cond.get("field_name"))
    op = str(cond.get("operator"))
    want: list[str] = list(cond.get("value") or [])
    found = table.field(name)
    kind = found.type if found else TEXT
    value: Any = fields.get(name)
    have = _texts(value)
    if op == "isEmpty":
        return not have
    if op == "isNotEmpty":
        return bool(have)
    if op in ("isNot", "doesNotContain"):
        positive = {"isNot": "is", "doesNotContain": "contains"}[op]
        return not _condition(table, fields, {**cond, "operator": positive})
    if kind in (DATE, 1001, 1002):
        bounds = _date_bounds(want)
        if bounds is None or not _is_number(value):
            return False
        start, end = bounds
        return bool(
            {
                "is": start <= value < end,
                "isGreater": value >= end,
                "isGreaterEqual": value >= start,
                "isLess": value < start,
                "isLessEqual": value < end,
                "contains": start <= value < end,
            }.get(op, False)
        )
    if op in ("isGreater", "isGreaterEqual", "isLess", "isLessEqual"):
        try:
            target = float(want[0])
        except (IndexError, ValueError):
            return False
        if not _is_number(value):
            return False
        return bool(
            {
                "isGreater": value > target,
                "isGreaterEqual": value >= target,
                "isLess": value < target,
                "isLessEqual": value <= target,
            }[op]
        )
    if op == "is":
        if kind == NUMBER and _is_number(value):
            try:
                return float(value) == float(want[0])
            except (IndexError, ValueError):
                return False
        if kind in (MULTI, PERSON, LINK, DUPLEX):
            return sorted(have) == sorted(want)
        return bool(have) and have[0] == (want[0] if want else "")
    if op == "contains":
        if kind in (TEXT, PHONE, URL):
            text = "".join(have).lower()
            return any(w.lower() in text for w in want)
        return any(w in have for w in want)
    return False


def sort_key(value: Any) -> tuple[int, Any]:
    """Empty values last; numbers by value, everything else by its text."""
    texts = _texts(value)
    if not texts:
        return (2, "")
    if _is_number(value):
        return (0, float(value))
    return (1, ";".join(texts))

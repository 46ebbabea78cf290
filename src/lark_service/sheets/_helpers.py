"""Pure helpers of ``client.sheets``: limits, argument checks and answer shaping, written once
here and imported by ``_async_client.py`` (so the generated sync twin does not repeat them)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from .. import errors
from .._http import ApiResponse
from .models import FilterCondition, FilterView, FilterViewCondition, FloatImage, Sheet, WriteResult
from .ranges import MAX_BORDER_CELLS, MAX_WRITE_COLUMNS, MAX_WRITE_ROWS, SheetRange, column_number
from .style import has_border

MAX_DIMENSION_CHANGE = 5000
"""Rows or columns one add/insert/delete call may change (unverified, 3P)."""
MAX_READ_ROWS = 5000
"""Rows one read call asks for; longer reads are cut into bands (our choice, mirroring the
write limit: Feishu documents no row limit for reads, only that an answer may not exceed
10 MB, code 90221 — unverified; a band answered 90221 is halved until it fits)."""
_TOO_LARGE_RESPONSE = 90221
_TOO_LARGE_REQUEST = 90227
MIN_FLOAT_IMAGE_SIZE = 20
"""The least width and height of a float image, in pixels (unverified)."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``: rows written so far of all, after each call."""

ValueRender = Literal["ToString", "FormattedValue", "Formula", "UnformattedValue"]
_RENDERS = ("ToString", "FormattedValue", "Formula", "UnformattedValue")
_MERGE_TYPES = {"all": "MERGE_ALL", "rows": "MERGE_ROWS", "columns": "MERGE_COLUMNS"}


def _sheet(response: ApiResponse, properties: dict[str, Any]) -> Sheet:
    """A v2 ``properties`` object (camelCase) as a :class:`Sheet`."""
    data: dict[str, Any] = {
        "sheet_id": properties.get("sheetId", ""),
        "title": properties.get("title"),
        "index": properties.get("index"),
        "hidden": properties.get("hidden"),
    }
    frozen = {
        k: properties[v]
        for k, v in (
            ("frozen_row_count", "frozenRowCount"),
            ("frozen_column_count", "frozenColCount"),
        )
        if v in properties
    }
    if frozen:
        data["grid_properties"] = frozen
    return Sheet.from_response(response, data)


def _read_params(render: str | None, dates: str) -> dict[str, str]:
    params: dict[str, str] = {}
    if render is not None:
        if render not in _RENDERS:
            raise errors.ValidationError(
                f"render must be one of {', '.join(_RENDERS)}, not {render!r}", field="render"
            )
        params["valueRenderOption"] = render
    if dates == "formatted":
        params["dateTimeRenderOption"] = "FormattedString"
    elif dates != "serial":
        raise errors.ValidationError(
            f"dates must be 'serial' or 'formatted', not {dates!r}", field="dates"
        )
    return params


def _add(total: WriteResult, answer: Mapping[str, Any], *, count_call: bool = True) -> None:
    for name, key in (
        ("updated_rows", "updatedRows"),
        ("updated_columns", "updatedColumns"),
        ("updated_cells", "updatedCells"),
    ):
        value = answer.get(key)
        if isinstance(value, int):
            if name == "updated_columns":
                total.updated_columns = max(total.updated_columns, value)
            else:
                setattr(total, name, getattr(total, name) + value)
    if isinstance(answer.get("revision"), int):
        total.revision = answer["revision"]
    if count_call:
        total.calls += 1


def _style_pieces(target: SheetRange, style: Mapping[str, Any]) -> list[SheetRange]:
    columns = target.columns or 1
    max_rows = MAX_WRITE_ROWS
    if has_border(style):
        max_rows = min(max_rows, max(1, MAX_BORDER_CELLS // min(columns, MAX_WRITE_COLUMNS)))
    return target.split(max_rows, MAX_WRITE_COLUMNS)


def _index(value: int | str, name: str, *, start: int = 1) -> int:
    if isinstance(value, str):
        return column_number(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < start:
        raise errors.ValidationError(
            f"{name} must be a whole number from {start}, not {value!r}", field=name
        )
    return value


def _count(count: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise errors.ValidationError(f"count must be 1 or more, not {count!r}", field="count")


def _span(span: Any, major: str) -> tuple[int, int]:
    name = "rows" if major == "ROWS" else "columns"
    first, last = span if isinstance(span, tuple) else (span, span)
    if major == "ROWS" and (isinstance(first, str) or isinstance(last, str)):
        raise errors.ValidationError("rows are numbers (1-based)", field=name)
    low, high = _index(first, name), _index(last, name)
    if low > high:
        raise errors.ValidationError(f"{name} {first}..{last} is backwards", field=name)
    return low, high


def _title(title: object) -> str:
    if not isinstance(title, str) or not title.strip():
        raise errors.ValidationError("a sheet title must be a non-empty string", field="title")
    if len(title) > 100:
        raise errors.ValidationError(
            "a sheet title is at most 100 characters (unverified limit)", field="title"
        )
    return title


_FILTER_TYPES: dict[str, tuple[str, ...]] = {
    "hiddenValue": (),
    "number": (
        "less",
        "lessEqual",
        "notEqual",
        "equal",
        "greater",
        "greaterEqual",
        "between",
        "notBetween",
    ),
    "text": ("beginsWith", "notBeginsWith", "endsWith", "notEndsWith", "contains", "notContains"),
    "color": ("backColor", "foreColor"),
}
"""Filter types and their compare types (from Feishu's filter pages; unverified)."""


def _condition(condition: FilterCondition | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(condition, FilterCondition):
        data: Mapping[str, Any] = condition.model_dump(exclude_none=True)
    elif isinstance(condition, Mapping):
        data = condition
    else:
        raise errors.ValidationError(
            "condition must be a FilterCondition or its dict", field="condition"
        )
    kind = data.get("filter_type")
    if kind not in _FILTER_TYPES:
        raise errors.ValidationError(
            f"filter_type must be one of {', '.join(_FILTER_TYPES)}, not {kind!r}",
            field="condition",
        )
    compare = data.get("compare_type")
    allowed = _FILTER_TYPES[kind]
    if (allowed and compare not in allowed) or (not allowed and compare is not None):
        raise errors.ValidationError(
            f"compare_type of {kind} must be one of {', '.join(allowed)}, not {compare!r}"
            if allowed
            else f"{kind} takes no compare_type",
            field="condition",
        )
    raw = data.get("expected")
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence) or not raw:
        raise errors.ValidationError(
            "expected must be a non-empty list of values", field="condition"
        )
    expected = [str(v) if not isinstance(v, bool) else str(v).upper() for v in raw]
    if compare in ("between", "notBetween") and len(expected) != 2:
        raise errors.ValidationError(f"{compare} takes two expected values", field="condition")
    if kind == "number" and any(_not_number(v) for v in expected):
        raise errors.ValidationError("number filters compare with numbers", field="condition")
    out: dict[str, Any] = {"filter_type": kind, "expected": expected}
    if compare is not None:
        out["compare_type"] = compare
    return out


def _not_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return True
    return False


def _filter_col(col: object, target: SheetRange | None = None) -> str:
    if not isinstance(col, str) or not re.fullmatch(r"[A-Za-z]{1,3}", col):
        raise errors.ValidationError(
            f"col must be a column letter such as 'E', not {col!r}", field="col"
        )
    letter = col.upper()
    if (
        target is not None
        and target.start_column is not None
        and target.end_column is not None
        and not target.start_column <= column_number(letter) <= target.end_column
    ):
        raise errors.ValidationError(
            f"column {letter} is outside the range {target.text}", field="col"
        )
    return letter


def _view_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise errors.ValidationError(
            "a filter view name is 1 to 100 characters (unverified limit)", field="name"
        )
    return name


def _object_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9]{10}", value):
        raise errors.ValidationError(
            f"{field} must be 10 letters or digits, not {value!r}", field=field
        )
    return value


def _image_geometry(
    width: float | None, height: float | None, offset_x: float | None, offset_y: float | None
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, value, low in (
        ("width", width, MIN_FLOAT_IMAGE_SIZE),
        ("height", height, MIN_FLOAT_IMAGE_SIZE),
        ("offset_x", offset_x, 0),
        ("offset_y", offset_y, 0),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
            raise errors.ValidationError(
                f"{name} must be a number of pixels, {low} or more, not {value!r}", field=name
            )
        body[name] = float(value)
    return body


_Object = TypeVar("_Object", FilterView, FilterViewCondition, FloatImage)
_OBJECT_KEYS: dict[type[Any], str] = {
    FilterView: "filter_view",
    FilterViewCondition: "condition",
    FloatImage: "float_image",
}
"""The ``data`` key a v3 answer carries each kind of sheet object under."""
_OBJECT_KINDS: dict[type[Any], str] = {FilterView: "filter_views", FloatImage: "float_images"}
"""The path segment of each kind of sheet object a sheet holds a list of (its id field is
the singular plus ``_id``: ``filter_view_id``, ``float_image_id``)."""

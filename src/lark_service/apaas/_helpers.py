"""Pure helpers of ``client.apaas``: page sizes, name/column/record checks and the JSON-string
fields both ways, written once here and imported by ``_async_client.py`` (so the generated
sync twin does not repeat them)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .. import errors

_MAX_PAGE = 500
_TASK_PAGE = 100


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.ValidationError(f"{field} must be a non-empty string", field=field)
    return value.strip()


def _dumps(value: Any, field: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise errors.ValidationError(
            f"{field} is not JSON-serialisable: {exc}", field=field
        ) from None


def _loads(value: Any) -> Any:
    """A JSON-string field decoded (a value that is not a string, or not JSON, is kept)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _columns(value: Iterable[str] | str | None, field: str) -> str | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [_name(v, field) for v in items]
    if not names:
        raise errors.ValidationError(f"{field} must name at least one column", field=field)
    return ",".join(names)


def _records(records: Any) -> list[dict[str, Any]]:
    if isinstance(records, Mapping):
        records = [records]
    if not isinstance(records, Sequence) or isinstance(records, (str, bytes)):
        raise errors.ValidationError("records must be a list of dicts", field="records")
    result = [dict(r) for r in records if isinstance(r, Mapping)]
    if len(result) != len(records) or not result:
        raise errors.ValidationError("records must be a non-empty list of dicts", field="records")
    return result

"""Pure helpers of ``client.bitable``: limits, record shapes, argument checks and answer
shaping, written once here and imported by ``_async_client.py`` (so the generated sync twin
does not repeat them)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import errors
from .._http import ApiResponse
from .models import BatchItem, Record, TableSchema
from .tabular import from_records, is_dataframe

BATCH_SIZE = 500
"""Records per batch call (Feishu: 1254104 above it)."""
PAGE_SIZE = 500
"""The largest ``page_size`` of ``records/search`` (unverified: the reference marks it ?)."""
_LIST_PAGE = 100
_MAX_SORT = 1000
_MAX_UPLOAD = 20 * 1024 * 1024
_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})

RecordProgress = Callable[[list[BatchItem], int, int], None]
"""``progress(chunk_items, done, total)``: called after each chunk of a batch write."""

SchemaArg = TableSchema | bool | None

# -- pure helpers -----------------------------------------------------------------------------


def _chunk_items(
    action: str,
    chunk: list[tuple[int, Any]],
    answer: ApiResponse | errors.LarkError,
    types: Mapping[str, int] | None,
) -> list[BatchItem]:
    """Per-record results of one written chunk (every record carries a failed call's error)."""
    if isinstance(answer, errors.LarkError):
        return [BatchItem(index, error=answer) for index, _ in chunk]
    response = answer
    answered = response.data.get("records") or []
    out: list[BatchItem] = []
    for position, (index, wire) in enumerate(chunk):
        raw = answered[position] if position < len(answered) else None
        if action == "batch_delete":
            record_id = wire
            if isinstance(raw, Mapping) and raw.get("deleted") is False:
                out.append(
                    BatchItem(
                        index,
                        record_id=record_id,
                        error=errors.NotFoundError(
                            f"record {record_id} was not deleted",
                            request_id=response.request_id,
                            log_id=response.log_id,
                        ),
                    )
                )
            else:
                out.append(BatchItem(index, record_id=record_id))
            continue
        if not isinstance(raw, Mapping):
            out.append(
                BatchItem(
                    index,
                    error=errors.ServerError(
                        f"Feishu answered {len(answered)} records for {len(chunk)} written",
                        request_id=response.request_id,
                        log_id=response.log_id,
                    ),
                )
            )
            continue
        record = _record(response, raw, types)
        out.append(BatchItem(index, record_id=record.record_id, record=record))
    return out


def _token() -> str:
    return str(uuid.uuid4())


def _record(
    response: ApiResponse, raw: Mapping[str, Any], types: Mapping[str, int] | None
) -> Record:
    return Record.parse(raw, types, request_id=response.request_id, log_id=response.log_id)


def _read_file(file: Path) -> bytes:
    size = file.stat().st_size
    if size == 0:
        raise errors.ValidationError(f"{file} is empty", field="file")
    if size > _MAX_UPLOAD:
        raise errors.ValidationError(
            f"{file} is {size} bytes; attachments are uploaded whole up to 20 MB",
            field="file",
        )
    return file.read_bytes()


_NO_FILES = frozenset({str, int, float, bool, type(None)})


def _local_files(value: Any, attachment_field: bool) -> list[Path] | None:
    """The local files in a value to upload (Paths anywhere; path strings in an attachment
    field), or None when there are none."""
    if not attachment_field and type(value) in _NO_FILES:
        return None  # the common case, fast: a scalar outside an attachment field
    values = value if isinstance(value, (list, tuple)) else [value]
    if not any(isinstance(v, Path) for v in values) and not attachment_field:
        return None
    files: list[Path] = []
    for v in values:
        if isinstance(v, Path):
            files.append(v)
        elif attachment_field and isinstance(v, str):
            for part in (p.strip() for p in v.split(";")):
                if part:
                    files.append(Path(part))
        else:
            return None  # already uploaded (Attachment / file_token dicts): encode as is
    for file in files:
        if not file.is_file():
            raise errors.ValidationError(f"attachment {file} is not a file", field="fields")
    return files or None


def _rows(records: Any) -> list[Any]:
    if is_dataframe(records):
        return from_records(records)
    if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Iterable):
        raise errors.ValidationError(
            f"records must be a list (one entry per record), not a single {type(records).__name__}",
            field="records",
        )
    return list(records)


def _is_feishu_shape(row: Mapping[str, Any]) -> bool:
    return isinstance(row.get("fields"), Mapping) and set(row) <= {"fields", "record_id"}


def _create_fields(row: Any) -> Mapping[str, Any] | errors.ValidationError:
    if isinstance(row, Record):
        return row.fields
    if not isinstance(row, Mapping):
        return errors.ValidationError(
            f"a record must be a dict of field values, not {type(row).__name__}", field="records"
        )
    if _is_feishu_shape(row):
        fields: Mapping[str, Any] = row["fields"]
        return fields
    return {k: v for k, v in row.items() if v is not None}


def _update_fields(item: Any) -> tuple[str, Mapping[str, Any]] | errors.ValidationError:
    if isinstance(item, Record):
        return item.record_id, item.fields
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping):
        record_id, fields = item
    elif isinstance(item, Mapping) and isinstance(item.get("fields"), Mapping):
        record_id, fields = item.get("record_id"), item["fields"]
    else:
        return errors.ValidationError(
            "an update must be {'record_id': ..., 'fields': {...}}, (record_id, fields) or a "
            f"Record, not {type(item).__name__}",
            field="records",
        )
    try:
        return _text_id(record_id, "record_id"), fields
    except errors.ValidationError as exc:
        return exc


def _delete_id(item: Any) -> str | errors.ValidationError:
    if isinstance(item, Record):
        item = item.record_id
    elif isinstance(item, Mapping):
        item = item.get("record_id")
    try:
        return _text_id(item, "record_id")
    except errors.ValidationError as exc:
        return exc


def _text_id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.ValidationError(
            f"{field} must be a non-empty string, not {value!r}", field=field
        )
    return value


def _names(names: Sequence[str], schema: TableSchema | None) -> list[str]:
    if isinstance(names, str):
        raise errors.ValidationError(
            "field_names must be a list of field names, not a single str", field="field_names"
        )
    out = [_text_id(n, "field_names") for n in names]
    if schema is not None:
        unknown = [n for n in out if n not in schema]
        if unknown:
            raise errors.ValidationError(
                f"the table has no field {', '.join(map(repr, unknown))}", field="field_names"
            )
    return out


def _sort(sort: Any, schema: TableSchema | None) -> list[dict[str, Any]]:
    if sort is None:
        return []
    items = [sort] if isinstance(sort, (str, Mapping)) else list(sort)
    out: list[dict[str, Any]] = []
    for item in items:
        name: Any
        if isinstance(item, str):
            desc = item.startswith("-")
            name = item[1:] if desc else item
        elif isinstance(item, Mapping):
            name, desc = item.get("field_name"), bool(item.get("desc", False))
        elif isinstance(item, tuple) and len(item) == 2:
            name, desc = item[0], bool(item[1])
        else:
            raise errors.ValidationError(
                f"sort entries are 'Field', '-Field' or {{'field_name', 'desc'}}, not {item!r}",
                field="sort",
            )
        name = _text_id(name, "sort")
        if schema is not None and name not in schema:
            raise errors.ValidationError(f"sort: the table has no field {name!r}", field="sort")
        out.append({"field_name": name, "desc": desc})
    if len(str(out)) > _MAX_SORT:
        raise errors.ValidationError(
            f"the sort is over {_MAX_SORT} characters (1254108)", field="sort"
        )
    return out

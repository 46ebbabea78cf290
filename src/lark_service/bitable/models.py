"""Bitable results: tables, the typed field schema, records, and per-record batch results."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import Field as PydanticField
from pydantic import field_validator

from ..errors import LarkError
from ..models import ItemResults, LarkModel, ms_to_datetime
from .fields import FieldType, decode_fields

__all__ = [
    "BatchItem",
    "BatchResult",
    "Record",
    "Table",
    "TableField",
    "TableSchema",
]


class Table(LarkModel):
    """A table of a base: ``table_id``, ``name``, ``revision``."""

    table_id: str
    name: str | None = None
    revision: int | None = None


class TableField(LarkModel):
    """One field of a table's schema: its name, type number and properties (options…)."""

    field_id: str | None = None
    field_name: str
    type: int
    ui_type: str | None = None
    is_primary: bool | None = None
    is_hidden: bool | None = None
    description: Any = None
    properties: dict[str, Any] | None = PydanticField(default=None, alias="property")
    """Feishu's ``property`` (options, formatter, the linked table…)."""

    @property
    def field_type(self) -> FieldType | None:
        """The type as :class:`FieldType` (None for a type this library does not know)."""
        try:
            return FieldType(self.type)
        except ValueError:
            return None

    @property
    def type_name(self) -> str:
        """``number``, ``single_select``… (``type 99`` for an unknown type)."""
        kind = self.field_type
        return kind.name.lower() if kind is not None else f"type {self.type}"

    @property
    def options(self) -> list[str]:
        """The option names of a single or multi select."""
        raw = (self.properties or {}).get("options") or []
        return [str(o.get("name")) for o in raw if isinstance(o, Mapping) and o.get("name")]


@dataclass(frozen=True)
class TableSchema:
    """A table's fields by name (``list_fields``): what the filter builder and the value
    typing check against."""

    fields: tuple[TableField, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.field_name: f for f in self.fields})

    @classmethod
    def of(cls, fields: Mapping[str, int | FieldType]) -> TableSchema:
        """A schema from ``{name: type}`` (tests, or a table you know)."""
        return cls(tuple(TableField(field_name=n, type=int(t)) for n, t in fields.items()))

    def get(self, name: str) -> TableField | None:
        found: TableField | None = self._by_name.get(name)  # type: ignore[attr-defined]
        return found

    def __getitem__(self, name: str) -> TableField:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[TableField]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def names(self) -> list[str]:
        """Field names in table order."""
        return [f.field_name for f in self.fields]

    @property
    def types(self) -> dict[str, int]:
        """``{name: type number}``."""
        return {f.field_name: f.type for f in self.fields}

    @property
    def primary(self) -> TableField | None:
        """The primary (first) field."""
        return next(
            (f for f in self.fields if f.is_primary), self.fields[0] if self.fields else None
        )


_PLAIN_KEYS = frozenset({"record_id", "fields", "id"})


class Record(LarkModel):
    """A record: ``record_id`` and its ``fields`` exactly as Feishu sent them; ``values``
    are the same fields typed (:mod:`~lark_service.bitable.fields`: text as ``str``, people
    as ``User``, dates as ``datetime`` when the schema is known)."""

    record_id: str
    fields: dict[str, Any] = PydanticField(default_factory=dict)
    values: dict[str, Any] = PydanticField(default_factory=dict)
    created_time: datetime | None = None
    last_modified_time: datetime | None = None
    created_by: dict[str, Any] | None = None
    last_modified_by: dict[str, Any] | None = None
    shared_url: str | None = None
    record_url: str | None = None

    @field_validator("created_time", "last_modified_time", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        return ms_to_datetime(value)

    @classmethod
    def parse(
        cls, raw: Mapping[str, Any], types: Mapping[str, int] | None = None, **ids: Any
    ) -> Record:
        """A record from Feishu's object, its ``values`` decoded with ``types``."""
        fields = dict(raw.get("fields") or {})
        values = decode_fields(fields, types)
        if raw.keys() <= _PLAIN_KEYS and isinstance(raw.get("record_id"), str):
            # what a batch write answers (record_id, fields, id): nothing to validate, and
            # model_construct is several times cheaper than model_validate for 500 of them
            payload = {**raw, **ids, "fields": fields, "values": values}
            return cls.model_construct(set(payload), **payload)
        return cls.model_validate({**raw, **ids, "fields": fields, "values": values})

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        """The typed value of field ``name`` (``default`` when the record has none)."""
        return self.values.get(name, default)


@dataclass(frozen=True)
class BatchItem:
    """One record of a batch write: its position in the input, and either the written
    ``record`` (``record_id``) or the ``error`` of its chunk."""

    index: int
    record_id: str | None = None
    record: Record | None = None
    error: LarkError | None = None

    @property
    def ok(self) -> bool:
        """Whether the record was written (created, updated or deleted)."""
        return self.error is None


@dataclass(frozen=True)
class BatchResult(ItemResults[BatchItem]):
    """Per-record results of a batch write, in input order (like ``send_batch``'s).

    A chunk of up to 500 records succeeds or fails as one call: every record of a failed
    chunk carries that chunk's error. ``calls`` is the number of write calls made.
    """

    items: list[BatchItem] = field(default_factory=list)
    calls: int = 0

    def __getitem__(self, index: int) -> BatchItem:
        return self.items[index]

    @property
    def record_ids(self) -> list[str | None]:
        """The record id of each input record, in order (None where it failed)."""
        return [item.record_id if item.ok else None for item in self.items]

    def raise_for_errors(self) -> None:
        """Raise the first failed chunk's error, if any."""
        for item in self.items:
            if item.error is not None:
                raise item.error

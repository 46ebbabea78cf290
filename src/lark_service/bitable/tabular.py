"""Records as rows: plain dicts, CSV files and pandas DataFrames, in and out (pure code).

- :func:`from_records` — plain dicts (or a DataFrame) → the field dicts a batch write takes
  (``None`` / NaN cells dropped, so an empty cell leaves the field empty).
- :func:`to_records` — :class:`~.models.Record` objects → plain dicts of typed values
  (``record_id`` first unless ``with_id=False``).
- :func:`read_csv` / :func:`write_csv` — a CSV file (UTF-8, a BOM is accepted) ↔ rows of text;
  the client's ``import_csv`` types each cell by the table's field schema.
- :func:`to_dataframe` / :func:`from_dataframe` — pandas (``pip install
  'lark-service[pandas]'``); ValidationError naming the extra when pandas is missing.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from .fields import to_text
from .models import Record

__all__ = [
    "CsvWriter",
    "from_dataframe",
    "from_records",
    "is_dataframe",
    "iter_csv",
    "read_csv",
    "to_dataframe",
    "to_records",
    "write_csv",
]


def is_dataframe(value: object) -> bool:
    """Whether ``value`` is a pandas DataFrame (without importing pandas)."""
    kind = type(value)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("pandas")


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in ("NaTType", "NAType")


def from_records(rows: Iterable[Mapping[str, Any]] | Any) -> list[dict[str, Any]]:
    """Field dicts for a batch write from plain dicts or a DataFrame (empty cells dropped)."""
    if is_dataframe(rows):
        return from_dataframe(rows)
    if isinstance(rows, (str, bytes, Mapping)):
        raise ValidationError(
            f"records must be a list of dicts (one per record), not a single {type(rows).__name__}",
            field="records",
        )
    out: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise ValidationError(
                f"record {index} is a {type(row).__name__}, not a dict of field values",
                field="records",
            )
        out.append({str(k): v for k, v in row.items() if not _empty(v)})
    return out


def to_records(records: Iterable[Record], *, with_id: bool = True) -> list[dict[str, Any]]:
    """Plain dicts of typed values (``record_id`` first when ``with_id``)."""
    out: list[dict[str, Any]] = []
    for record in records:
        row: dict[str, Any] = {"record_id": record.record_id} if with_id else {}
        row.update(record.values)
        out.append(row)
    return out


def iter_csv(path: str | os.PathLike[str]) -> Iterator[dict[str, str]]:
    """Rows of a CSV file with a header line, as ``{column: text}`` (empty cells omitted)."""
    file = Path(path)
    if not file.is_file():
        raise ValidationError(f"{file} is not a file", field="file")
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise ValidationError(f"{file} has no header line", field="file")
        names = [n for n in reader.fieldnames if n is not None]
        if len(set(names)) != len(names):
            raise ValidationError(f"{file}: the header repeats a column name", field="file")
        for row in reader:
            extra = row.get(None)
            if extra:
                raise ValidationError(
                    f"{file} line {reader.line_num}: more cells than header columns",
                    field="file",
                )
            yield {k: v for k, v in row.items() if k is not None and v not in (None, "")}


def read_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Every row of :func:`iter_csv`."""
    return list(iter_csv(path))


def write_csv(
    rows: Iterable[Mapping[str, Any]],
    path: str | os.PathLike[str],
    columns: Sequence[str] | None = None,
) -> int:
    """Write rows (typed values made text with :func:`~.fields.to_text`) as CSV; the number
    of rows written. ``columns`` default: every key, in first-seen order (rows are then held
    in memory; pass ``columns`` to stream)."""
    target = Path(path)
    if columns is None:
        rows = list(rows)
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row))
        columns = list(seen)
    count = 0
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([to_text(row.get(c)) for c in columns])
            count += 1
    return count


class CsvWriter:
    """A CSV file written a batch of rows at a time (``export_csv`` writes page by page,
    holding one page in memory)."""

    def __init__(self, path: str | os.PathLike[str], columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.count = 0
        self._handle = Path(path).open("w", newline="", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self._writer = csv.writer(self._handle)
        self._writer.writerow(self.columns)

    def write_rows(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Write rows (typed values as text); the total written so far."""
        for row in rows:
            self._writer.writerow([to_text(row.get(c)) for c in self.columns])
            self.count += 1
        return self.count

    def close(self) -> None:
        self._handle.close()


def _pandas() -> Any:
    import importlib

    try:
        pandas = importlib.import_module("pandas")
    except ImportError:
        raise ValidationError(
            "pandas is not installed: pip install 'lark-service[pandas]'", field="pandas"
        ) from None
    return pandas


def to_dataframe(records: Iterable[Record], *, with_id: bool = True) -> Any:
    """A pandas DataFrame of the records' typed values (one row per record)."""
    pandas = _pandas()
    return pandas.DataFrame(to_records(records, with_id=with_id))


def from_dataframe(frame: Any) -> list[dict[str, Any]]:
    """Field dicts from a DataFrame's rows (NaN / None / NaT cells dropped; pandas
    Timestamps become ``datetime``, numpy numbers Python numbers)."""
    _pandas()
    out: list[dict[str, Any]] = []
    for row in frame.to_dict(orient="records"):
        fields: dict[str, Any] = {}
        for key, value in row.items():
            if _empty(value):
                continue
            if hasattr(value, "to_pydatetime"):
                value = value.to_pydatetime()
            elif hasattr(value, "item") and not isinstance(value, (list, tuple, dict, str)):
                value = value.item()
            fields[str(key)] = value
        out.append(fields)
    return out

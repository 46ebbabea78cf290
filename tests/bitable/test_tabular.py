"""CSV import/export, plain dicts and pandas DataFrames in and out, attachments uploaded."""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from lark_service import errors
from lark_service.bitable import (
    Attachment,
    User,
    from_dataframe,
    from_records,
    to_dataframe,
    to_records,
)
from lark_service.testing import Emulator
from lark_service.testing.emulator.bitable_state import BitableState

from .conftest import APP_ID, BASE, writes


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_import_csv_types_cells_by_schema(
    lark: Any, emu: Emulator, base: BitableState, table: str, tmp_path: Path
) -> None:
    alice = emu.open_id("alice", APP_ID)
    file = _csv(
        tmp_path / "in.csv",
        [
            ["Name", "Score", "Status", "Tags", "Due", "Done", "Owner", "Site"],
            ["a", "1,200", "Open", "x;y", "2024-05-01", "yes", alice, "https://a.test"],
            ["b", "7.5", "Closed", "", "2024-05-02T10:00:00+00:00", "", "", ""],
            ["c", "lots", "Open", "", "", "", "", ""],
        ],
    )
    seen: list[tuple[int, int]] = []
    result = lark.bitable.import_csv(
        BASE, table, file, progress=lambda items, done, total: seen.append((done, total))
    )
    assert [i.ok for i in result] == [True, True, False]
    assert isinstance(result.failed[0].error, errors.ValidationError)
    assert "Score" in str(result.failed[0].error)
    assert seen[-1] == (3, 3)
    stored = {r["fields"]["Name"]: r["fields"] for r in base.records(BASE, table)}
    assert stored["a"] == {
        "Name": "a",
        "Score": 1200,
        "Status": "Open",
        "Tags": ["x", "y"],
        "Due": 1714521600000,
        "Done": True,
        "Owner": [{"id": alice}],
        "Site": {"link": "https://a.test", "text": "https://a.test"},
    }
    assert stored["b"]["Score"] == 7.5 and "Done" not in stored["b"]  # empty cell: no value


def test_import_csv_refuses_unknown_columns(client: Any, table: str, tmp_path: Path) -> None:
    file = _csv(tmp_path / "bad.csv", [["Name", "Colour"], ["a", "red"]])
    with pytest.raises(errors.ValidationError, match="Colour"):
        client.bitable.import_csv(BASE, table, file)
    with pytest.raises(errors.ValidationError, match="not a file"):
        client.bitable.import_csv(BASE, table, tmp_path / "missing.csv")


def test_export_csv_streams_pages(
    client: Any, emu: Emulator, base: BitableState, table: str, tmp_path: Path
) -> None:
    client.bitable.batch_create_records(
        BASE,
        table,
        [
            {
                "Name": f"n{i}",
                "Score": i,
                "Tags": ["p", "q"],
                "Due": datetime(2024, 1, 1, tzinfo=timezone.utc),
            }
            for i in range(1100)
        ],
    )
    before = len(emu.requests())
    out = tmp_path / "out.csv"
    counts: list[int] = []
    from lark_service.bitable import F

    written = client.bitable.export_csv(
        BASE, table, out, filter=F("Score") >= 100, sort="Score", progress=counts.append
    )
    assert written == 1000 and counts == [500, 1000]
    searches = [r for r in emu.requests()[before:] if r.path.endswith("/search")]
    assert len(searches) == 2
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["Name"] == "n100" and rows[0]["Score"] == "100"
    assert rows[0]["Tags"] == "p;q" and rows[0]["Due"] == "2024-01-01T00:00:00+00:00"
    assert list(rows[0])[:3] == ["Name", "Score", "Status"]  # the table's field order


def test_attachments_uploaded_from_local_files(
    client: Any, emu: Emulator, base: BitableState, table: str, tmp_path: Path
) -> None:
    image = tmp_path / "shot.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    doc = tmp_path / "notes.txt"
    doc.write_text("hello")
    record = client.bitable.create_record(
        BASE, table, {"Name": "with files", "Files": [image, doc]}
    )
    tokens = [a["file_token"] for a in record.fields["Files"]]
    assert len(tokens) == 2 and all(tokens)
    uploads = [r for r in emu.requests() if r.path.endswith("/medias/upload_all")]
    assert len(uploads) == 2
    # the same path twice in one batch is uploaded once; a path string works for an
    # attachment field when the schema is known
    result = client.bitable.batch_create_records(
        BASE,
        table,
        [{"Name": "x", "Files": str(image)}, {"Name": "y", "Files": Attachment(tokens[0])}],
        schema=True,
    )
    assert result.ok
    assert len([r for r in emu.requests() if r.path.endswith("/medias/upload_all")]) == 3
    with pytest.raises(errors.ValidationError, match="not a file"):
        client.bitable.create_record(BASE, table, {"Files": tmp_path / "nope.png"})


def test_plain_dicts_in_and_out(client: Any, table: str) -> None:
    rows = from_records([{"Name": "a", "Score": None}, {"Name": "b", "Score": 2}])
    assert rows == [{"Name": "a"}, {"Name": "b", "Score": 2}]
    with pytest.raises(errors.ValidationError):
        from_records({"Name": "a"})  # type: ignore[arg-type]
    client.bitable.batch_create_records(BASE, table, rows)
    records = client.bitable.query_records(BASE, table, sort="Name").to_list()
    plain = to_records(records, with_id=False)
    assert plain == [{"Name": "a"}, {"Name": "b", "Score": 2}]
    assert to_records(records)[0]["record_id"] == records[0].record_id


def test_dataframes_in_and_out(client: Any, emu: Emulator, base: BitableState, table: str) -> None:
    pandas = pytest.importorskip("pandas")
    alice = emu.open_id("alice", APP_ID)
    frame = pandas.DataFrame(
        {
            "Name": ["a", "b"],
            "Score": [1.5, float("nan")],
            "Due": pandas.to_datetime(["2024-05-01", None], utc=True),
            "Owner": [User(alice), None],
        }
    )
    assert from_dataframe(frame)[1] == {"Name": "b"}
    result = client.bitable.batch_create_records(BASE, table, frame)
    assert result.ok
    stored = {r["fields"]["Name"]: r["fields"] for r in base.records(BASE, table)}
    assert stored["a"]["Due"] == 1714521600000 and stored["a"]["Score"] == 1.5
    schema = client.bitable.list_fields(BASE, table)
    out = to_dataframe(client.bitable.query_records(BASE, table, sort="Name", schema=schema))
    assert list(out["Name"]) == ["a", "b"]
    assert out.loc[0, "Due"] == datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert out.loc[0, "Owner"][0].id == alice


def test_write_calls_are_counted(client: Any, emu: Emulator, table: str) -> None:
    before = len(writes(emu))
    result = client.bitable.batch_create_records(
        BASE, table, [{"Name": str(i)} for i in range(1001)]
    )
    assert result.calls == 3 == len(writes(emu)) - before

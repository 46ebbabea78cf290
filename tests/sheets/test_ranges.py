"""Pure range helpers: A1 <-> row/col, range parsing, fitting, splitting, value checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pytest

from lark_service.errors import NotFoundError, ValidationError
from lark_service.sheets.ranges import (
    MAX_CELL_CHARS,
    SheetRange,
    cell_name,
    check_values,
    column_letter,
    column_number,
    from_serial,
    parse_cell,
    parse_range,
    resolve_sheet,
    to_serial,
)


@pytest.mark.parametrize(
    ("number", "letters"), [(1, "A"), (26, "Z"), (27, "AA"), (52, "AZ"), (703, "AAA")]
)
def test_columns_round_trip(number: int, letters: str) -> None:
    assert column_letter(number) == letters
    assert column_number(letters) == number
    assert column_number(letters.lower()) == number


def test_cells() -> None:
    assert cell_name(1, 1) == "A1"
    assert cell_name(10, 28) == "AB10"
    assert parse_cell("AB10") == (10, 28)
    assert parse_cell(" b3 ") == (3, 2)


@pytest.mark.parametrize("bad", ["", "A", "1", "A0", "ABCD1", "A-1", "1A"])
def test_bad_cells(bad: str) -> None:
    with pytest.raises(ValidationError):
        parse_cell(bad)


@pytest.mark.parametrize("bad", [0, -1, True, 1.0, 18_279])
def test_bad_column_numbers(bad: object) -> None:
    with pytest.raises(ValidationError):
        column_letter(bad)  # type: ignore[arg-type]


def test_parse_forms() -> None:
    assert parse_range("s1") == SheetRange("s1")
    one = parse_range("s1!B2")
    assert (one.start_row, one.start_column, one.single) == (2, 2, True)
    assert one.text == "s1!B2"
    box = parse_range("s1!A1:J10")
    assert (box.rows, box.columns, box.bounded) == (10, 10, True)
    assert box.text == "s1!A1:J10"
    cols = parse_range("s1!A:C")
    assert (cols.start_row, cols.end_row, cols.columns) == (None, None, 3)
    assert cols.text == "s1!A:C"
    tail = parse_range("s1!A2:C")
    assert (tail.start_row, tail.end_row, tail.text) == (2, None, "s1!A2:C")
    # a title with '!' splits at the last one
    assert parse_range("Q1 wow!A1:B2").sheet == "Q1 wow"
    assert parse_range("Big!Deal!A1").sheet == "Big!Deal"
    assert parse_range("A1:B2", sheet="s9").text == "s9!A1:B2"


@pytest.mark.parametrize(
    "bad",
    ["", "  ", "!A1:B2", "s1!", "s1!B2:A1", "s1!A3:B1", "s1!A1:B2:C3", "s1!A1:", "s\x00!A1", 3],
)
def test_bad_ranges(bad: object) -> None:
    with pytest.raises(ValidationError):
        parse_range(bad)  # type: ignore[arg-type]


def test_fit_and_mismatch() -> None:
    assert parse_range("s!B2").fit(3, 2).text == "s!B2:C4"
    assert parse_range("s").fit(2, 2).text == "s!A1:B2"
    assert parse_range("s!A:B").fit(5, 2).text == "s!A1:B5"
    assert parse_range("s!A1:B2").fit(2, 2).text == "s!A1:B2"
    with pytest.raises(ValidationError, match="2 rows × 2 columns but the values are 3 × 2"):
        parse_range("s!A1:B2").fit(3, 2)
    with pytest.raises(ValidationError, match="spans 3 columns"):
        parse_range("s!A:C").fit(3, 2)


def test_split_under_limits() -> None:
    pieces = parse_range("s!A1").fit(20_000, 10).split()
    assert [p.text for p in pieces] == [
        "s!A1:J5000",
        "s!A5001:J10000",
        "s!A10001:J15000",
        "s!A15001:J20000",
    ]
    wide = parse_range("s!A1").fit(2, 250).split()
    assert [p.columns for p in wide] == [100, 100, 50]
    assert wide[1].text == "s!CW1:GR2"


def test_check_values() -> None:
    rows = check_values([["a", 1, 2.5, True, None], ["b", 2, 3.0, False, {"type": "url"}]])
    assert rows[1][4] == {"type": "url"}
    assert check_values([[date(2024, 1, 1)]]) == [[45292]]
    with pytest.raises(ValidationError, match="ragged rows"):
        check_values([[1, 2], [3]])
    with pytest.raises(ValidationError, match="no rows"):
        check_values([])
    with pytest.raises(ValidationError, match="list of rows"):
        check_values("abc")
    with pytest.raises(ValidationError, match="row 2 must be a list"):
        check_values([[1], "x"])
    with pytest.raises(ValidationError, match="B2"):
        check_values([["a", "b"], ["c", "x" * (MAX_CELL_CHARS + 1)]])
    assert check_values([["x" * MAX_CELL_CHARS]])
    with pytest.raises(ValidationError, match="set"):
        check_values([[{1, 2}]])
    with pytest.raises(ValidationError):
        check_values([[float("nan")]])


def test_serial_dates() -> None:
    assert to_serial(date(1899, 12, 31)) == 1
    assert to_serial(datetime(2024, 1, 1, 12)) == 45292.5
    assert from_serial(45292.5) == datetime(2024, 1, 1, 12)
    assert from_serial(to_serial(datetime(2023, 5, 6, 7, 8, 9))) == datetime(2023, 5, 6, 7, 8, 9)
    with pytest.raises(ValidationError):
        from_serial("x")  # type: ignore[arg-type]


@dataclass
class _S:
    sheet_id: str
    title: str | None


def test_resolve_sheet() -> None:
    sheets = [_S("abc123", "Sales"), _S("def456", "sales 2"), _S("ghi789", "Ops")]
    assert resolve_sheet("abc123", sheets) == "abc123"
    assert resolve_sheet("Sales", sheets) == "abc123"
    assert resolve_sheet("ops", sheets) == "ghi789"
    with pytest.raises(NotFoundError, match="'Ops' \\(ghi789\\)"):
        resolve_sheet("Nope", sheets)
    twins = [_S("a", "X"), _S("b", "x")]
    with pytest.raises(NotFoundError):
        resolve_sheet("X ", twins)
    assert resolve_sheet("x", twins) == "b"

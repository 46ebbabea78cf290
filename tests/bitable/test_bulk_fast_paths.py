"""The fast paths a 10,000-record import takes (client and emulator) give the same results
as the general code they bypass."""

from __future__ import annotations

from typing import Any

import pytest

from lark_service import errors
from lark_service.bitable.fields import _decode_shape, decode_value, encode_value
from lark_service.bitable.models import Record
from lark_service.testing.emulator.bitable_state import BitableState, check_value

from .conftest import BASE


def test_record_parse_of_a_write_answer_equals_full_validation() -> None:
    raw = {"record_id": "rec1", "fields": {"Name": "a", "Tags": ["x", "y"]}, "id": "rec1"}
    fast = Record.parse(raw, None, request_id="req", log_id="log")
    full = Record.model_validate(
        {**raw, "request_id": "req", "log_id": "log", "fields": dict(raw["fields"]),
         "values": dict(raw["fields"])}
    )  # fmt: skip
    assert fast == full
    assert fast.model_fields_set == full.model_fields_set
    assert fast.model_extra == {"id": "rec1"}
    assert fast.model_dump() == full.model_dump()
    # anything else (times, creators, a non-str id) still goes through validation
    timed = Record.parse({**raw, "created_time": 1714521600000})
    assert timed.created_time is not None and timed.created_time.year == 2024
    with pytest.raises(Exception):  # noqa: B017 - pydantic's error: not a str record_id
        Record.parse({"record_id": 5, "fields": {}})


@pytest.mark.parametrize("value", [["a", "b"], [], ["only"]])
def test_decode_list_of_text_fast_path_matches_the_shape_decoder(value: list[str]) -> None:
    assert decode_value(value) == _decode_shape(value)


@pytest.mark.parametrize("value", [["a", "b"], [1, 2], [True, "x"], ("t", "u")])
def test_encode_list_of_plain_items_fast_path(value: Any) -> None:
    assert encode_value(value) == list(value)


def test_encode_list_still_checks_floats_and_paths() -> None:
    from pathlib import Path

    with pytest.raises(errors.ValidationError):
        encode_value([Path("/tmp/x.txt")])
    assert encode_value([1.5, 2]) == [1.5, 2]


def test_emulator_field_index_follows_new_fields(base: BitableState, table: str) -> None:
    tbl = base.table(BASE, table)
    assert tbl.field("Name") is not None and tbl.field("Nope") is None
    from lark_service.testing.emulator.bitable_state import BitableField

    tbl.fields.append(BitableField("fldNew", "Nope", 1))
    found = tbl.field("Nope")
    assert found is not None and found.field_id == "fldNew"


def test_emulator_options_cache_adds_new_options(base: BitableState, table: str) -> None:
    tbl = base.table(BASE, table)
    assert check_value(tbl, "Status", "Open", None) == "Open"  # known: cached
    assert check_value(tbl, "Status", "Blocked", None) == "Blocked"  # new: added
    status = tbl.field("Status")
    assert status is not None and status.property is not None
    names = [o["name"] for o in status.property["options"]]
    assert names == ["Open", "Closed", "Blocked"]
    status.property["options"] = [{"name": "Reset"}]  # replaced: the cache is not trusted
    check_value(tbl, "Status", "Open", None)
    assert [o["name"] for o in status.property["options"]] == ["Reset", "Open"]


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [("Score", True, 1254061), ("Score", float("nan"), 1254061), ("Name", 5, 1254060),
     ("Done", 1, 1254065), ("Due", "soon", 1254064)],
)  # fmt: skip
def test_emulator_fast_paths_still_refuse_wrong_types(
    base: BitableState, table: str, name: str, value: Any, code: int
) -> None:
    from lark_service.testing.emulator.api import FeishuError

    with pytest.raises(FeishuError) as caught:
        check_value(base.table(BASE, table), name, value, None)
    assert caught.value.code == code


def test_emulator_search_builds_only_the_page_it_answers(
    lark: Any, base: BitableState, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lark_service.testing.emulator import routes_bitable

    tbl = base.table(BASE, table)
    for n in range(1200):
        tbl.records[f"rec{n:06d}"] = {"record_id": f"rec{n:06d}", "fields": {"Name": f"n{n}"}}
    built: list[int] = []
    original = routes_bitable._record_wire

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(routes_bitable, "_record_wire", counting)
    records = list(lark.bitable.query_records(BASE, table))
    assert len(records) == 1200
    assert len(built) == 1200  # each record once (3 pages), not every match on every page

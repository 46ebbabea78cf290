"""The filter builder: F(...) comparisons, & / |, groups -> the search filter object."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from lark_service.bitable import F, FieldType, TableSchema, User
from lark_service.bitable.filter import Condition, filter_body
from lark_service.errors import ValidationError

SCHEMA = TableSchema.of(
    {
        "Status": FieldType.SINGLE_SELECT,
        "Score": FieldType.NUMBER,
        "Owner": FieldType.PERSON,
        "Title": FieldType.TEXT,
        "Due": FieldType.DATE,
        "Done": FieldType.CHECKBOX,
    }
)


def test_single_condition() -> None:
    assert (F("Status") == "Open").to_filter() == {
        "conjunction": "and",
        "conditions": [{"field_name": "Status", "operator": "is", "value": ["Open"]}],
    }


@pytest.mark.parametrize(
    ("condition", "operator", "value"),
    [
        (F("Score") > 80, "isGreater", ["80"]),
        (F("Score") >= 80.0, "isGreaterEqual", ["80"]),
        (F("Score") < 2.5, "isLess", ["2.5"]),
        (F("Score") <= 3, "isLessEqual", ["3"]),
        (F("Status") != "Closed", "isNot", ["Closed"]),
        (F("Title").contains("x"), "contains", ["x"]),
        (F("Title").does_not_contain("x"), "doesNotContain", ["x"]),
        (F("Owner").is_empty(), "isEmpty", []),
        (F("Owner").is_not_empty(), "isNotEmpty", []),
        (F("Done") == True, "is", ["true"]),  # noqa: E712
        (F("Owner") == User("ou_1"), "is", ["ou_1"]),
        (
            F("Due") == datetime(2024, 1, 1, tzinfo=timezone.utc),
            "is",
            ["ExactDate", "1704067200000"],
        ),
    ],
)
def test_operators(condition: Condition, operator: str, value: list[str]) -> None:
    wire = condition.to_filter(SCHEMA)["conditions"][0]
    assert wire["operator"] == operator and wire["value"] == value


def test_and_flattens_and_or_makes_children() -> None:
    f = (F("Status") == "Open") & (F("Score") > 80) & F("Owner").is_empty()
    body = f.to_filter(SCHEMA)
    assert body["conjunction"] == "and" and len(body["conditions"]) == 3
    assert "children" not in body

    g = ((F("Status") == "Open") & (F("Score") > 80)) | ((F("Status") == "New") & (F("Score") > 90))
    body = g.to_filter(SCHEMA)
    assert body["conjunction"] == "or" and body["conditions"] == []
    assert [c["conjunction"] for c in body["children"]] == ["and", "and"]
    assert body["children"][1]["conditions"][1]["value"] == ["90"]

    h = (F("Status") == "Open") & ((F("Score") > 80) | F("Owner").is_empty())
    body = h.to_filter(SCHEMA)
    assert body["conditions"][0]["field_name"] == "Status"
    assert body["children"][0]["conjunction"] == "or"


def test_too_deep_is_refused() -> None:
    deep = (F("A") == "1") & ((F("B") == "1") | ((F("C") == "1") & (F("D") == "1")))
    with pytest.raises(ValidationError, match="one level"):
        deep.to_filter()


def test_unknown_field_and_operator_refused_with_schema() -> None:
    with pytest.raises(ValidationError, match=r"no field 'Stat'.*did you mean 'Status'"):
        (F("Stat") == "Open").to_filter(SCHEMA)
    with pytest.raises(ValidationError, match="compares numbers and dates"):
        (F("Title") > 3).to_filter(SCHEMA)
    with pytest.raises(ValidationError, match="does not apply"):
        F("Score").contains("8").to_filter(SCHEMA)
    # without a schema the same filters are accepted as written
    assert (F("Stat") == "Open").to_filter()["conditions"][0]["field_name"] == "Stat"


def test_unknown_operator_and_bad_values_refused() -> None:
    with pytest.raises(ValidationError, match="did you mean 'isGreater'"):
        Condition("Score", "isGreat", ("1",))
    with pytest.raises(ValidationError, match="is_empty"):
        F("Owner") == None  # noqa: B015, E711
    with pytest.raises(ValidationError):
        F("")
    with pytest.raises(ValidationError, match="not a filter value"):
        F("Score") > object()  # noqa: B015


def test_bool_of_a_filter_is_an_error() -> None:
    with pytest.raises(TypeError, match="&"):
        (F("A") == "1") and (F("B") == "2")


def test_length_limit() -> None:
    big = F("Title") == ["x" * 50] * 50
    with pytest.raises(ValidationError, match="1254107"):
        big.to_filter()


def test_wire_dict_is_checked_and_passed() -> None:
    raw = {
        "conjunction": "or",
        "conditions": [{"field_name": "Score", "operator": "isGreater", "value": ["1"]}],
        "children": [
            {
                "conjunction": "and",
                "conditions": [{"field_name": "Status", "operator": "is", "value": ["Open"]}],
            }
        ],
    }
    assert filter_body(raw, SCHEMA) == raw
    with pytest.raises(ValidationError):
        filter_body({"conditions": [{"field_name": "Score", "operator": "gt", "value": ["1"]}]})
    with pytest.raises(ValidationError):
        filter_body("Score > 1")

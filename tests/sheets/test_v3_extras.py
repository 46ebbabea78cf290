"""client.sheets v3 extras against the emulator: retitle, find/replace, move rows and columns,
the sheet filter, filter views and their conditions, float images; local checks first."""

from __future__ import annotations

import pytest

from lark_service import AsyncLarkClient, LarkClient
from lark_service.errors import InvalidParameterError, NotFoundError, ValidationError
from lark_service.sheets import FilterCondition
from lark_service.testing import Emulator
from lark_service.testing.emulator.sheets_state import Workbook

from .conftest import sheet_calls

ROWS = [["name", "score", "team"], ["ann", 90, "red"], ["ben", 75, "blue"], ["cat", 82, "red"]]


@pytest.fixture
def filled(client: LarkClient, book: Workbook) -> str:
    client.sheets.update_sheet_data("shtcn_ops", "Sheet1!A1", ROWS)
    return book.sheets[0].sheet_id


def test_update_spreadsheet_retitles(client: LarkClient, emu: Emulator, book: Workbook) -> None:
    client.sheets.update_spreadsheet("shtcn_ops", title="Ops 2")
    assert book.title == "Ops 2"
    assert client.sheets.get_spreadsheet("shtcn_ops").title == "Ops 2"
    with pytest.raises(ValidationError):
        client.sheets.update_spreadsheet("shtcn_ops", title="x" * 256)
    with pytest.raises(ValidationError):
        client.sheets.update_spreadsheet("shtcn_ops", title="")
    assert sheet_calls(emu, "/open-apis/sheets/v3/*", "PATCH") == 1


def test_find_and_replace(client: LarkClient, filled: str, book: Workbook) -> None:
    found = client.sheets.find("shtcn_ops", "Sheet1!A1:C4", "red")
    assert found.matched_cells == ["C2", "C4"] and found.rows_count == 2
    assert client.sheets.find("shtcn_ops", "Sheet1", "RED", match_case=True).matched_cells == []
    assert client.sheets.find("shtcn_ops", "Sheet1!A1:C4", "^[ab]", regex=True).matched_cells == [
        "A2",
        "A3",
        "C3",  # blue
    ]
    whole = client.sheets.find("shtcn_ops", "Sheet1!A1:C4", "9", match_entire_cell=True)
    assert whole.matched_cells == []
    replaced = client.sheets.replace("shtcn_ops", "Sheet1!C1:C4", "red", "green")
    assert replaced.matched_cells == ["C2", "C4"]
    assert book.sheets[0].cells[(2, 3)] == "green"
    with pytest.raises(ValidationError):
        client.sheets.find("shtcn_ops", "Sheet1!A1:C4", "")
    with pytest.raises(ValidationError):
        client.sheets.find("shtcn_ops", "Sheet1!A1:C4", "([", regex=True)
    with pytest.raises(ValidationError):
        client.sheets.replace("shtcn_ops", "Sheet1!A1:C4", "a", None)  # type: ignore[arg-type]


def test_move_rows_and_columns(client: LarkClient, filled: str, book: Workbook) -> None:
    client.sheets.move_dimension("shtcn_ops", "Sheet1", rows=(3, 4), before=2)
    assert client.sheets.get_sheet_data("shtcn_ops", "Sheet1!A1:A4").values == [
        ["name"],
        ["ben"],
        ["cat"],
        ["ann"],
    ]
    client.sheets.move_dimension("shtcn_ops", "Sheet1", columns="A", before="D")
    assert client.sheets.get_sheet_data("shtcn_ops", "Sheet1!A1:C1").values == [
        ["score", "team", "name"]
    ]
    with pytest.raises(ValidationError):
        client.sheets.move_dimension("shtcn_ops", "Sheet1", rows=(2, 4), before=3)
    with pytest.raises(ValidationError):
        client.sheets.move_dimension("shtcn_ops", "Sheet1", before=3)
    with pytest.raises(InvalidParameterError):
        client.sheets.move_dimension("shtcn_ops", "Sheet1", rows=500, before=1)


def test_filter_lifecycle(client: LarkClient, filled: str) -> None:
    assert client.sheets.get_filter("shtcn_ops", "Sheet1") is None
    client.sheets.create_filter(
        "shtcn_ops",
        "Sheet1!A1:C4",
        "B",
        {"filter_type": "number", "compare_type": "greater", "expected": [80]},
    )
    got = client.sheets.get_filter("shtcn_ops", "Sheet1")
    assert got is not None and got.range == f"{filled}!A1:C4"
    assert got.filtered_out_rows == [3]
    assert got.filter_infos[0].col == "B"
    assert got.filter_infos[0].conditions[0].compare_type == "greater"
    with pytest.raises(InvalidParameterError):  # one filter per sheet
        client.sheets.create_filter(
            "shtcn_ops",
            "Sheet1!A1:C4",
            "A",
            FilterCondition(filter_type="hiddenValue", expected=["x"]),
        )
    client.sheets.update_filter(
        "shtcn_ops",
        "Sheet1",
        "C",
        FilterCondition(filter_type="text", compare_type="contains", expected=["blu"]),
    )
    again = client.sheets.get_filter("shtcn_ops", "Sheet1")
    assert again is not None and again.filtered_out_rows == [2, 3, 4]
    client.sheets.delete_filter("shtcn_ops", "Sheet1")
    assert client.sheets.get_filter("shtcn_ops", "Sheet1") is None
    with pytest.raises(NotFoundError):
        client.sheets.update_filter(
            "shtcn_ops", "Sheet1", "B", {"filter_type": "hiddenValue", "expected": ["1"]}
        )


@pytest.mark.parametrize(
    ("col", "condition"),
    [
        ("B", {"filter_type": "nope", "expected": ["1"]}),
        ("B", {"filter_type": "number", "compare_type": "contains", "expected": ["1"]}),
        ("B", {"filter_type": "number", "compare_type": "greater", "expected": []}),
        ("B", {"filter_type": "number", "compare_type": "greater", "expected": ["x"]}),
        ("B", {"filter_type": "number", "compare_type": "between", "expected": ["1"]}),
        ("B", {"filter_type": "hiddenValue", "compare_type": "equal", "expected": ["1"]}),
        ("Z", {"filter_type": "hiddenValue", "expected": ["1"]}),
        ("1", {"filter_type": "hiddenValue", "expected": ["1"]}),
    ],
)
def test_filter_checked_locally(
    client: LarkClient, emu: Emulator, book: Workbook, col: str, condition: dict[str, object]
) -> None:
    client.sheets.list_sheets("shtcn_ops")
    before = sheet_calls(emu)
    with pytest.raises(ValidationError):
        client.sheets.create_filter("shtcn_ops", "Sheet1!A1:C4", col, condition)
    assert sheet_calls(emu) == before


def test_filter_views_and_conditions(client: LarkClient, filled: str) -> None:
    view = client.sheets.create_filter_view(
        "shtcn_ops", "Sheet1!A1:C4", "Reds", filter_view_id="view000001"
    )
    assert (view.filter_view_id, view.filter_view_name, view.range) == (
        "view000001",
        "Reds",
        f"{filled}!A1:C4",
    )
    other = client.sheets.create_filter_view("shtcn_ops", "Sheet1!A1:B4")
    assert len(other.filter_view_id) == 10 and other.filter_view_name
    listed = client.sheets.list_filter_views("shtcn_ops", "Sheet1")
    assert [v.filter_view_id for v in listed] == ["view000001", other.filter_view_id]
    renamed = client.sheets.update_filter_view("shtcn_ops", "Sheet1", "view000001", name="Red")
    assert renamed.filter_view_name == "Red"
    assert (
        client.sheets.get_filter_view("shtcn_ops", "Sheet1", "view000001").filter_view_name == "Red"
    )

    made = client.sheets.create_filter_view_condition(
        "shtcn_ops",
        "Sheet1",
        "view000001",
        "c",
        {"filter_type": "text", "compare_type": "beginsWith", "expected": ["r"]},
    )
    assert (made.condition_id, made.filter_type, made.expected) == ("C", "text", ["r"])
    changed = client.sheets.update_filter_view_condition(
        "shtcn_ops",
        "Sheet1",
        "view000001",
        "C",
        {"filter_type": "hiddenValue", "expected": ["blue"]},
    )
    assert changed.filter_type == "hiddenValue" and changed.compare_type is None
    got = client.sheets.get_filter_view_condition("shtcn_ops", "Sheet1", "view000001", "C")
    assert got.expected == ["blue"]
    conditions = client.sheets.list_filter_view_conditions("shtcn_ops", "Sheet1", "view000001")
    assert [c.condition_id for c in conditions] == ["C"]
    client.sheets.delete_filter_view_condition("shtcn_ops", "Sheet1", "view000001", "C")
    assert client.sheets.list_filter_view_conditions("shtcn_ops", "Sheet1", "view000001") == []
    client.sheets.delete_filter_view("shtcn_ops", "Sheet1", "view000001")
    with pytest.raises(NotFoundError):
        client.sheets.get_filter_view("shtcn_ops", "Sheet1", "view000001")
    with pytest.raises(ValidationError):
        client.sheets.create_filter_view("shtcn_ops", "Sheet1!A1:C4", filter_view_id="short")
    with pytest.raises(ValidationError):
        client.sheets.update_filter_view("shtcn_ops", "Sheet1", other.filter_view_id)


def test_float_images(client: LarkClient, book: Workbook) -> None:
    sheet_id = book.sheets[0].sheet_id
    image = client.sheets.create_float_image(
        "shtcn_ops", "Sheet1!B2", "boxcn_img", width=120, height=60, offset_x=4
    )
    assert image.range == f"{sheet_id}!B2:B2" and image.float_image_token == "boxcn_img"
    assert (image.width, image.height, image.offset_x) == (120.0, 60.0, 4.0)
    moved = client.sheets.update_float_image(
        "shtcn_ops", "Sheet1", image.float_image_id, cell="Sheet1!C3", width=200
    )
    assert moved.range == f"{sheet_id}!C3:C3" and moved.width == 200.0 and moved.height == 60.0
    got = client.sheets.get_float_image("shtcn_ops", "Sheet1", image.float_image_id)
    assert got.range == moved.range
    assert [i.float_image_id for i in client.sheets.list_float_images("shtcn_ops", "Sheet1")] == [
        image.float_image_id
    ]
    client.sheets.delete_float_image("shtcn_ops", "Sheet1", image.float_image_id)
    assert client.sheets.list_float_images("shtcn_ops", "Sheet1") == []
    with pytest.raises(NotFoundError):
        client.sheets.get_float_image("shtcn_ops", "Sheet1", image.float_image_id)
    for bad in ({"cell": "Sheet1!B2:C3"}, {"width": 5}, {"offset_y": -1}):
        kwargs = {"cell": "Sheet1!B2", **bad}
        with pytest.raises(ValidationError):
            client.sheets.create_float_image("shtcn_ops", image_token="boxcn_img", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        client.sheets.update_float_image("shtcn_ops", "Sheet1", "abcdefghij")


@pytest.mark.anyio
async def test_async_find_and_filter_view(aclient: AsyncLarkClient, book: Workbook) -> None:
    async with aclient:
        await aclient.sheets.update_sheet_data("shtcn_ops", "Sheet1!A1", ROWS)
        found = await aclient.sheets.find("shtcn_ops", "Sheet1!A1:C4", "an")
        assert found.matched_cells == ["A2"]
        view = await aclient.sheets.create_filter_view("shtcn_ops", "Sheet1!A1:C4", "v")
        assert [
            v.filter_view_id for v in await aclient.sheets.list_filter_views("shtcn_ops", "Sheet1")
        ] == [view.filter_view_id]

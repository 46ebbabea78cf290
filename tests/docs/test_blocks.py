"""The typed block builder and the append planner, pure."""

from __future__ import annotations

import pytest

from lark_service.docs import blocks as b
from lark_service.docs._build import plan_chunks
from lark_service.docs.models import Block, BlockType
from lark_service.errors import ValidationError


def test_text_runs_styles_links_mentions() -> None:
    block = b.text(
        "plain ",
        b.run("bold", bold=True, italic=True),
        b.link("site", "https://example.com"),
        b.mention_user("ou_1"),
        b.mention_doc("doxA", title="Spec"),
        b.equation("E=mc^2"),
    )
    wire = block.to_wire()
    assert wire["block_type"] == 2
    elements = wire["text"]["elements"]
    assert elements[0] == {"text_run": {"content": "plain "}}
    assert elements[1]["text_run"]["text_element_style"] == {"bold": True, "italic": True}
    assert elements[2]["text_run"]["text_element_style"] == {"link": {"url": "https://example.com"}}
    assert elements[3] == {"mention_user": {"user_id": "ou_1"}}
    assert elements[4]["mention_doc"]["token"] == "doxA"
    assert elements[5] == {"equation": {"content": "E=mc^2"}}
    # the typed model reads what the builder writes
    parsed = Block.model_validate({"block_id": "x", **wire})
    assert parsed.kind == BlockType.TEXT and parsed.plain_text.startswith("plain bold")


@pytest.mark.parametrize("level", [1, 5, 9])
def test_headings_one_to_nine(level: int) -> None:
    block = b.heading(level, "Title")
    assert block.block_type == 2 + level
    assert block.payload_key == f"heading{level}"


def test_heading_level_out_of_range() -> None:
    with pytest.raises(ValidationError):
        b.heading(10, "x")


def test_list_items_code_quote_todo_divider_callout() -> None:
    item = b.bullet("a", children=[b.ordered("a.1"), b.todo("t", done=True)])
    assert item.block_type == BlockType.BULLET and item.count() == 3
    assert item.children[1].body["style"] == {"done": True}
    assert b.code("x", language="Python").body["style"] == {"language": 49}
    assert b.code("x", language="no-such").body["style"]["language"] == 1
    assert b.quote("q").block_type == BlockType.QUOTE
    assert b.divider().to_wire() == {"block_type": 22, "divider": {}}
    callout = b.callout("note", emoji="warning")
    assert callout.body == {"emoji_id": "warning"} and callout.children[0].block_type == 2


def test_table_is_row_major_cells_each_with_a_text_block() -> None:
    table = b.table([["a", "b"], ["c"]])
    assert table.body["property"]["row_size"] == 2 and table.body["property"]["column_size"] == 2
    assert [c.block_type for c in table.children] == [BlockType.TABLE_CELL] * 4
    assert table.children[3].children[0].body["elements"] == [{"text_run": {"content": ""}}]


def test_image_and_file_checks(tmp_path: object) -> None:
    with pytest.raises(ValidationError, match="empty"):
        b.image(b"")
    with pytest.raises(ValidationError, match="20 MB"):
        b.file(b"x" * (20 * 1024 * 1024 + 1))
    assert b.image(b"png").media is not None
    assert b.image(b"", token="boxTok").body == {"token": "boxTok"}


def test_bad_parts_are_refused() -> None:
    with pytest.raises(ValidationError):
        b.text(3)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        b.bullet("x", children=["not a block"])  # type: ignore[list-item]


def test_plan_chunks_splits_in_order_at_the_child_limit() -> None:
    blocks = [b.text(str(i)) for i in range(120)]
    chunks = plan_chunks(blocks)
    assert [len(c.blocks) for c in chunks] == [50, 50, 20]
    assert [blk.body["elements"][0]["text_run"]["content"] for c in chunks for blk in c.blocks] == [
        str(i) for i in range(120)
    ]
    assert len({c.client_token for c in chunks}) == 3


def test_plan_chunks_respects_the_descendant_total() -> None:
    big = b.table([["x"] * 10 for _ in range(40)])  # 1 + 400 cells + 400 texts = 801
    chunks = plan_chunks([big, big])
    assert [len(c.blocks) for c in chunks] == [1, 1]
    with pytest.raises(ValidationError):
        plan_chunks([b.table([["x"] * 20 for _ in range(30)])])  # 1201 blocks


def test_descendant_body_uses_temporary_ids() -> None:
    (chunk,) = plan_chunks([b.bullet("a", children=[b.bullet("b")]), b.text("c")])
    body, temp = chunk.descendant_body(None)
    assert body["children_id"] == ["tmp_1", "tmp_3"]
    assert body["index"] == -1
    first = body["descendants"][0]
    assert first["block_id"] == "tmp_1" and first["children"] == ["tmp_2"]
    assert set(temp) == {"tmp_1", "tmp_2", "tmp_3"}

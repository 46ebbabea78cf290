"""Markdown -> blocks (markdown-it-py) and blocks -> Markdown, pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from lark_service.docs import blocks as b
from lark_service.docs.markdown import blocks_to_markdown, markdown_to_blocks
from lark_service.docs.models import BlockType
from lark_service.errors import ValidationError

from ._tree import as_document, shape

REPORT = """# Weekly report

Revenue is **up 12%** and *steady*; see [the board](https://example.com/board) or `make report`.
A ~~retired~~ metric.

## Regions

- EMEA
  - UK
  - DE
    - Berlin
- APAC

1. Collect
2. Publish

- [ ] follow up
- [x] shipped

```python
print("hi")
```

> Numbers are provisional.

---

| Region | Revenue |
|---|---|
| EMEA | **1.2M** |
| APAC | 0.8M |
"""


def test_each_paragraph_heading_item_is_one_block_nothing_extra() -> None:
    blocks = markdown_to_blocks(REPORT)
    kinds = [blk.block_type for blk in blocks]
    assert kinds == [
        BlockType.HEADING1,
        BlockType.TEXT,
        BlockType.HEADING2,
        BlockType.BULLET,
        BlockType.BULLET,
        BlockType.ORDERED,
        BlockType.ORDERED,
        BlockType.TODO,
        BlockType.TODO,
        BlockType.CODE,
        BlockType.QUOTE,
        BlockType.DIVIDER,
        BlockType.TABLE,
    ]


def test_nested_items_are_child_blocks_of_their_parent_item() -> None:
    emea = markdown_to_blocks(REPORT)[3]
    assert emea.body["elements"] == [{"text_run": {"content": "EMEA"}}]
    assert [c.body["elements"][0]["text_run"]["content"] for c in emea.children] == ["UK", "DE"]
    berlin = emea.children[1].children
    assert len(berlin) == 1 and berlin[0].block_type == BlockType.BULLET
    assert berlin[0].body["elements"][0]["text_run"]["content"] == "Berlin"


def test_inline_styles_and_links_become_run_styles() -> None:
    elements = markdown_to_blocks(REPORT)[1].body["elements"]
    styled = {e["text_run"]["content"]: e["text_run"].get("text_element_style") for e in elements}
    assert styled["up 12%"] == {"bold": True}
    assert styled["steady"] == {"italic": True}
    assert styled["the board"] == {"link": {"url": "https://example.com/board"}}
    assert styled["make report"] == {"inline_code": True}
    assert styled["retired"] == {"strikethrough": True}
    # a soft line break stays a line break inside the one paragraph block
    assert any("\n" in e["text_run"]["content"] for e in elements)


def test_code_fence_language_is_feishus_enum() -> None:
    code = markdown_to_blocks("```python\nx = 1\n```\n\n```\nplain\n```\n\n```ts\nlet a\n```")
    assert [c.body["style"]["language"] for c in code] == [49, 1, 63]
    assert code[0].body["elements"] == [{"text_run": {"content": "x = 1"}}]


def test_table_cells_each_hold_one_text_block() -> None:
    table = markdown_to_blocks(REPORT)[-1]
    assert table.body["property"] == {"row_size": 3, "column_size": 2, "header_row": True}
    assert len(table.children) == 6
    assert all(
        c.block_type == BlockType.TABLE_CELL and len(c.children) == 1 for c in table.children
    )
    bold = table.children[3].children[0].body["elements"][0]["text_run"]
    assert bold == {"content": "1.2M", "text_element_style": {"bold": True}}


def test_round_trip_markdown_blocks_markdown_is_stable() -> None:
    first = markdown_to_blocks(REPORT)
    rendered = blocks_to_markdown(as_document(first))
    again = markdown_to_blocks(rendered)
    assert shape(again) == shape(first)
    assert blocks_to_markdown(as_document(again)) == rendered
    assert rendered.startswith("# Weekly report\n\nRevenue is **up 12%** and *steady*")
    assert "- EMEA\n  - UK\n  - DE\n    - Berlin\n- APAC" in rendered
    assert '```python\nprint("hi")\n```' in rendered
    assert "| Region | Revenue |\n|---|---|\n| EMEA | **1.2M** |" in rendered


@pytest.mark.parametrize(
    "text",
    [
        "# not a heading",
        "1. not a list",
        "- not a bullet",
        "> not a quote",
        "a * b _ c ` d [e] <f> ~g~ | h & i \\ j",
    ],
)
def test_text_that_looks_like_markdown_survives_the_round_trip(text: str) -> None:
    blocks = [b.text(text)]
    rendered = blocks_to_markdown(as_document(blocks))
    parsed = markdown_to_blocks(rendered)
    assert len(parsed) == 1 and parsed[0].block_type == BlockType.TEXT
    assert parsed[0].body["elements"] == [{"text_run": {"content": text}}]


def test_local_image_becomes_an_image_block_with_media(tmp_path: Path) -> None:
    (tmp_path / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 20)
    blocks = markdown_to_blocks("Intro\n\n![chart](chart.png)\n", base_dir=tmp_path)
    assert [blk.block_type for blk in blocks] == [BlockType.TEXT, BlockType.IMAGE]
    media = blocks[1].media
    assert media is not None and media.kind == "image" and media.name == "chart.png"


def test_missing_local_image_is_a_validation_error_before_any_request(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        markdown_to_blocks("![x](nope.png)", base_dir=tmp_path)


def test_remote_image_stays_a_link() -> None:
    (block,) = markdown_to_blocks("![logo](https://example.com/logo.png)")
    assert block.block_type == BlockType.TEXT
    run = block.body["elements"][0]["text_run"]
    assert run["text_element_style"] == {"link": {"url": "https://example.com/logo.png"}}


def test_not_a_string_is_refused() -> None:
    with pytest.raises(ValidationError):
        markdown_to_blocks(b"# bytes")  # type: ignore[arg-type]

"""``client.docs`` against the emulator: create, read, append (chunks, client tokens, progress,
media), update, delete, find, and the typed errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lark_service import AsyncLarkClient, LarkClient
from lark_service._pacing import PacingTable
from lark_service.docs import blocks as b
from lark_service.docs.markdown import blocks_to_markdown, markdown_to_blocks
from lark_service.docs.models import BlockType
from lark_service.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from lark_service.testing import Emulator
from lark_service.testing.emulator.docx_state import DocxState
from lark_service.testing.emulator.routes_docx import uploaded_media

from ._tree import as_document
from .conftest import APP, OTHER_APP, ClientFactory

REPORT = """# Weekly report

Revenue is **up 12%**; see [the board](https://example.com/board).

## Regions

- EMEA
  - UK
  - DE
- APAC

1. Collect
2. Publish

- [x] shipped

```python
print("hi")
```

> Provisional.

---

| Region | Revenue |
|---|---|
| EMEA | 1.2M |
"""


def edits(emu: Emulator, doc_id: str) -> list[dict[str, str]]:
    return [
        r.query
        for r in emu.requests(path=f"/open-apis/docx/v1/documents/{doc_id}/blocks/*")
        if r.method in ("POST", "PATCH", "DELETE")
    ]


def test_append_markdown_then_to_markdown_round_trips(client: LarkClient) -> None:
    doc = client.docs.create_document("Weekly")
    result = client.docs.append_markdown(doc.document_id, REPORT)
    assert result.calls == 1  # nested lists and the table: one descendant call
    assert len(result.block_ids) == len(markdown_to_blocks(REPORT))
    rendered = client.docs.to_markdown(doc.document_id)
    assert rendered == blocks_to_markdown(as_document(markdown_to_blocks(REPORT)))
    assert "- EMEA\n  - UK\n  - DE\n- APAC" in rendered


def test_create_document_with_content_and_get_it(client: LarkClient) -> None:
    doc = client.docs.create_document("Q3", content="# Title\n\nBody text\n")
    assert doc.title == "Q3" and doc.revision_id == 2  # created (1), one append (2)
    again = client.docs.get_document(doc.document_id)
    assert again.revision_id == 2 and again.request_id
    assert client.docs.get_raw_content(doc.document_id) == "Title\nBody text\n"
    content = client.docs.get_document_content(doc.document_id)
    kinds = [blk.kind for blk, _ in content.walk()]
    assert kinds == [BlockType.HEADING1, BlockType.TEXT]
    assert content.root is not None and content.root.block_id == doc.document_id


def test_large_append_is_split_in_order_with_a_token_per_chunk(
    client: LarkClient, emu: Emulator
) -> None:
    doc = client.docs.create_document("Big")
    seen: list[tuple[int, int]] = []
    blocks = [b.text(f"line {i}") for i in range(120)]
    result = client.docs.append_content(
        doc.document_id, blocks, on_progress=lambda done, total: seen.append((done, total))
    )
    assert result.calls == 3 and len(result.block_ids) == 120
    assert seen == [(50, 120), (100, 120), (120, 120)]
    queries = edits(emu, doc.document_id)
    assert len(queries) == 3 and len({q["client_token"] for q in queries}) == 3
    texts = [blk.plain_text for blk, _ in client.docs.get_document_content(doc.document_id).walk()]
    assert texts == [f"line {i}" for i in range(120)]


def test_a_retried_chunk_reuses_its_token_and_is_applied_once(
    client: LarkClient, emu: Emulator, docx: DocxState
) -> None:
    doc = client.docs.create_document("Retry")
    docx.lose_answers(1)  # applied, then answered 502: the pipeline retries the same call
    client.docs.append_content(doc.document_id, [b.text(str(i)) for i in range(60)])
    queries = edits(emu, doc.document_id)
    assert len(queries) == 3  # chunk 1, its retry, chunk 2
    assert queries[0]["client_token"] == queries[1]["client_token"] != queries[2]["client_token"]
    assert docx.replayed == 1
    content = client.docs.get_document_content(doc.document_id)
    assert [blk.plain_text for blk, _ in content.walk()] == [str(i) for i in range(60)]


def test_append_at_an_index_and_under_a_parent(client: LarkClient) -> None:
    doc = client.docs.create_document("Index")
    client.docs.append_content(doc.document_id, [b.text("a"), b.text("c")])
    client.docs.append_content(doc.document_id, b.text("b"), index=1)
    bullet = client.docs.append_content(doc.document_id, b.bullet("item")).block_ids[0]
    client.docs.append_content(doc.document_id, b.bullet("nested"), parent_block_id=bullet)
    rendered = client.docs.to_markdown(doc.document_id)
    assert rendered == "a\n\nb\n\nc\n\n- item\n  - nested\n"


def test_find_a_section_and_rewrite_it(client: LarkClient) -> None:
    doc = client.docs.create_document("Sections", content="# Summary\n\nold text\n\n# Other\n\nx\n")
    (heading,) = client.docs.find_blocks(doc.document_id, "summary")
    content = client.docs.get_document_content(doc.document_id)
    top = content.children_of(doc.document_id)
    paragraph = top[top.index(next(t for t in top if t.block_id == heading.block_id)) + 1]
    updated = client.docs.update_block(
        doc.document_id, paragraph.block_id, b.text("new ", b.run("text", bold=True))
    )
    assert updated.plain_text == "new text"
    assert client.docs.to_markdown(doc.document_id).startswith("# Summary\n\nnew **text**\n")
    found = client.docs.find_blocks(doc.document_id, lambda blk: blk.heading_level == 1)
    assert [blk.plain_text for blk in found] == ["Summary", "Other"]


def test_update_block_with_a_plain_string_and_a_table_property(client: LarkClient) -> None:
    doc = client.docs.create_document("T", content="| a | b |\n|---|---|\n| 1 | 2 |\n")
    table = client.docs.find_blocks(doc.document_id, lambda blk: blk.kind == BlockType.TABLE)[0]
    changed = client.docs.update_block(
        doc.document_id, table.block_id, {"update_table_property": {"header_row": False}}
    )
    assert changed.table is not None and changed.table.property is not None
    assert changed.table.property.header_row is False
    cell_text = client.docs.find_blocks(doc.document_id, "2")[0]
    assert client.docs.update_block(doc.document_id, cell_text.block_id, "two").plain_text == "two"
    assert "| 1 | two |" in client.docs.to_markdown(doc.document_id)


def test_delete_blocks_half_open_range(client: LarkClient) -> None:
    doc = client.docs.create_document("Del", content="a\n\nb\n\nc\n\nd\n")
    client.docs.delete_blocks(doc.document_id, doc.document_id, 1, 3)
    assert client.docs.to_markdown(doc.document_id) == "a\n\nd\n"
    with pytest.raises(ValidationError):
        client.docs.delete_blocks(doc.document_id, doc.document_id, 2, 2)


def test_local_images_are_uploaded_into_their_block_and_placed(
    client: LarkClient, emu: Emulator, tmp_path: Path
) -> None:
    docx_emu = emu
    (tmp_path / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    doc = client.docs.create_document("Chart")
    result = client.docs.append_markdown(
        doc.document_id, "Chart below\n\n![chart](chart.png)\n", base_dir=tmp_path
    )
    assert len(result.media_tokens) == 1
    token = result.media_tokens[0]
    image = client.docs.find_blocks(doc.document_id, lambda blk: blk.kind == BlockType.IMAGE)[0]
    assert image.image is not None and image.image.token == token
    media = uploaded_media(docx_emu.state, token)
    assert media is not None
    assert media.parent_type == "docx_image" and media.parent_node == image.block_id
    assert media.data.startswith(b"\x89PNG")


def test_unknown_document_is_not_found_with_a_hint(client: LarkClient) -> None:
    with pytest.raises(NotFoundError) as info:
        client.docs.get_document("doxcnNoSuchDocument")
    assert "doxcnNoSuchDocument" in str(info.value)
    assert "Add document app" in (info.value.hint or "")


def test_another_apps_document_is_permission_denied_with_a_hint(
    make_client: ClientFactory, docx: DocxState
) -> None:
    owner = make_client(APP)
    doc = owner.docs.create_document("Private")
    other = make_client(OTHER_APP)
    with pytest.raises(PermissionDeniedError) as info:
        other.docs.append_markdown(doc.document_id, "hello")
    assert info.value.code == 1770032 and "folder" in (info.value.hint or "")
    docx.share(doc.document_id, OTHER_APP[0])
    assert other.docs.append_markdown(doc.document_id, "hello").calls == 1


def test_a_stale_revision_is_a_conflict_with_a_hint(client: LarkClient) -> None:
    doc = client.docs.create_document("Rev", content="a\n")
    first = client.docs.get_document_content(doc.document_id).children_of(doc.document_id)[0]
    client.docs.update_block(doc.document_id, first.block_id, "b", document_revision_id=2)
    with pytest.raises(ConflictError) as info:
        client.docs.update_block(doc.document_id, first.block_id, "c", document_revision_id=2)
    assert "get_document" in (info.value.hint or "")


def test_bad_input_is_refused_before_any_request(client: LarkClient, emu: Emulator) -> None:
    before = len(emu.requests())
    with pytest.raises(ValidationError):
        client.docs.append_content("doxcnX", ["not a block"])
    with pytest.raises(ValidationError):
        client.docs.append_content("../x", [b.text("a")])
    with pytest.raises(ValidationError):
        client.docs.update_block("doxcnX", "blk", {"no_such_operation": {}})
    with pytest.raises(ValidationError):
        client.docs.get_document_content("doxcnX", document_revision_id=0)
    assert len(emu.requests()) == before


def test_paced_client_meets_the_per_document_limit_without_throttling(
    make_client: ClientFactory, docx: DocxState
) -> None:
    client = make_client(paced=True)
    doc = client.docs.create_document("Paced")
    docx.set_edit_limits(per_document=3, per_app=3)
    result = client.docs.append_content(doc.document_id, [b.text(str(i)) for i in range(300)])
    assert result.calls == 6 and docx.throttled == 0


def test_unpaced_client_throttled_at_429_retries_without_duplicates(
    make_client: ClientFactory, docx: DocxState
) -> None:
    client = make_client(pacing=PacingTable.unlimited())
    doc = client.docs.create_document("Throttled")
    docx.set_edit_limits(per_document=2, per_app=None)
    client.docs.append_content(doc.document_id, [b.text(str(i)) for i in range(150)])
    assert docx.throttled >= 1
    content = client.docs.get_document_content(doc.document_id)
    assert [blk.plain_text for blk, _ in content.walk()] == [str(i) for i in range(150)]


def test_async_client_appends_and_renders(emu: Emulator) -> None:
    async def main() -> str:
        async with AsyncLarkClient(
            app_id=APP[0], app_secret=APP[1], base_url=emu.url, pacing=PacingTable.unlimited()
        ) as client:
            doc = await client.docs.create_document("Async", content=REPORT)
            text: str = await client.docs.to_markdown(doc.document_id)
            return text

    assert asyncio.run(main()) == blocks_to_markdown(as_document(markdown_to_blocks(REPORT)))

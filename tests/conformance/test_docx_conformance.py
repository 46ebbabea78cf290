"""Docx v1 through the official lark-oapi client: every docx endpoint the SDK declares for
documents (create, get, raw_content, convert, blocks list/get/patch/batch_update, children
create/get/batch_delete, descendant create) is accepted by the emulator, and the answers parse
into the SDK's models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lark_service.testing.emulator.docx_state import docx_state
from lark_service.testing.emulator.server import Emulator


def text_block(content: str, block_type: int = 2, key: str = "text") -> Any:
    from lark_oapi.api.docx.v1 import Block

    return Block(
        {"block_type": block_type, key: {"elements": [{"text_run": {"content": content}}]}}
    )


@pytest.fixture
def client(official: Callable[..., Any]) -> Any:
    return official()


@pytest.fixture
def document_id(client: Any) -> str:
    from lark_oapi.api.docx.v1 import CreateDocumentRequest, CreateDocumentRequestBody

    response = client.docx.v1.document.create(
        CreateDocumentRequest.builder()
        .request_body(CreateDocumentRequestBody.builder().title("Conformance").build())
        .build()
    )
    assert response.success(), (response.code, response.msg)
    document = response.data.document
    assert document.title == "Conformance" and document.revision_id == 1
    return str(document.document_id)


def add_children(client: Any, document_id: str, *blocks: Any, token: str = "") -> Any:
    from lark_oapi.api.docx.v1 import (
        CreateDocumentBlockChildrenRequest,
        CreateDocumentBlockChildrenRequestBody,
    )

    builder = (
        CreateDocumentBlockChildrenRequest.builder()
        .document_id(document_id)
        .block_id(document_id)
        .document_revision_id(-1)
        .request_body(
            CreateDocumentBlockChildrenRequestBody.builder()
            .children(list(blocks))
            .index(-1)
            .build()
        )
    )
    if token:
        builder = builder.client_token(token)
    return client.docx.v1.document_block_children.create(builder.build())


def test_create_get_and_raw_content(client: Any, document_id: str) -> None:
    from lark_oapi.api.docx.v1 import GetDocumentRequest, RawContentDocumentRequest

    created = add_children(
        client, document_id, text_block("Hello"), text_block("Title", 3, "heading1")
    )
    assert created.success(), (created.code, created.msg)
    assert [c.block_type for c in created.data.children] == [2, 3]
    assert created.data.document_revision_id == 2 and created.data.client_token

    got = client.docx.v1.document.get(GetDocumentRequest.builder().document_id(document_id).build())
    assert got.success() and got.data.document.revision_id == 2
    raw = client.docx.v1.document.raw_content(
        RawContentDocumentRequest.builder().document_id(document_id).lang(0).build()
    )
    assert raw.success() and raw.data.content == "Hello\nTitle\n"


def test_client_token_repeats_are_applied_once(
    client: Any, document_id: str, lark_emulator: Emulator
) -> None:
    first = add_children(client, document_id, text_block("once"), token="tok-1")
    again = add_children(client, document_id, text_block("once"), token="tok-1")
    assert first.success() and again.success()
    assert again.data.children[0].block_id == first.data.children[0].block_id
    assert len(docx_state(lark_emulator).documents[document_id].root["children"]) == 1


def test_list_get_children_and_paging(client: Any, document_id: str) -> None:
    from lark_oapi.api.docx.v1 import (
        GetDocumentBlockChildrenRequest,
        GetDocumentBlockRequest,
        ListDocumentBlockRequest,
    )

    assert add_children(client, document_id, *[text_block(str(i)) for i in range(5)]).success()
    first = client.docx.v1.document_block.list(
        ListDocumentBlockRequest.builder().document_id(document_id).page_size(4).build()
    )
    assert first.success() and first.data.has_more and len(first.data.items) == 4
    assert first.data.items[0].block_type == 1 and first.data.items[0].block_id == document_id
    rest = client.docx.v1.document_block.list(
        ListDocumentBlockRequest.builder()
        .document_id(document_id)
        .page_size(4)
        .page_token(first.data.page_token)
        .build()
    )
    assert rest.success() and not rest.data.has_more and len(rest.data.items) == 2
    block_id = first.data.items[1].block_id
    one = client.docx.v1.document_block.get(
        GetDocumentBlockRequest.builder().document_id(document_id).block_id(block_id).build()
    )
    assert one.success() and one.data.block.text.elements[0].text_run.content == "0"
    children = client.docx.v1.document_block_children.get(
        GetDocumentBlockChildrenRequest.builder()
        .document_id(document_id)
        .block_id(document_id)
        .build()
    )
    assert children.success() and len(children.data.items) == 5


def test_descendant_tree_with_a_table(client: Any, document_id: str) -> None:
    from lark_oapi.api.docx.v1 import (
        Block,
        CreateDocumentBlockDescendantRequest,
        CreateDocumentBlockDescendantRequestBody,
    )

    def cell(temp: str, text_id: str) -> list[Any]:
        return [
            Block({"block_id": temp, "block_type": 32, "table_cell": {}, "children": [text_id]}),
            Block(
                {
                    "block_id": text_id,
                    "block_type": 2,
                    "text": {"elements": [{"text_run": {"content": temp}}]},
                }
            ),
        ]

    table = Block(
        {
            "block_id": "t",
            "block_type": 31,
            "table": {"property": {"row_size": 1, "column_size": 2}},
            "children": ["c1", "c2"],
        }
    )
    body = (
        CreateDocumentBlockDescendantRequestBody.builder()
        .children_id(["t"])
        .index(0)
        .descendants([table, *cell("c1", "x1"), *cell("c2", "x2")])
        .build()
    )
    response = client.docx.v1.document_block_descendant.create(
        CreateDocumentBlockDescendantRequest.builder()
        .document_id(document_id)
        .block_id(document_id)
        .document_revision_id(-1)
        .client_token("desc-1")
        .request_body(body)
        .build()
    )
    assert response.success(), (response.code, response.msg)
    relations = {r.temporary_block_id: r.block_id for r in response.data.block_id_relations}
    assert set(relations) == {"t", "c1", "c2", "x1", "x2"}
    created = {b.block_id: b for b in response.data.children}
    assert created[relations["t"]].table.cells == [relations["c1"], relations["c2"]]

    bad = client.docx.v1.document_block_descendant.create(
        CreateDocumentBlockDescendantRequest.builder()
        .document_id(document_id)
        .block_id(document_id)
        .request_body(
            CreateDocumentBlockDescendantRequestBody.builder()
            .children_id(["missing"])
            .descendants([text_block("x")])
            .build()
        )
        .build()
    )
    assert not bad.success() and bad.code == 1770006


def test_patch_batch_update_and_batch_delete(client: Any, document_id: str) -> None:
    from lark_oapi.api.docx.v1 import (
        BatchDeleteDocumentBlockChildrenRequest,
        BatchDeleteDocumentBlockChildrenRequestBody,
        BatchUpdateDocumentBlockRequest,
        BatchUpdateDocumentBlockRequestBody,
        PatchDocumentBlockRequest,
        UpdateBlockRequest,
    )

    created = add_children(client, document_id, text_block("a"), text_block("b"), text_block("c"))
    ids = [c.block_id for c in created.data.children]
    patched = client.docx.v1.document_block.patch(
        PatchDocumentBlockRequest.builder()
        .document_id(document_id)
        .block_id(ids[0])
        .document_revision_id(-1)
        .request_body(
            UpdateBlockRequest(
                {"update_text_elements": {"elements": [{"text_run": {"content": "A"}}]}}
            )
        )
        .build()
    )
    assert patched.success(), (patched.code, patched.msg)
    assert patched.data.block.text.elements[0].text_run.content == "A"

    batch = client.docx.v1.document_block.batch_update(
        BatchUpdateDocumentBlockRequest.builder()
        .document_id(document_id)
        .request_body(
            BatchUpdateDocumentBlockRequestBody.builder()
            .requests(
                [
                    UpdateBlockRequest(
                        {
                            "block_id": ids[1],
                            "update_text_elements": {"elements": [{"text_run": {"content": "B"}}]},
                        }
                    )
                ]
            )
            .build()
        )
        .build()
    )
    assert batch.success() and batch.data.blocks[0].text.elements[0].text_run.content == "B"

    deleted = client.docx.v1.document_block_children.batch_delete(
        BatchDeleteDocumentBlockChildrenRequest.builder()
        .document_id(document_id)
        .block_id(document_id)
        .request_body(
            BatchDeleteDocumentBlockChildrenRequestBody.builder()
            .start_index(0)
            .end_index(2)
            .build()
        )
        .build()
    )
    assert deleted.success() and deleted.data.document_revision_id == 5


def test_convert_markdown(client: Any) -> None:
    from lark_oapi.api.docx.v1 import ConvertDocumentRequest, ConvertDocumentRequestBody

    response = client.docx.v1.document.convert(
        ConvertDocumentRequest.builder()
        .request_body(
            ConvertDocumentRequestBody.builder()
            .content_type("markdown")
            .content("# T\n\n- a\n  - b\n")
            .build()
        )
        .build()
    )
    assert response.success(), (response.code, response.msg)
    assert len(response.data.first_level_block_ids) == 2
    assert [b.block_type for b in response.data.blocks] == [3, 12, 12]


def test_errors_parse(client: Any, official: Callable[..., Any], document_id: str) -> None:
    from lark_oapi.api.docx.v1 import GetDocumentRequest

    missing = client.docx.v1.document.get(
        GetDocumentRequest.builder().document_id("doxcnNope").build()
    )
    assert not missing.success() and missing.code == 1770002
    stranger = official().docx.v1.document.get(
        GetDocumentRequest.builder().document_id(document_id).build()
    )
    assert not stranger.success() and stranger.code == 1770032
    too_many = add_children(client, document_id, *[text_block("x") for _ in range(51)])
    assert not too_many.success() and too_many.code == 99992402


def test_per_document_edit_limit_answers_429(
    client: Any, document_id: str, lark_emulator: Emulator
) -> None:
    # a long window: four calls on a busy machine still fall in it
    docx_state(lark_emulator).set_edit_limits(per_document=3, per_app=None, window=30)
    answers = [add_children(client, document_id, text_block(str(i))) for i in range(4)]
    assert [a.success() for a in answers] == [True, True, True, False]
    assert answers[3].code == 99991400
    assert answers[3].raw.status_code == 429
    assert answers[3].raw.headers.get("x-ogw-ratelimit-reset")

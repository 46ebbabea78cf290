"""``client.docs``: Docx documents — create, read, append blocks or Markdown, update, delete.

Every write carries ``document_revision_id`` (-1: the latest) and a ``client_token`` made once
per call, so the pipeline's retries of that call reuse it and Feishu applies it once. Writes
are paced by the pipeline's ``docx.edit`` family (3 per second per app and per document).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import errors
from .._async_resource import AsyncResource
from .._options import RequestOptions
from .._paths import api_path, path_id
from ._build import PAGE_SIZE, Chunk, check_blocks, check_index, check_revision, plan_chunks
from ._errors import docx_context
from ._find import BlockQuery, match_blocks
from ._helpers import ProgressCallback, _block, _document_data, _revision
from ._update import update_request
from .blocks import Media, NewBlock
from .markdown import blocks_to_markdown, markdown_to_blocks
from .models import AppendResult, Block, Document, DocumentContent

__all__ = ["AsyncDocsClient", "ProgressCallback"]

_DOCS = "/open-apis/docx/v1/documents"
_DOC = _DOCS + "/{document_id}"
_BLOCK = _DOC + "/blocks/{block_id}"


class AsyncDocsClient(AsyncResource):
    """Docx documents (``docx/v1``): create, read as blocks or Markdown, append, update,
    delete, find."""

    # -- documents ----------------------------------------------------------------------------

    async def create_document(
        self,
        title: str | None = None,
        *,
        folder_token: str | None = None,
        content: str | Sequence[NewBlock] | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        on_progress: ProgressCallback | None = None,
        app_id: str | None = None,
    ) -> Document:
        """A new document titled ``title`` (in ``folder_token``'s folder, else the app's
        space), with ``content`` appended: Markdown text or blocks.

        ``POST /open-apis/docx/v1/documents``. Raises ValidationError (bad title or content,
        before any request), PermissionDeniedError (no access to the folder, missing scope).
        """
        body: dict[str, Any] = {}
        if title is not None:
            if not isinstance(title, str) or len(title) > 800:
                raise errors.ValidationError(
                    "title must be a string of at most 800 characters", field="title"
                )
            body["title"] = title
        if folder_token is not None:
            body["folder_token"] = path_id(folder_token, "folder_token")
        planned = self._content_blocks(content, base_dir)
        response = await self._request(
            "POST", _DOCS, options=self._opts(app_id=app_id, idempotent=False), json=body
        )
        document = Document.from_response(response, _document_data(response))
        if planned:
            result = await self.append_content(
                document.document_id, planned, on_progress=on_progress, app_id=app_id
            )
            if result.document_revision_id is not None:
                document = document.model_copy(update={"revision_id": result.document_revision_id})
        return document

    async def get_document(self, document_id: str, *, app_id: str | None = None) -> Document:
        """A document's title and latest ``revision_id``.

        ``GET /open-apis/docx/v1/documents/:document_id``. Raises NotFoundError,
        PermissionDeniedError (the app is not a collaborator: see the hint).
        """
        path = api_path(_DOC, document_id=document_id)
        response = await self._request("GET", path, options=self._doc_opts(app_id, document_id))
        return Document.from_response(response, _document_data(response))

    async def get_raw_content(
        self, document_id: str, *, lang: int = 0, app_id: str | None = None
    ) -> str:
        """The document as plain text (``lang``: 0 Chinese, 1 English, 2 Japanese names for
        mentions).

        ``GET /open-apis/docx/v1/documents/:document_id/raw_content``.
        """
        path = api_path(_DOC + "/raw_content", document_id=document_id)
        response = await self._request(
            "GET", path, options=self._doc_opts(app_id, document_id), params={"lang": lang}
        )
        return str(response.data.get("content") or "")

    async def get_document_content(
        self,
        document_id: str,
        *,
        document_revision_id: int = -1,
        app_id: str | None = None,
    ) -> DocumentContent:
        """Every block of the document as typed models, every page fetched (500 a page).

        ``GET /open-apis/docx/v1/documents/:document_id/blocks``.
        """
        revision = check_revision(document_revision_id)
        pager = self._paginate(
            api_path(_DOC + "/blocks", document_id=document_id),
            _block,
            options=self._doc_opts(app_id, document_id),
            params={"document_revision_id": revision},
            page_size=PAGE_SIZE,
        )
        blocks = await pager.to_list()
        return DocumentContent(document_id=document_id, blocks=blocks)

    async def to_markdown(
        self,
        document_id: str,
        *,
        image_url: Callable[[str], str] | None = None,
        app_id: str | None = None,
    ) -> str:
        """The document as Markdown, rendered here from its blocks (round-trips with
        :meth:`append_markdown`; see ``lark_service.docs.markdown`` for what is lost)."""
        content = await self.get_document_content(document_id, app_id=app_id)
        return blocks_to_markdown(content, image_url=image_url)

    async def find_blocks(
        self,
        document_id: str,
        query: BlockQuery,
        *,
        app_id: str | None = None,
    ) -> list[Block]:
        """Blocks whose text contains ``query`` (a string, case-insensitive) or for which
        ``query(block)`` is true, in document order — e.g. the heading of the section to
        rewrite."""
        content = await self.get_document_content(document_id, app_id=app_id)
        return match_blocks(content, query)

    # -- writes -------------------------------------------------------------------------------

    async def append_content(
        self,
        document_id: str,
        blocks: Sequence[NewBlock] | NewBlock,
        *,
        parent_block_id: str | None = None,
        index: int | None = None,
        document_revision_id: int = -1,
        on_progress: ProgressCallback | None = None,
        app_id: str | None = None,
    ) -> AppendResult:
        """Add ``blocks`` under ``parent_block_id`` (default: the page, i.e. the document's
        end), at ``index`` (default: after the last child).

        Split in order at Feishu's per-call limits (50 blocks; nested blocks and tables go
        through ``POST .../descendant``, up to 1000 a call), each call with its own
        ``client_token`` reused by its retries; local images and files are uploaded into
        their new blocks and placed (``replace_image`` / ``replace_file``).
        ``on_progress(done, total)`` counts top-level blocks.
        """
        items = check_blocks(blocks)
        at = check_index(index)
        revision = check_revision(document_revision_id)
        parent = parent_block_id if parent_block_id is not None else document_id
        path_id(document_id, "document_id")
        path_id(parent, "parent_block_id")
        for block in items:
            for node in block.walk():
                if node.media is not None and node.media.size <= 0:
                    raise errors.ValidationError(f"the {node.media.kind} is empty", field="blocks")
        result = AppendResult(document_id=document_id)
        total = len(items)
        done = 0
        for chunk in plan_chunks(items):
            position = None if at is None or at == -1 else at + done
            created, new_revision, media = await self._create_chunk(
                document_id, parent, chunk, position, revision, app_id
            )
            result.calls += 1
            result.block_ids.extend(created)
            result.blocks_created += chunk.size
            result.document_revision_id = new_revision
            for block_id, item in media:
                token, new_revision = await self._place_media(document_id, block_id, item, app_id)
                result.calls += 2
                result.media_tokens.append(token)
                result.document_revision_id = new_revision
            done += len(chunk.blocks)
            if on_progress is not None:
                on_progress(done, total)
        return result

    async def append_markdown(
        self,
        document_id: str,
        markdown: str,
        *,
        parent_block_id: str | None = None,
        index: int | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        on_progress: ProgressCallback | None = None,
        app_id: str | None = None,
    ) -> AppendResult:
        """Add ``markdown`` as blocks (see :func:`~lark_service.docs.markdown_to_blocks`);
        local images are read relative to ``base_dir``."""
        items = markdown_to_blocks(markdown, base_dir=base_dir)
        if not items:
            return AppendResult(document_id=document_id)
        return await self.append_content(
            document_id,
            items,
            parent_block_id=parent_block_id,
            index=index,
            on_progress=on_progress,
            app_id=app_id,
        )

    async def update_block(
        self,
        document_id: str,
        block_id: str,
        content: Any,
        *,
        document_revision_id: int = -1,
        app_id: str | None = None,
    ) -> Block:
        """Change one block: new text (a string, elements, or a text-like block from
        ``lark_service.docs.blocks``: its elements replace the block's), an image or file
        (``blocks.image(path)``: uploaded into the block and placed), or one of Feishu's
        update requests as a dict (``{"update_table_property": {...}}``, ``{"insert_table_row":
        {...}}``, ``{"merge_table_cells": {...}}``, ``{"update_text_style": {...}}`` …).

        ``PATCH /open-apis/docx/v1/documents/:document_id/blocks/:block_id``.
        """
        revision = check_revision(document_revision_id)
        path = api_path(_BLOCK, document_id=document_id, block_id=block_id)
        if isinstance(content, NewBlock) and content.media is not None:
            await self._place_media(document_id, block_id, content.media, app_id)
            response = await self._request(
                "GET",
                path,
                options=self._doc_opts(app_id, document_id),
                params={"document_revision_id": -1},
            )
            return _block(response, dict(response.data.get("block") or {}))
        body = update_request(content)
        response = await self._request(
            "PATCH",
            path,
            options=self._doc_opts(app_id, document_id, revision),
            params={"document_revision_id": revision, "client_token": str(uuid.uuid4())},
            json=body,
        )
        return _block(response, dict(response.data.get("block") or {}))

    async def delete_blocks(
        self,
        document_id: str,
        parent_block_id: str,
        start: int,
        end: int,
        *,
        document_revision_id: int = -1,
        app_id: str | None = None,
    ) -> int | None:
        """Delete the children ``start`` (inclusive) to ``end`` (exclusive) of
        ``parent_block_id`` (the document id for top-level blocks); returns the revision.

        ``DELETE .../blocks/:block_id/children/batch_delete`` (a DELETE with a JSON body).
        """
        revision = check_revision(document_revision_id)
        for name, value in (("start", start), ("end", end)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise errors.ValidationError(f"{name} must be an index >= 0", field=name)
        if end <= start:
            raise errors.ValidationError(
                "end must be greater than start (end is exclusive)", field="end"
            )
        path = api_path(
            _BLOCK + "/children/batch_delete", document_id=document_id, block_id=parent_block_id
        )
        response = await self._request(
            "DELETE",
            path,
            options=self._doc_opts(app_id, document_id, revision),
            params={"document_revision_id": revision, "client_token": str(uuid.uuid4())},
            json={"start_index": start, "end_index": end},
        )
        return _revision(response)

    # -- internals ----------------------------------------------------------------------------

    def _content_blocks(
        self, content: str | Sequence[NewBlock] | None, base_dir: str | os.PathLike[str] | None
    ) -> list[NewBlock]:
        if content is None:
            return []
        if isinstance(content, str):
            return markdown_to_blocks(content, base_dir=base_dir)
        return check_blocks(content)

    async def _create_chunk(
        self,
        document_id: str,
        parent: str,
        chunk: Chunk,
        index: int | None,
        revision: int,
        app_id: str | None,
    ) -> tuple[list[str], int | None, list[tuple[str, Media]]]:
        params = {"document_revision_id": revision, "client_token": chunk.client_token}
        options = self._doc_opts(app_id, document_id, revision)
        if not chunk.nested:
            path = api_path(_BLOCK + "/children", document_id=document_id, block_id=parent)
            response = await self._request(
                "POST", path, options=options, params=params, json=chunk.children_body(index)
            )
            children = [c for c in response.data.get("children") or [] if isinstance(c, Mapping)]
            ids = [str(c.get("block_id", "")) for c in children]
            media = [
                (block_id, block.media)
                for block_id, block in zip(ids, chunk.blocks, strict=False)
                if block.media is not None
            ]
            return ids, _revision(response), media
        body, temp = chunk.descendant_body(index)
        path = api_path(_BLOCK + "/descendant", document_id=document_id, block_id=parent)
        response = await self._request("POST", path, options=options, params=params, json=body)
        relations = {
            str(r.get("temporary_block_id")): str(r.get("block_id"))
            for r in response.data.get("block_id_relations") or []
            if isinstance(r, Mapping)
        }
        ids = [relations.get(t, t) for t in body["children_id"]]
        media = [
            (relations.get(t, t), block.media)
            for t, block in temp.items()
            if block.media is not None
        ]
        return ids, _revision(response), media

    async def _place_media(
        self, document_id: str, block_id: str, media: Media, app_id: str | None
    ) -> tuple[str, int | None]:
        """Upload ``media`` into the block (``upload_all``, ``parent_node`` = the block) and
        point the block at it (``replace_image`` / ``replace_file``)."""
        token = await self._upload_media(document_id, block_id, media, app_id)
        key = "replace_image" if media.kind == "image" else "replace_file"
        response = await self._request(
            "PATCH",
            api_path(_BLOCK, document_id=document_id, block_id=block_id),
            options=self._doc_opts(app_id, document_id),
            params={"document_revision_id": -1, "client_token": str(uuid.uuid4())},
            json={key: {"token": token}},
        )
        return token, _revision(response)

    async def _upload_media(
        self, document_id: str, block_id: str, media: Media, app_id: str | None
    ) -> str:
        """The media uploaded into its block through ``client.drive.upload_doc_media``."""
        asset = await self._domain("drive").upload_doc_media(
            document_id,
            media.read(),
            media.kind,
            parent_node=block_id,
            file_name=media.name,
            app_id=app_id,
        )
        return str(asset.file_token)

    def _doc_opts(self, app_id: str | None, document_id: str, revision: int = -1) -> RequestOptions:
        return self._opts(app_id=app_id, error_context=docx_context(document_id, revision))

"""Request bodies for appends (pure): chunks at Feishu's per-call limits, the children and
descendant bodies, temporary ids, and the document-id / revision checks."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ValidationError
from .blocks import NewBlock

__all__ = [
    "MAX_CHILDREN_PER_CALL",
    "MAX_DESCENDANTS_PER_CALL",
    "PAGE_SIZE",
    "Chunk",
    "check_blocks",
    "check_index",
    "check_revision",
    "plan_chunks",
]

MAX_CHILDREN_PER_CALL = 50
"""Blocks one ``POST .../children`` (and first-level blocks one ``.../descendant``) takes."""
MAX_DESCENDANTS_PER_CALL = 1000
"""Blocks, at every level, one ``POST .../descendant`` takes."""
PAGE_SIZE = 500
"""The largest ``page_size`` of ``GET .../blocks`` and ``.../children``."""


@dataclass
class Chunk:
    """Top-level blocks sent in one call, with the call's ``client_token`` (made once, so a
    retry of the call sends the same token and Feishu applies it once)."""

    blocks: list[NewBlock]
    client_token: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def nested(self) -> bool:
        return any(block.nested for block in self.blocks)

    @property
    def size(self) -> int:
        return sum(block.count() for block in self.blocks)

    def children_body(self, index: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"children": [block.to_wire() for block in self.blocks]}
        if index is not None:
            body["index"] = index
        return body

    def descendant_body(self, index: int | None) -> tuple[dict[str, Any], dict[str, NewBlock]]:
        """The body of ``POST .../descendant`` and the temporary id of every block in it."""
        temp: dict[str, NewBlock] = {}
        descendants: list[dict[str, Any]] = []

        def add(block: NewBlock) -> str:
            block_id = f"tmp_{len(temp) + 1}"
            temp[block_id] = block
            entry = {"block_id": block_id, **block.to_wire(), "children": []}
            descendants.append(entry)
            entry["children"] = [add(child) for child in block.children]
            return block_id

        top = [add(block) for block in self.blocks]
        body: dict[str, Any] = {"children_id": top, "descendants": descendants}
        body["index"] = -1 if index is None else index
        return body, temp


def check_blocks(blocks: object) -> list[NewBlock]:
    """``blocks`` as a list of :class:`NewBlock`; ValidationError otherwise (or if empty)."""
    if isinstance(blocks, NewBlock):
        return [blocks]
    if not isinstance(blocks, Iterable) or isinstance(blocks, (str, bytes)):
        raise ValidationError(
            "blocks must be a list of blocks made with lark_service.docs.blocks", field="blocks"
        )
    found = list(blocks)
    for item in found:
        if not isinstance(item, NewBlock):
            raise ValidationError(
                f"blocks are made with lark_service.docs.blocks (b.text(...)), "
                f"not {type(item).__name__}",
                field="blocks",
            )
    return found


def check_revision(value: object) -> int:
    """A ``document_revision_id``: -1 (the latest) or a positive revision."""
    if isinstance(value, bool) or not isinstance(value, int) or (value < 1 and value != -1):
        raise ValidationError(
            "document_revision_id must be -1 (the latest revision) or a revision number",
            field="document_revision_id",
        )
    return value


def check_index(value: object, field_name: str = "index") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise ValidationError(
            f"{field_name} must be a position (0 = first) or -1 (the end)", field=field_name
        )
    return value


def plan_chunks(
    blocks: Sequence[NewBlock],
    *,
    max_children: int = MAX_CHILDREN_PER_CALL,
    max_descendants: int = MAX_DESCENDANTS_PER_CALL,
) -> list[Chunk]:
    """``blocks`` split, in order, into calls of at most ``max_children`` top-level blocks and
    ``max_descendants`` blocks in all. A block tree over ``max_descendants`` is refused."""
    chunks: list[Chunk] = []
    current: list[NewBlock] = []
    size = 0
    for block in blocks:
        count = block.count()
        if count > max_descendants:
            raise ValidationError(
                f"one block holds {count} blocks; Feishu creates at most {max_descendants} "
                "in one call (split the table or list)",
                field="blocks",
            )
        if current and (len(current) >= max_children or size + count > max_descendants):
            chunks.append(Chunk(current))
            current, size = [], 0
        current.append(block)
        size += count
    if current:
        chunks.append(Chunk(current))
    return chunks

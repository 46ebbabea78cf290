"""Test helper: new blocks as the document tree Feishu would store (ids assigned in order)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from lark_service.docs.blocks import NewBlock
from lark_service.docs.models import Block, DocumentContent


def as_document(blocks: Sequence[NewBlock], document_id: str = "doxTest") -> DocumentContent:
    counter = itertools.count(1)
    stored: list[Block] = []

    def add(block: NewBlock, parent: str) -> str:
        block_id = f"blk{next(counter)}"
        children = [add(child, block_id) for child in block.children]
        raw = {"block_id": block_id, "parent_id": parent, "children": children, **block.to_wire()}
        if block.block_type == 31:
            raw["table"] = {**raw["table"], "cells": children}
        stored.append(Block.model_validate(raw))
        return block_id

    top = [add(block, document_id) for block in blocks]
    page = {"block_id": document_id, "block_type": 1, "children": top, "page": {"elements": []}}
    stored.insert(0, Block.model_validate(page))
    return DocumentContent(document_id=document_id, blocks=stored)


def shape(blocks: Sequence[NewBlock]) -> list[object]:
    """Blocks as comparable (type, content, children) tuples."""
    return [(int(b.block_type), b.body, shape(b.children)) for b in blocks]

"""``find_blocks`` matching (pure)."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ValidationError
from .models import Block, DocumentContent

__all__ = ["BlockQuery", "match_blocks"]

BlockQuery = str | Callable[[Block], bool]
"""Text the block's own text contains (case-insensitive), or a predicate."""


def match_blocks(content: DocumentContent, query: BlockQuery) -> list[Block]:
    """Blocks of ``content`` (page excluded, document order) matching ``query``."""
    predicate: Callable[[Block], bool]
    if isinstance(query, str):
        wanted = query.strip().casefold()
        if not wanted:
            raise ValidationError("the text to find must not be empty", field="query")

        def predicate(block: Block) -> bool:
            return wanted in block.plain_text.casefold()

    elif callable(query):
        predicate = query
    else:
        raise ValidationError(
            "find_blocks takes a text to find or a function of a block", field="query"
        )
    return [block for block, _ in content.walk() if predicate(block)]

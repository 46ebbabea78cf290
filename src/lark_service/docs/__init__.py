"""Docx documents: create, read, append (blocks or Markdown), update, delete (``client.docs``).

See ``docs/docs.md``.
"""

from . import blocks
from .blocks import Media, NewBlock
from .markdown import blocks_to_markdown, markdown_to_blocks
from .models import (
    AppendResult,
    Block,
    BlockType,
    Document,
    DocumentContent,
    Text,
    TextElement,
)

__all__ = [
    "AppendResult",
    "Block",
    "BlockType",
    "Document",
    "DocumentContent",
    "Media",
    "NewBlock",
    "Text",
    "TextElement",
    "blocks",
    "blocks_to_markdown",
    "markdown_to_blocks",
]

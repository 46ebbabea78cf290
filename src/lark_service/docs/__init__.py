"""Docx documents: create, read, append (blocks or Markdown), update, delete (``client.docs``).

See ``docs/docs.md``.
"""

from . import blocks
from ._async_client import AsyncDocsClient, ProgressCallback
from ._sync_client import DocsClient
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
    "AsyncDocsClient",
    "Block",
    "BlockType",
    "DocsClient",
    "Document",
    "DocumentContent",
    "Media",
    "NewBlock",
    "ProgressCallback",
    "Text",
    "TextElement",
    "blocks",
    "blocks_to_markdown",
    "markdown_to_blocks",
]

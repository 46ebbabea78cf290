"""Docx results and typed blocks (pydantic v2; unknown Feishu fields are kept).

A document is a tree of :class:`Block`: the root is the page block (its id is the document's
id), each block lists its ``children`` by id, and its content sits under one key named after
its type (``text``, ``heading1`` … ``heading9``, ``bullet``, ``code``, ``table``, ``image`` …),
as ``openapi-reference.md`` §5 and the official SDK's ``docx.v1.model.Block`` describe.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from ..models import LarkModel

__all__ = [
    "PAYLOAD_KEYS",
    "TEXT_BLOCK_TYPES",
    "AppendResult",
    "Block",
    "BlockType",
    "Callout",
    "Document",
    "DocumentContent",
    "Equation",
    "File",
    "Image",
    "Link",
    "MentionDoc",
    "MentionUser",
    "Table",
    "TableProperty",
    "Text",
    "TextElement",
    "TextElementStyle",
    "TextRun",
    "TextStyle",
]


class BlockType(IntEnum):
    """Feishu's ``block_type`` numbers (openapi-reference.md §5)."""

    PAGE = 1
    TEXT = 2
    HEADING1 = 3
    HEADING2 = 4
    HEADING3 = 5
    HEADING4 = 6
    HEADING5 = 7
    HEADING6 = 8
    HEADING7 = 9
    HEADING8 = 10
    HEADING9 = 11
    BULLET = 12
    ORDERED = 13
    CODE = 14
    QUOTE = 15
    EQUATION = 16
    TODO = 17
    BITABLE = 18
    CALLOUT = 19
    CHAT_CARD = 20
    DIAGRAM = 21
    DIVIDER = 22
    FILE = 23
    GRID = 24
    GRID_COLUMN = 25
    IFRAME = 26
    IMAGE = 27
    ISV = 28
    MINDNOTE = 29
    SHEET = 30
    TABLE = 31
    TABLE_CELL = 32
    VIEW = 33
    QUOTE_CONTAINER = 34
    TASK = 35
    UNDEFINED = 999


PAYLOAD_KEYS: dict[int, str] = {
    BlockType.PAGE: "page",
    BlockType.TEXT: "text",
    **{BlockType.HEADING1 + i: f"heading{i + 1}" for i in range(9)},
    BlockType.BULLET: "bullet",
    BlockType.ORDERED: "ordered",
    BlockType.CODE: "code",
    BlockType.QUOTE: "quote",
    BlockType.EQUATION: "equation",
    BlockType.TODO: "todo",
    BlockType.BITABLE: "bitable",
    BlockType.CALLOUT: "callout",
    BlockType.CHAT_CARD: "chat_card",
    BlockType.DIAGRAM: "diagram",
    BlockType.DIVIDER: "divider",
    BlockType.FILE: "file",
    BlockType.GRID: "grid",
    BlockType.GRID_COLUMN: "grid_column",
    BlockType.IFRAME: "iframe",
    BlockType.IMAGE: "image",
    BlockType.ISV: "isv",
    BlockType.MINDNOTE: "mindnote",
    BlockType.SHEET: "sheet",
    BlockType.TABLE: "table",
    BlockType.TABLE_CELL: "table_cell",
    BlockType.VIEW: "view",
    BlockType.QUOTE_CONTAINER: "quote_container",
    BlockType.TASK: "task",
    BlockType.UNDEFINED: "undefined",
}
"""The key that holds a block's content, by ``block_type``."""

TEXT_BLOCK_TYPES = frozenset(
    {
        BlockType.PAGE,
        BlockType.TEXT,
        *(BlockType(BlockType.HEADING1 + i) for i in range(9)),
        BlockType.BULLET,
        BlockType.ORDERED,
        BlockType.CODE,
        BlockType.QUOTE,
        BlockType.EQUATION,
        BlockType.TODO,
    }
)
"""Blocks whose content is a :class:`Text` (elements and a style)."""


class _Part(BaseModel):
    """A piece of a block: unknown fields kept, ``None`` fields left out when sent."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON Feishu takes (fields that are None left out)."""
        return self.model_dump(exclude_none=True, by_alias=True)


class Link(_Part):
    url: str


class TextElementStyle(_Part):
    """Inline style of a run: bold, italic, strikethrough, underline, inline code, colours
    (Feishu's colour numbers) and a link."""

    bold: bool | None = None
    italic: bool | None = None
    strikethrough: bool | None = None
    underline: bool | None = None
    inline_code: bool | None = None
    background_color: int | None = None
    text_color: int | None = None
    link: Link | None = None


class TextRun(_Part):
    content: str = ""
    text_element_style: TextElementStyle | None = None


class MentionUser(_Part):
    user_id: str
    text_element_style: TextElementStyle | None = None


class MentionDoc(_Part):
    token: str
    obj_type: int | None = None
    url: str | None = None
    title: str | None = None
    text_element_style: TextElementStyle | None = None


class Equation(_Part):
    content: str = ""
    text_element_style: TextElementStyle | None = None


class TextElement(_Part):
    """One element of a text: a run, a mention of a user or a document, an equation (other
    kinds Feishu sends are kept as extra fields)."""

    text_run: TextRun | None = None
    mention_user: MentionUser | None = None
    mention_doc: MentionDoc | None = None
    equation: Equation | None = None

    @property
    def plain(self) -> str:
        """The element as plain text."""
        if self.text_run is not None:
            return self.text_run.content
        if self.mention_user is not None:
            return f"@{self.mention_user.user_id}"
        if self.mention_doc is not None:
            return self.mention_doc.title or self.mention_doc.url or self.mention_doc.token
        if self.equation is not None:
            return self.equation.content
        return ""


class TextStyle(_Part):
    """Block style: ``align`` (1 left, 2 center, 3 right), ``done`` (todo), ``folded``,
    ``language`` (code, Feishu's enum), ``wrap`` (code), ``sequence`` (ordered)."""

    align: int | None = None
    done: bool | None = None
    folded: bool | None = None
    language: int | None = None
    wrap: bool | None = None
    background_color: str | None = None
    indentation_level: str | None = None
    sequence: str | None = None


class Text(_Part):
    style: TextStyle | None = None
    elements: list[TextElement] = Field(default_factory=list)

    @property
    def plain(self) -> str:
        return "".join(element.plain for element in self.elements)


class Image(_Part):
    token: str | None = None
    width: int | None = None
    height: int | None = None
    align: int | None = None
    scale: float | None = None


class File(_Part):
    token: str | None = None
    name: str | None = None
    view_type: int | None = None


class TableProperty(_Part):
    row_size: int | None = None
    column_size: int | None = None
    column_width: list[int] | None = None
    header_row: bool | None = None
    header_column: bool | None = None
    merge_info: list[dict[str, Any]] | None = None


class Table(_Part):
    cells: list[str] | None = None
    property: TableProperty | None = None


class Callout(_Part):
    background_color: int | None = None
    border_color: int | None = None
    text_color: int | None = None
    emoji_id: str | None = None


class Block(_Part):
    """One block of a document. ``kind`` is its :class:`BlockType` (None for a type this
    version does not know); ``text`` and the other typed payloads are set for their type."""

    block_id: str = ""
    parent_id: str | None = None
    children: list[str] = Field(default_factory=list)
    block_type: int
    page: Text | None = None
    text: Text | None = None
    heading1: Text | None = None
    heading2: Text | None = None
    heading3: Text | None = None
    heading4: Text | None = None
    heading5: Text | None = None
    heading6: Text | None = None
    heading7: Text | None = None
    heading8: Text | None = None
    heading9: Text | None = None
    bullet: Text | None = None
    ordered: Text | None = None
    code: Text | None = None
    quote: Text | None = None
    equation: Text | None = None
    todo: Text | None = None
    callout: Callout | None = None
    divider: dict[str, Any] | None = None
    file: File | None = None
    image: Image | None = None
    table: Table | None = None
    table_cell: dict[str, Any] | None = None
    quote_container: dict[str, Any] | None = None
    comment_ids: list[str] | None = None

    @property
    def kind(self) -> BlockType | None:
        try:
            return BlockType(self.block_type)
        except ValueError:
            return None

    @property
    def payload_key(self) -> str | None:
        return PAYLOAD_KEYS.get(self.block_type)

    @property
    def text_payload(self) -> Text | None:
        """The :class:`Text` of a text-like block (paragraph, heading, list item, code,
        quote, todo, page), else None."""
        if self.block_type not in TEXT_BLOCK_TYPES:
            return None
        value = getattr(self, PAYLOAD_KEYS[self.block_type], None)
        return value if isinstance(value, Text) else None

    @property
    def plain_text(self) -> str:
        """The block's own text as plain text ("" for blocks without text)."""
        text = self.text_payload
        return text.plain if text is not None else ""

    @property
    def heading_level(self) -> int | None:
        """1-9 for a heading block, else None."""
        if BlockType.HEADING1 <= self.block_type <= BlockType.HEADING9:
            return self.block_type - BlockType.HEADING1 + 1
        return None


class Document(LarkModel):
    """A document's metadata: id, latest ``revision_id``, title."""

    document_id: str
    revision_id: int | None = None
    title: str | None = None
    display_setting: dict[str, Any] | None = None
    cover: dict[str, Any] | None = None


class DocumentContent(LarkModel):
    """Every block of a document (all pages fetched), with tree helpers."""

    document_id: str
    blocks: list[Block] = Field(default_factory=list)
    _index: dict[str, Block] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._index = {block.block_id: block for block in self.blocks}

    @property
    def root(self) -> Block | None:
        """The page block (its id is the document's id)."""
        found = self._index.get(self.document_id)
        if found is not None:
            return found
        return next((b for b in self.blocks if b.block_type == BlockType.PAGE), None)

    def get(self, block_id: str) -> Block | None:
        return self._index.get(block_id)

    def children_of(self, block: Block | str) -> list[Block]:
        """The child blocks of ``block`` (or of the block with that id), in order."""
        parent = self._index.get(block) if isinstance(block, str) else block
        if parent is None:
            return []
        return [self._index[c] for c in parent.children if c in self._index]

    def walk(self) -> Iterator[tuple[Block, int]]:
        """Every block under the root, depth first in document order, with its depth (the
        root's children have depth 0)."""
        root = self.root
        if root is None:
            return
        stack: list[tuple[Block, int]] = [(b, 0) for b in reversed(self.children_of(root))]
        seen: set[str] = set()
        while stack:
            block, depth = stack.pop()
            if block.block_id in seen:
                continue
            seen.add(block.block_id)
            yield block, depth
            stack.extend((c, depth + 1) for c in reversed(self.children_of(block)))


class AppendResult(LarkModel):
    """What an append created: the new top-level block ids in order, the revision after the
    last call, and how many calls and blocks it took."""

    document_id: str
    block_ids: list[str] = Field(default_factory=list)
    document_revision_id: int | None = None
    blocks_created: int = 0
    calls: int = 0
    media_tokens: list[str] = Field(default_factory=list)

"""A typed builder for Docx blocks (pure: no I/O, shared by both clients).

Each function returns a :class:`NewBlock`: the block's type, its content, its child blocks and,
for images and files given as a local path or bytes, the media to upload once the block exists
(Feishu's three steps: create an empty image/file block, upload with ``parent_node`` = the new
block's id, then ``replace_image`` / ``replace_file``). ``client.docs.append_content`` sends
them in order::

    from lark_service.docs import blocks as b

    client.docs.append_content(doc_id, [
        b.heading(1, "Weekly report"),
        b.text("Revenue is ", b.run("up 12%", bold=True), " — see ", b.link("the board", url)),
        b.bullet("EMEA", children=[b.bullet("UK"), b.bullet("DE")]),
        b.code("print('hi')", language="python"),
        b.table([["Region", "Revenue"], ["EMEA", "1.2M"]]),
        b.image("chart.png"),
    ])

Text arguments (``*parts``) are strings (plain runs) or elements from :func:`run`,
:func:`link`, :func:`mention_user`, :func:`mention_doc`, :func:`equation`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ValidationError
from .models import (
    PAYLOAD_KEYS,
    BlockType,
    Equation,
    Link,
    MentionDoc,
    MentionUser,
    TextElement,
    TextElementStyle,
    TextRun,
    TextStyle,
)

__all__ = [
    "CODE_LANGUAGES",
    "LANGUAGE_NAMES",
    "Media",
    "NewBlock",
    "Part",
    "bullet",
    "callout",
    "code",
    "divider",
    "equation",
    "file",
    "heading",
    "image",
    "language_code",
    "link",
    "mention_doc",
    "mention_user",
    "ordered",
    "quote",
    "run",
    "table",
    "text",
    "todo",
]

Part = str | TextElement
"""A piece of text: a plain string or an element made by :func:`run` and friends."""

LANGUAGE_NAMES: dict[int, str] = {
    1: "plaintext", 2: "abap", 3: "ada", 4: "apache", 5: "apex", 6: "assembly", 7: "bash",
    8: "csharp", 9: "cpp", 10: "c", 11: "cobol", 12: "css", 13: "coffeescript", 14: "d",
    15: "dart", 16: "delphi", 17: "django", 18: "dockerfile", 19: "erlang", 20: "fortran",
    21: "foxpro", 22: "go", 23: "groovy", 24: "html", 25: "htmlbars", 26: "http",
    27: "haskell", 28: "json", 29: "java", 30: "javascript", 31: "julia", 32: "kotlin",
    33: "latex", 34: "lisp", 35: "logo", 36: "lua", 37: "matlab", 38: "makefile",
    39: "markdown", 40: "nginx", 41: "objectivec", 42: "openedgeabl", 43: "php", 44: "perl",
    45: "postscript", 46: "powershell", 47: "prolog", 48: "protobuf", 49: "python", 50: "r",
    51: "rpg", 52: "ruby", 53: "rust", 54: "sas", 55: "scss", 56: "sql", 57: "scala",
    58: "scheme", 59: "scratch", 60: "shell", 61: "swift", 62: "thrift", 63: "typescript",
    64: "vbscript", 65: "vbnet", 66: "xml", 67: "yaml", 68: "cmake", 69: "diff",
    70: "gherkin", 71: "graphql", 72: "glsl", 73: "properties", 74: "solidity", 75: "toml",
}  # fmt: skip
"""Feishu's code-block language enum (``style.language``), as the fence names we write."""

_ALIASES = {
    "text": 1, "txt": 1, "plain": 1, "": 1, "asm": 6, "sh": 7, "zsh": 7, "cs": 8, "c#": 8,
    "c++": 9, "cc": 9, "cxx": 9, "h": 10, "docker": 18, "erl": 19, "golang": 22, "htm": 24,
    "hs": 27, "js": 30, "jsx": 30, "mjs": 30, "jl": 31, "kt": 32, "kts": 32, "tex": 33,
    "make": 38, "md": 39, "objc": 41, "objective-c": 41, "pl": 44, "ps1": 46, "pwsh": 46,
    "proto": 48, "py": 49, "python3": 49, "rb": 52, "rs": 53, "sass": 55, "postgresql": 56,
    "mysql": 56, "console": 60, "ts": 63, "tsx": 63, "vb": 65, "yml": 67, "patch": 69,
    "gql": 71, "ini": 73, "sol": 74,
}  # fmt: skip
CODE_LANGUAGES: dict[str, int] = {
    **{name: number for number, name in LANGUAGE_NAMES.items()},
    **_ALIASES,
}
"""Fence names (lower case) and common aliases → Feishu's language number."""


def language_code(language: str | int | None) -> int:
    """Feishu's language number for a fence name (``python``, ``py``, ``Python``) or a
    number; unknown names are plain text (1)."""
    if language is None:
        return 1
    if isinstance(language, int) and not isinstance(language, bool):
        if language not in LANGUAGE_NAMES:
            raise ValidationError(
                f"language {language} is not one of Feishu's code languages (1-75)",
                field="language",
            )
        return language
    if not isinstance(language, str):
        raise ValidationError(
            "language must be a name such as 'python' or a number", field="language"
        )
    return CODE_LANGUAGES.get(language.strip().lower(), 1)


@dataclass(frozen=True)
class Media:
    """A local image or file to upload into the document once its block exists."""

    kind: Literal["image", "file"]
    name: str
    path: Path | None = None
    data: bytes | None = field(default=None, repr=False)

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size


@dataclass
class NewBlock:
    """A block to create: ``block_type``, its content (the JSON under its payload key), its
    child blocks, and a local image/file to upload into it (None for everything else)."""

    block_type: int
    body: dict[str, Any] = field(default_factory=dict)
    children: list[NewBlock] = field(default_factory=list)
    media: Media | None = None

    @property
    def payload_key(self) -> str:
        return PAYLOAD_KEYS[self.block_type]

    def to_wire(self) -> dict[str, Any]:
        """The block as Feishu's create endpoints take it (without ids or children)."""
        return {"block_type": int(self.block_type), self.payload_key: self.body}

    def count(self) -> int:
        """This block and every block under it."""
        return 1 + sum(child.count() for child in self.children)

    def walk(self) -> Iterable[NewBlock]:
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def nested(self) -> bool:
        """Whether creating it needs the ``descendant`` endpoint (it has children)."""
        return bool(self.children)


# -- inline elements --------------------------------------------------------------------------


def run(
    content: str,
    *,
    bold: bool = False,
    italic: bool = False,
    strikethrough: bool = False,
    underline: bool = False,
    code: bool = False,
    link: str | None = None,
    text_color: int | None = None,
    background_color: int | None = None,
) -> TextElement:
    """A run of text with inline styles (``code`` is inline code; ``link`` a URL)."""
    if not isinstance(content, str):
        raise ValidationError("a text run's content must be a string", field="content")
    style = TextElementStyle(
        bold=bold or None,
        italic=italic or None,
        strikethrough=strikethrough or None,
        underline=underline or None,
        inline_code=code or None,
        text_color=text_color,
        background_color=background_color,
        link=Link(url=_url(link)) if link is not None else None,
    )
    styled = style.to_wire()
    return TextElement(
        text_run=TextRun(content=content, text_element_style=style if styled else None)
    )


def link(content: str, url: str, **styles: Any) -> TextElement:
    """A run linking to ``url``."""
    return run(content, link=url, **styles)


def mention_user(user_id: str) -> TextElement:
    """An @-mention of a user (open_id, or the id type of the call's ``user_id_type``)."""
    if not isinstance(user_id, str) or not user_id.strip():
        raise ValidationError("mention_user needs a user id", field="user_id")
    return TextElement(mention_user=MentionUser(user_id=user_id.strip()))


def mention_doc(
    token: str, *, obj_type: int = 22, url: str | None = None, title: str | None = None
) -> TextElement:
    """A mention of another cloud document (``obj_type`` 22 = docx)."""
    if not isinstance(token, str) or not token.strip():
        raise ValidationError("mention_doc needs a document token", field="token")
    return TextElement(
        mention_doc=MentionDoc(token=token.strip(), obj_type=obj_type, url=url, title=title)
    )


def equation(content: str) -> TextElement:
    """An inline equation (LaTeX)."""
    return TextElement(equation=Equation(content=content))


def _url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("a link needs a non-empty URL", field="link")
    return value.strip()


def _elements(parts: Sequence[Part]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, str):
            if part:
                out.append({"text_run": {"content": part}})
        elif isinstance(part, TextElement):
            out.append(part.to_wire())
        else:
            raise ValidationError(
                f"text parts are strings or run()/link()/mention_user() elements, "
                f"not {type(part).__name__}",
                field="parts",
            )
    if not out:
        out.append({"text_run": {"content": ""}})
    return out


def _text_body(parts: Sequence[Part], style: TextStyle | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"elements": _elements(parts)}
    wire = style.to_wire() if style is not None else {}
    if wire:
        body["style"] = wire
    return body


_ALIGN = {"left": 1, "center": 2, "right": 3}


def _align(value: str | None) -> int | None:
    if value is None:
        return None
    if value not in _ALIGN:
        raise ValidationError("align must be 'left', 'center' or 'right'", field="align")
    return _ALIGN[value]


def _children(children: Iterable[NewBlock] | None) -> list[NewBlock]:
    found = list(children or ())
    for child in found:
        if not isinstance(child, NewBlock):
            raise ValidationError(
                f"children are blocks made by this module, not {type(child).__name__}",
                field="children",
            )
    return found


# -- blocks -----------------------------------------------------------------------------------


def text(*parts: Part, align: str | None = None) -> NewBlock:
    """A paragraph."""
    return NewBlock(BlockType.TEXT, _text_body(parts, TextStyle(align=_align(align))))


def heading(level: int, *parts: Part, align: str | None = None) -> NewBlock:
    """A heading of ``level`` 1-9."""
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 9:
        raise ValidationError("heading level must be 1 to 9", field="level")
    return NewBlock(
        BlockType.HEADING1 + level - 1, _text_body(parts, TextStyle(align=_align(align)))
    )


def bullet(*parts: Part, children: Iterable[NewBlock] | None = None) -> NewBlock:
    """A bullet list item; ``children`` (nested items, paragraphs) sit under it."""
    return NewBlock(BlockType.BULLET, _text_body(parts), _children(children))


def ordered(
    *parts: Part, children: Iterable[NewBlock] | None = None, start: int | None = None
) -> NewBlock:
    """An ordered list item (numbered by Feishu; ``start`` sets the first number)."""
    style = TextStyle(sequence=str(start) if start is not None else None)
    return NewBlock(BlockType.ORDERED, _text_body(parts, style), _children(children))


def todo(*parts: Part, done: bool = False, children: Iterable[NewBlock] | None = None) -> NewBlock:
    """A to-do item."""
    return NewBlock(
        BlockType.TODO, _text_body(parts, TextStyle(done=bool(done))), _children(children)
    )


def quote(*parts: Part) -> NewBlock:
    """A quote."""
    return NewBlock(BlockType.QUOTE, _text_body(parts))


def code(source: str, *, language: str | int | None = "plaintext", wrap: bool = False) -> NewBlock:
    """A code block; ``language`` is a fence name (``python``, ``ts``) or Feishu's number."""
    if not isinstance(source, str):
        raise ValidationError("code source must be a string", field="source")
    style = TextStyle(language=language_code(language), wrap=wrap or None)
    return NewBlock(BlockType.CODE, _text_body([source] if source else [], style))


def divider() -> NewBlock:
    """A horizontal divider."""
    return NewBlock(BlockType.DIVIDER, {})


def callout(
    *children: NewBlock | str,
    emoji: str = "bulb",
    background_color: int | None = None,
    border_color: int | None = None,
) -> NewBlock:
    """A callout box holding blocks (strings become paragraphs; Feishu needs at least one)."""
    blocks = [text(c) if isinstance(c, str) else c for c in children] or [text("")]
    body: dict[str, Any] = {"emoji_id": emoji}
    if background_color is not None:
        body["background_color"] = background_color
    if border_color is not None:
        body["border_color"] = border_color
    return NewBlock(BlockType.CALLOUT, body, _children(blocks))


Cell = str | TextElement | NewBlock | Sequence[NewBlock]


def table(
    rows: Sequence[Sequence[Cell]],
    *,
    header_row: bool = True,
    column_width: Sequence[int] | None = None,
) -> NewBlock:
    """A table from rows of cells (a string, a text element, a block or a list of blocks);
    created through the ``descendant`` endpoint with every cell in one call."""
    if not rows or not all(isinstance(r, Sequence) and not isinstance(r, str) for r in rows):
        raise ValidationError("a table needs at least one row, each a list of cells", field="rows")
    columns = max(len(r) for r in rows)
    if columns == 0:
        raise ValidationError("a table needs at least one column", field="rows")
    cells: list[NewBlock] = []
    for row in rows:
        for index in range(columns):
            value: Cell = row[index] if index < len(row) else ""
            if isinstance(value, NewBlock):
                content = [value]
            elif isinstance(value, (str, TextElement)):
                content = [text(value)]
            else:
                content = _children(value) or [text("")]
            cells.append(NewBlock(BlockType.TABLE_CELL, {}, content))
    prop: dict[str, Any] = {"row_size": len(rows), "column_size": columns, "header_row": header_row}
    if column_width is not None:
        prop["column_width"] = [int(w) for w in column_width]
    return NewBlock(BlockType.TABLE, {"property": prop}, cells)


def image(
    source: str | os.PathLike[str] | bytes, *, name: str | None = None, token: str | None = None
) -> NewBlock:
    """An image: a local path or bytes (uploaded into the document when appended), or the
    ``token`` of media already uploaded to this block's parent."""
    return _media_block(BlockType.IMAGE, "image", source, name, token)


def file(
    source: str | os.PathLike[str] | bytes, *, name: str | None = None, token: str | None = None
) -> NewBlock:
    """A file attachment: a local path or bytes, uploaded into the document when appended."""
    return _media_block(BlockType.FILE, "file", source, name, token)


MAX_MEDIA_BYTES = 20 * 1024 * 1024
"""The largest file ``upload_all`` takes (20 MB)."""


def _media_block(
    block_type: BlockType,
    kind: Literal["image", "file"],
    source: str | os.PathLike[str] | bytes,
    name: str | None,
    token: str | None,
) -> NewBlock:
    if token is not None:
        return NewBlock(block_type, {"token": token})
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
        if not data:
            raise ValidationError(f"the {kind} is empty", field=kind)
        if len(data) > MAX_MEDIA_BYTES:
            raise ValidationError(f"the {kind} is over 20 MB", field=kind)
        return NewBlock(block_type, {}, media=Media(kind, name or f"{kind}.bin", data=data))
    path = Path(os.fspath(source)).expanduser()
    if not path.is_file():
        raise ValidationError(f"{kind} file {str(path)!r} does not exist", field=kind)
    size = path.stat().st_size
    if size == 0:
        raise ValidationError(f"{kind} file {str(path)!r} is empty", field=kind)
    if size > MAX_MEDIA_BYTES:
        raise ValidationError(f"{kind} file {str(path)!r} is over 20 MB", field=kind)
    # Created empty; the token is set by replace_image / replace_file after the upload.
    return NewBlock(block_type, {}, media=Media(kind, name or path.name, path=path))

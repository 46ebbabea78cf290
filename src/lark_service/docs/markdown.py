"""Markdown → Docx blocks (markdown-it-py) and Docx blocks → Markdown (our renderer). Pure.

One Markdown paragraph, heading, list item, code fence, quote paragraph, rule or table is one
block, nothing extra. Nesting follows Feishu's block tree: a nested list item (and any further
paragraph of an item) is a *child block* of its parent item. Code fences carry Feishu's
language number (``python`` → 49). Tables become a table block whose cells each hold one text
block (sent with the ``descendant`` endpoint). Inline styles map to run styles: ``**bold**``,
``*italic*``, ``~~strike~~``, ``` `code` ```, ``[links](url)``; a paragraph that is only
images becomes image blocks (local files are uploaded into the document and placed).

:func:`blocks_to_markdown` writes a document back; ``markdown → blocks → markdown → blocks``
gives the same blocks (tests/docs/test_markdown.py). What Markdown cannot say is lost on the
way out: underline and colours, alignment, heading levels 7-9 (written as level 6), callouts
(written as quotes), mentions (``@open_id``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from ..errors import ValidationError
from . import blocks as b
from .blocks import LANGUAGE_NAMES, NewBlock
from .models import Block, BlockType, DocumentContent, TextElement

__all__ = ["blocks_to_markdown", "markdown_to_blocks", "render_blocks"]

_TASK = re.compile(r"^\[([ xX])\]\s+")
_REMOTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def markdown_to_blocks(
    markdown: str, *, base_dir: str | os.PathLike[str] | None = None
) -> list[NewBlock]:
    """The blocks of ``markdown``, in order (top-level blocks; nested ones as children).

    Local images (``![chart](chart.png)``, relative to ``base_dir``, default the current
    directory) become image blocks uploaded when appended; a missing file is a
    ValidationError here, before any request. Remote images stay links.
    """
    if not isinstance(markdown, str):
        raise ValidationError("markdown must be a string", field="markdown")
    root = SyntaxTreeNode(_parser().parse(markdown))
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    return _Converter(base).blocks(root.children)


class _Converter:
    def __init__(self, base: Path) -> None:
        self.base = base

    def blocks(self, nodes: Sequence[SyntaxTreeNode]) -> list[NewBlock]:
        out: list[NewBlock] = []
        for node in nodes:
            out.extend(self.block(node))
        return out

    def block(self, node: SyntaxTreeNode) -> list[NewBlock]:
        kind = node.type
        if kind == "heading":
            level = int(node.tag[1:])
            return [NewBlock(BlockType.HEADING1 + level - 1, {"elements": self.inline(node)})]
        if kind == "paragraph":
            images = self.only_images(node)
            if images is not None:
                return images
            return [NewBlock(BlockType.TEXT, {"elements": self.inline(node)})]
        if kind in ("bullet_list", "ordered_list"):
            return self.list_items(node)
        if kind in ("fence", "code_block"):
            info = (node.info or "").strip().split()
            language = b.language_code(info[0] if info else None)
            source = node.content[:-1] if node.content.endswith("\n") else node.content
            return [b.code(source, language=language)]
        if kind == "blockquote":
            out: list[NewBlock] = []
            for child in node.children:
                if child.type == "paragraph":
                    out.append(NewBlock(BlockType.QUOTE, {"elements": self.inline(child)}))
                else:
                    out.extend(self.block(child))
            return out
        if kind == "hr":
            return [b.divider()]
        if kind == "table":
            return [self.table(node)]
        if kind == "html_block":
            return [b.text(node.content.strip())] if node.content.strip() else []
        return self.blocks(node.children)

    def list_items(self, node: SyntaxTreeNode) -> list[NewBlock]:
        ordered = node.type == "ordered_list"
        start = node.attrs.get("start") if ordered else None
        out: list[NewBlock] = []
        for index, item in enumerate(node.children):
            children = list(item.children)
            elements: list[dict[str, Any]] = [{"text_run": {"content": ""}}]
            if children and children[0].type == "paragraph":
                elements = self.inline(children.pop(0))
            nested = self.blocks(children)
            done = _task(elements) if not ordered else None
            if done is not None:
                body: dict[str, Any] = {"elements": elements, "style": {"done": done}}
                out.append(NewBlock(BlockType.TODO, body, nested))
            elif ordered:
                body = {"elements": elements}
                if index == 0 and start is not None and int(start) != 1:
                    body["style"] = {"sequence": str(start)}
                out.append(NewBlock(BlockType.ORDERED, body, nested))
            else:
                out.append(NewBlock(BlockType.BULLET, {"elements": elements}, nested))
        return out

    def table(self, node: SyntaxTreeNode) -> NewBlock:
        rows: list[list[NewBlock]] = []
        for section in node.children:
            for tr in section.children:
                rows.append(
                    [
                        NewBlock(BlockType.TEXT, {"elements": self.inline(cell)})
                        for cell in tr.children
                    ]
                )
        return b.table(rows, header_row=True)

    def only_images(self, paragraph: SyntaxTreeNode) -> list[NewBlock] | None:
        inline = paragraph.children[0] if paragraph.children else None
        if inline is None:
            return None
        parts = [c for c in inline.children if not (c.type == "text" and not c.content.strip())]
        parts = [c for c in parts if c.type not in ("softbreak", "hardbreak")]
        if not parts or any(c.type != "image" for c in parts):
            return None
        if any(_REMOTE.match(str(c.attrs.get("src", ""))) for c in parts):
            return None
        out = []
        for image in parts:
            src = str(image.attrs.get("src", ""))
            path = Path(src) if os.path.isabs(src) else self.base / src
            out.append(b.image(path))
        return out

    def inline(self, node: SyntaxTreeNode) -> list[dict[str, Any]]:
        runs: list[tuple[str, dict[str, Any]]] = []
        for child in node.children:
            if child.type == "inline":
                self._walk(child.children, {}, runs)
        return _merge(runs)

    def _walk(
        self,
        nodes: Sequence[SyntaxTreeNode],
        style: dict[str, Any],
        runs: list[tuple[str, dict[str, Any]]],
    ) -> None:
        for n in nodes:
            kind = n.type
            if kind == "text":
                runs.append((n.content, style))
            elif kind in ("softbreak", "hardbreak"):
                runs.append(("\n", style))
            elif kind == "code_inline":
                runs.append((n.content, {**style, "inline_code": True}))
            elif kind == "strong":
                self._walk(n.children, {**style, "bold": True}, runs)
            elif kind == "em":
                self._walk(n.children, {**style, "italic": True}, runs)
            elif kind == "s":
                self._walk(n.children, {**style, "strikethrough": True}, runs)
            elif kind == "link":
                url = str(n.attrs.get("href", ""))
                self._walk(n.children, {**style, "link": {"url": url}} if url else style, runs)
            elif kind == "image":
                alt = "".join(c.content for c in n.children if c.type == "text") or "image"
                url = str(n.attrs.get("src", ""))
                runs.append((alt, {**style, "link": {"url": url}} if url else style))
            elif kind == "html_inline":
                runs.append((n.content, style))
            else:
                self._walk(n.children, style, runs)


def _merge(runs: Sequence[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    merged: list[tuple[str, Mapping[str, Any]]] = []
    for content, style in runs:
        if not content:
            continue
        if merged and merged[-1][1] == style:
            merged[-1] = (merged[-1][0] + content, style)
        else:
            merged.append((content, style))
    out: list[dict[str, Any]] = []
    for content, style in merged:
        run: dict[str, Any] = {"content": content}
        if style:
            run["text_element_style"] = dict(style)
        out.append({"text_run": run})
    return out or [{"text_run": {"content": ""}}]


def _task(elements: list[dict[str, Any]]) -> bool | None:
    """``[ ] `` / ``[x] `` at the start of an item: a to-do (removed from the text)."""
    first = elements[0].get("text_run") if elements else None
    if not first or first.get("text_element_style"):
        return None
    match = _TASK.match(first["content"])
    if match is None:
        return None
    first["content"] = first["content"][match.end() :]
    return match.group(1) != " "


# -- blocks -> Markdown ----------------------------------------------------------------------

_ESCAPE = re.compile(r"([\\`*_\[\]<>~|&!])")
_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])", re.MULTILINE)
_LIST_TYPES = (BlockType.BULLET, BlockType.ORDERED, BlockType.TODO)


def blocks_to_markdown(
    content: DocumentContent, *, image_url: Callable[[str], str] | None = None
) -> str:
    """The document as Markdown (its blocks under the page, in order).

    ``image_url(token)`` gives the link written for an image (default: the media token).
    """
    root = content.root
    if root is None:
        return ""
    return render_blocks(content.children_of(root), content.children_of, image_url=image_url)


def render_blocks(
    blocks: Sequence[Block],
    children_of: Callable[[Block], list[Block]],
    *,
    image_url: Callable[[str], str] | None = None,
) -> str:
    """Markdown for ``blocks`` (siblings, in order); ``children_of`` finds nested blocks."""
    return _Renderer(children_of, image_url or (lambda token: token)).siblings(blocks) + "\n"


class _Renderer:
    def __init__(
        self, children_of: Callable[[Block], list[Block]], image_url: Callable[[str], str]
    ) -> None:
        self.children_of = children_of
        self.image_url = image_url

    def siblings(self, blocks: Sequence[Block]) -> str:
        parts: list[str] = []
        previous: Block | None = None
        number = 0
        for block in blocks:
            if block.block_type == BlockType.ORDERED:
                if previous is None or previous.block_type != BlockType.ORDERED:
                    text = (
                        block.ordered.style.sequence
                        if block.ordered and block.ordered.style
                        else None
                    )
                    number = int(text) if text and text.isdigit() else 1
                else:
                    number += 1
            rendered = self.block(block, number)
            if rendered is None:
                continue
            if previous is not None:
                same_list = previous.block_type in _LIST_TYPES and _list_family(
                    previous
                ) == _list_family(block)
                parts.append("\n" if same_list else "\n\n")
            parts.append(rendered)
            previous = block
        return "".join(parts)

    def block(self, block: Block, number: int) -> str | None:
        kind = block.block_type
        children = self.children_of(block)
        if kind == BlockType.TEXT:
            return _escape_starts(self.inline(block.text_payload))
        if block.heading_level is not None:
            return "#" * min(block.heading_level, 6) + " " + self.inline(block.text_payload)
        if kind in _LIST_TYPES:
            if kind == BlockType.BULLET:
                marker = "- "
            elif kind == BlockType.ORDERED:
                marker = f"{number}. "
            else:
                done = bool(block.todo and block.todo.style and block.todo.style.done)
                marker = "- [x] " if done else "- [ ] "
            first = _escape_starts(self.inline(block.text_payload))
            lead = "- " if kind == BlockType.TODO else marker
            body = marker + _indent(first, len(lead), first_line=False)
            if children:
                nested = self.siblings(children)
                gap = "\n" if children[0].block_type in _LIST_TYPES else "\n\n"
                body += gap + _indent(nested, len(lead))
            return body
        if kind == BlockType.CODE:
            text = block.code
            language = text.style.language if text and text.style else None
            name = LANGUAGE_NAMES.get(language or 1, "")
            source = text.plain if text else ""
            fence = "```"
            while fence in source:
                fence += "`"
            return f"{fence}{'' if name == 'plaintext' else name}\n{source}\n{fence}"
        if kind == BlockType.QUOTE:
            return _prefix(self.inline(block.text_payload), "> ")
        if kind in (BlockType.QUOTE_CONTAINER, BlockType.CALLOUT):
            return _prefix(self.siblings(children), "> ") if children else None
        if kind == BlockType.DIVIDER:
            return "---"
        if kind == BlockType.TABLE:
            return self.table(block, children)
        if kind == BlockType.IMAGE:
            token = block.image.token if block.image else None
            return f"![image]({self.image_url(token)})" if token else None
        if kind == BlockType.FILE:
            token = block.file.token if block.file else None
            name = (block.file.name if block.file else None) or "file"
            return f"[{_escape(name)}]({token})" if token else None
        if kind == BlockType.EQUATION:
            return f"$${block.plain_text}$$"
        if children:
            return self.siblings(children)
        return None

    def table(self, block: Block, cells: list[Block]) -> str | None:
        prop = block.table.property if block.table else None
        columns = (prop.column_size if prop else None) or 0
        if block.table and block.table.cells:
            lookup = {c.block_id: c for c in cells}
            cells = [lookup[c] for c in block.table.cells if c in lookup] or cells
        if columns <= 0 or not cells:
            return None
        rows = [cells[i : i + columns] for i in range(0, len(cells), columns)]
        lines: list[str] = []
        for index, row in enumerate(rows):
            texts = [self.cell(cell) for cell in row]
            texts += [""] * (columns - len(texts))
            lines.append("| " + " | ".join(texts) + " |")
            if index == 0:
                lines.append("|" + "|".join(["---"] * columns) + "|")
        return "\n".join(lines)

    def cell(self, cell: Block) -> str:
        parts = [self.inline(c.text_payload) for c in self.children_of(cell) if c.text_payload]
        return " ".join(p.replace("\n", " ") for p in parts if p)

    def inline(self, text: Any) -> str:
        if text is None:
            return ""
        out: list[str] = []
        for element in text.elements:
            out.append(_element(element))
        return "".join(out)


def _list_family(block: Block) -> int:
    return BlockType.BULLET if block.block_type == BlockType.TODO else block.block_type


def _element(element: TextElement) -> str:
    if element.text_run is not None:
        run = element.text_run
        style = run.text_element_style
        content = run.content
        if not content:
            return ""
        if style is None:
            return _escape(content)
        if style.inline_code:
            ticks = "``" if "`" in content else "`"
            pad = " " if "`" in content else ""
            body = f"{ticks}{pad}{content}{pad}{ticks}"
            lead = trail = ""
        else:
            stripped = content.strip()
            if not stripped:
                return _escape(content)
            lead = content[: len(content) - len(content.lstrip())]
            trail = content[len(content.rstrip()) :]
            body = _escape(stripped)
            if style.strikethrough:
                body = f"~~{body}~~"
            if style.italic:
                body = f"*{body}*"
            if style.bold:
                body = f"**{body}**"
        if style.link is not None and style.link.url:
            body = f"[{body}]({_link_target(style.link.url)})"
        return f"{_escape(lead)}{body}{_escape(trail)}"
    if element.mention_user is not None:
        return "@" + _escape(element.mention_user.user_id)
    if element.mention_doc is not None:
        doc = element.mention_doc
        label = _escape(doc.title or doc.token)
        return f"[{label}]({_link_target(doc.url)})" if doc.url else label
    if element.equation is not None:
        return f"${element.equation.content.strip()}$"
    return ""


def _link_target(url: str) -> str:
    if re.search(r"[\s()<>]", url):
        return "<" + url.replace("<", "%3C").replace(">", "%3E") + ">"
    return url


def _escape(text: str) -> str:
    return _ESCAPE.sub(r"\\\1", text)


def _escape_starts(text: str) -> str:
    """Escape what would make a paragraph line something else (a heading, a list item, a
    quote, a setext underline)."""

    def fix(match: re.Match[str]) -> str:
        lead, marker = match.group(1), match.group(2)
        if marker[-1] in ".)":
            return f"{lead}{marker[:-1]}\\{marker[-1]}"
        return f"{lead}\\{marker}"

    return _LINE_START.sub(fix, text)


def _indent(text: str, width: int, *, first_line: bool = True) -> str:
    pad = " " * width
    lines = text.split("\n")
    return "\n".join(
        (pad + line if line and (first_line or i > 0) else line) for i, line in enumerate(lines)
    )


def _prefix(text: str, prefix: str) -> str:
    return "\n".join(
        (prefix + line).rstrip() if line else prefix.rstrip() for line in text.split("\n")
    )

"""Rich text (``post``) messages: a builder, and a converter from Markdown.

    post = (
        Post("Release 1.4")
        .paragraph("Deployed by ", Post.at("ou_123"), " — ", Post.link("notes", "https://…"))
        .markdown("**all checks green**")
        .code_block("make deploy", language="shell")
        .hr()
        .image("img_v2_…")
        .locale("en_us", "Release 1.4")          # the following paragraphs are English
        .paragraph("Deployed.")
    )
    client.messaging.send_rich_text_message("oc_team", post)

A paragraph is a list of elements (``text``, ``a``, ``at``, ``emotion``); ``img``, ``media``,
``md``, ``code_block`` and ``hr`` stand alone in theirs, as Feishu renders them.
The wire form (``Post.to_content()``) is ``{"zh_cn": {"title": …, "content": [[…], …]}}``,
with no ``{"post": …}`` wrapper.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError

__all__ = ["LOCALES", "Post", "markdown_to_post", "post_from_dict"]

LOCALES = ("zh_cn", "en_us", "ja_jp", "zh_hk", "zh_tw")
_STYLES = ("bold", "italic", "underline", "lineThrough")
_INLINE_TAGS = frozenset({"text", "a", "at", "emotion"})
_BLOCK_TAGS = frozenset({"img", "media", "md", "code_block", "hr"})
_KNOWN_TAGS = _INLINE_TAGS | _BLOCK_TAGS
_BLOCK_METHOD = {
    "img": "Post.image()",
    "media": "Post.media()",
    "md": "Post.markdown()",
    "code_block": "Post.code_block()",
    "hr": "Post.hr()",
}
# The fields each element needs: a non-empty string ("code_block" text may be empty).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "a": ("text", "href"),
    "at": ("user_id",),
    "emotion": ("emoji_type",),
    "img": ("image_key",),
    "media": ("file_key",),
    "md": ("text",),
    "code_block": (),
    "hr": (),
}
_ABSOLUTE_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S")

Element = dict[str, Any]


class Post:
    """A rich text message under construction (one or several locales)."""

    def __init__(self, title: str = "", *, locale: str = "zh_cn") -> None:
        _check_locale(locale)
        self._locales: dict[str, dict[str, Any]] = {locale: {"title": title, "content": []}}
        self._current = locale

    # -- elements ----------------------------------------------------------------------------

    @staticmethod
    def text(
        text: str,
        *,
        bold: bool = False,
        italic: bool = False,
        underline: bool = False,
        strikethrough: bool = False,
        unescape: bool = False,
    ) -> Element:
        """A run of plain text, optionally styled."""
        _check_str(text, "text")
        element: Element = {"tag": "text", "text": text}
        style = [
            name
            for name, on in zip(_STYLES, (bold, italic, underline, strikethrough), strict=True)
            if on
        ]
        if style:
            element["style"] = style
        if unescape:
            element["un_escape"] = True
        return element

    @staticmethod
    def link(text: str, href: str) -> Element:
        """A hyperlink."""
        _check_str(text, "link text")
        _check_href(href)
        return {"tag": "a", "text": text, "href": href}

    @staticmethod
    def at(user_id: str, name: str | None = None) -> Element:
        """An @-mention of a user (open_id or user_id), or ``"all"`` for everyone."""
        _check_str(user_id, "at user_id")
        element: Element = {"tag": "at", "user_id": user_id}
        if name:
            element["user_name"] = name
        return element

    @staticmethod
    def emotion(emoji_type: str) -> Element:
        """An emoji by Feishu's ``emoji_type`` (e.g. ``"SMILE"``)."""
        _check_str(emoji_type, "emoji_type")
        return {"tag": "emotion", "emoji_type": emoji_type}

    # -- paragraphs --------------------------------------------------------------------------

    def paragraph(self, *elements: Element | str) -> Post:
        """Add a paragraph of inline elements (a ``str`` is a plain text run)."""
        if not elements:
            raise ValidationError("a paragraph needs at least one element", field="post")
        row: list[Element] = []
        for element in elements:
            if isinstance(element, str):
                element = self.text(element)
            _check_element(element)
            if element["tag"] in _BLOCK_TAGS:
                raise ValidationError(
                    f"a {element['tag']!r} element must stand alone in its paragraph; "
                    f"use {_BLOCK_METHOD[element['tag']]}",
                    field="post",
                )
            row.append(dict(element))
        self._rows.append(row)
        return self

    def image(self, image_key: str) -> Post:
        """Add an image (an uploaded ``image_key``) in a paragraph of its own."""
        _check_str(image_key, "image_key")
        self._rows.append([{"tag": "img", "image_key": image_key}])
        return self

    def media(self, file_key: str, image_key: str | None = None) -> Post:
        """Add a video (an uploaded mp4 ``file_key``, optional cover ``image_key``)."""
        _check_str(file_key, "file_key")
        element: Element = {"tag": "media", "file_key": file_key}
        if image_key:
            element["image_key"] = image_key
        self._rows.append([element])
        return self

    def markdown(self, text: str) -> Post:
        """Add a Markdown block (Feishu's ``md`` element renders it)."""
        _check_str(text, "markdown")
        self._rows.append([{"tag": "md", "text": text}])
        return self

    def code_block(self, code: str, *, language: str | None = None) -> Post:
        """Add a code block (``language`` e.g. ``"python"``, upper-cased as Feishu expects)."""
        if not isinstance(code, str):
            raise ValidationError("code must be a str", field="code")
        element: Element = {"tag": "code_block", "text": code}
        if language:
            element["language"] = language.upper()
        self._rows.append([element])
        return self

    def hr(self) -> Post:
        """Add a horizontal rule."""
        self._rows.append([{"tag": "hr"}])
        return self

    def locale(self, locale: str, title: str = "") -> Post:
        """Switch to (or start) another language version; later paragraphs go there."""
        _check_locale(locale)
        if locale not in self._locales:
            self._locales[locale] = {"title": title, "content": []}
        elif title:
            self._locales[locale]["title"] = title
        self._current = locale
        return self

    # -- output ------------------------------------------------------------------------------

    @property
    def _rows(self) -> list[list[Element]]:
        rows: list[list[Element]] = self._locales[self._current]["content"]
        return rows

    @property
    def locales(self) -> list[str]:
        """The language versions, in the order started."""
        return list(self._locales)

    def to_content(self) -> dict[str, Any]:
        """The ``content`` object of a post message (before JSON encoding)."""
        out: dict[str, Any] = {}
        for locale, body in self._locales.items():
            if not body["content"] and not body["title"]:
                continue
            out[locale] = {
                "title": body["title"],
                "content": [[dict(e) for e in row] for row in body["content"]],
            }
        if not out:
            raise ValidationError("the post is empty: add a title or a paragraph", field="post")
        return out

    def to_dict(self) -> dict[str, Any]:
        """Alias of :meth:`to_content`."""
        return self.to_content()

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(v['content'])} paragraphs" for k, v in self._locales.items())
        return f"Post({sizes})"


def _check_str(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{what} must be a non-empty string", field="post")


def _check_locale(locale: str) -> None:
    if locale not in LOCALES:
        raise ValidationError(
            f"post locale {locale!r} is not one of {', '.join(LOCALES)}", field="post"
        )


def _check_href(href: object) -> None:
    if not isinstance(href, str) or not _ABSOLUTE_URL.match(href):
        raise ValidationError(
            f"link href must be an absolute URL (https://…), got {href!r}", field="href"
        )


def _check_element(element: object) -> None:
    """A known tag with the fields it needs: ``text`` for text/a/md, an absolute ``href``
    for a link, ``user_id`` for at, ``image_key`` for img, ``file_key`` for media…"""
    if not isinstance(element, Mapping) or element.get("tag") not in _KNOWN_TAGS:
        tag = element.get("tag") if isinstance(element, Mapping) else type(element).__name__
        raise ValidationError(
            f"post element {tag!r} is not one of {', '.join(sorted(_KNOWN_TAGS))}", field="post"
        )
    tag = element["tag"]
    for name in _REQUIRED[tag]:
        if not isinstance(element.get(name), str) or not element[name]:
            raise ValidationError(
                f"a post {tag!r} element needs a non-empty string {name!r}, got "
                f"{element.get(name)!r}",
                field="post",
            )
    if tag == "a":
        _check_href(element["href"])
    if tag == "code_block" and not isinstance(element.get("text"), str):
        raise ValidationError("a post 'code_block' element needs a string 'text'", field="post")


def _check_paragraph(row: object, where: str) -> None:
    """A paragraph: a non-empty list of elements, a block element (img, media, md,
    code_block, hr) alone in it."""
    if not isinstance(row, list):
        raise ValidationError(
            f"post {where} must be a list of elements, not {type(row).__name__}", field="post"
        )
    if not row:
        raise ValidationError(f"post {where} is empty: a paragraph needs an element", field="post")
    for element in row:
        _check_element(element)
        if element["tag"] in _BLOCK_TAGS and len(row) > 1:
            raise ValidationError(
                f"post {where}: a {element['tag']!r} element must stand alone in its "
                f"paragraph (as {_BLOCK_METHOD[element['tag']]} puts it), not mixed with "
                f"{', '.join(repr(e.get('tag')) for e in row if e is not element)}",
                field="post",
            )


def post_from_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    """Check a post given as a dict and return its ``content`` object.

    Accepts ``{"zh_cn": {"title": …, "content": [[…]]}, …}``; a ``{"post": {…}}`` wrapper
    (which Feishu rejects with 230001) is removed. The checks are the builder's: known
    locales and tags, each element with its fields (``text``, ``image_key``, an absolute
    ``href``…), no empty paragraph, ``img``/``media``/``md``/``code_block``/``hr`` alone in
    theirs, and no locale without both a title and a paragraph. ValidationError otherwise.
    """
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"a post must be a Post or a dict, not {type(value).__name__}", field="post"
        )
    if set(value) == {"post"} and isinstance(value["post"], Mapping):
        value = value["post"]
    if not value:
        raise ValidationError("the post is empty", field="post")
    out: dict[str, Any] = {}
    for locale, body in value.items():
        _check_locale(locale)
        if not isinstance(body, Mapping) or not isinstance(body.get("content"), list):
            raise ValidationError(
                f'post locale {locale!r} needs {{"title": ..., "content": [[...], ...]}}',
                field="post",
            )
        title = body.get("title", "")
        if not isinstance(title, str):
            raise ValidationError(
                f"post {locale} title must be a str, not {type(title).__name__}", field="post"
            )
        if not body["content"] and not title:
            raise ValidationError(
                f"post locale {locale!r} is empty: add a title or a paragraph", field="post"
            )
        for number, row in enumerate(body["content"], 1):
            _check_paragraph(row, f"{locale} paragraph {number}")
        out[locale] = dict(body)
    return out


# -- Markdown ------------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+#.-]*)\s*$")
_HR = re.compile(r"^\s*(-{3,}|\*{3,}|_{3,})\s*$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_IMAGE = re.compile(r"^\s*!\[[^\]]*\]\((img_[A-Za-z0-9_-]+)\)\s*$")


def markdown_to_post(markdown: str, *, title: str | None = None) -> Post:
    """A post from Markdown: fenced code becomes ``code_block``, ``---`` a rule,
    ``![alt](img_…)`` an image, headings bold lines, and the rest Feishu's ``md`` blocks.

    Without ``title``, a first-line ``# Heading`` becomes the title.
    """
    if not isinstance(markdown, str) or not markdown.strip():
        raise ValidationError("markdown must be a non-empty string", field="markdown")
    lines = markdown.strip("\n").splitlines()
    if title is None:
        first = _HEADING.match(lines[0])
        if first and len(first.group(1)) == 1:
            title = first.group(2)
            lines = lines[1:]
    post = Post(title or "")
    block: list[str] = []

    def flush() -> None:
        text = "\n".join(block).strip("\n")
        block.clear()
        if text.strip():
            post.markdown(text)

    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            flush()
            marker, language = fence.group(1), fence.group(2)
            code: list[str] = []
            index += 1
            while index < len(lines) and not lines[index].strip().startswith(marker):
                code.append(lines[index])
                index += 1
            post.code_block("\n".join(code), language=language or None)
        elif _HR.match(line):
            flush()
            post.hr()
        elif _IMAGE.match(line):
            flush()
            image = _IMAGE.match(line)
            assert image is not None
            post.image(image.group(1))
        elif _HEADING.match(line):
            flush()
            heading = _HEADING.match(line)
            assert heading is not None
            post.markdown(f"**{heading.group(2)}**")
        elif not line.strip():
            flush()
        else:
            block.append(line)
        index += 1
    flush()
    if not post._rows and not post._locales[post._current]["title"]:
        raise ValidationError("markdown has no content", field="markdown")
    return post

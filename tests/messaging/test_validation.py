"""Every local check fails with a ValidationError naming the rule, and nothing reaches Feishu."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lark_service import errors
from lark_service.cards import Card
from lark_service.messaging import MAX_FILE_BYTES, MAX_IMAGE_BYTES, Post
from lark_service.testing import Emulator

from .conftest import CHAT, PDF, PNG


@pytest.fixture
def nothing_sent(emu: Emulator) -> Iterator[None]:
    """Asserts, after the test, that no request at all reached the emulator."""
    yield
    assert emu.requests() == []


def _sparse(tmp_path: Path, name: str, size: int, head: bytes) -> Path:
    """A file of ``size`` bytes without writing them all (sparse), starting with ``head``."""
    path = tmp_path / name
    with path.open("wb") as f:
        f.write(head)
        f.truncate(size)
    return path


IMAGE_RULE = ("10 MB", "JPEG, PNG, WEBP, GIF, TIFF, BMP or ICO")
FILE_RULE = ("30 MB", "opus, mp4, pdf, doc, xls, ppt or stream")

CASES: list[tuple[str, Callable[[Any, Path], Any], tuple[str, ...]]] = [
    ("empty text", lambda m, p: m.send_text_message(CHAT, "  "), ("must not be empty",)),
    ("text not a str", lambda m, p: m.send_text_message(CHAT, 42), ("must be a str",)),
    (
        "text over 150 KB",
        lambda m, p: m.send_text_message(CHAT, "字" * 52_000),
        ("150 KB", "bytes"),
    ),
    ("empty receiver", lambda m, p: m.send_text_message("", "x"), ("receive_id",)),
    ("receiver with spaces", lambda m, p: m.send_text_message("ou_a b", "x"), ("whitespace",)),
    (
        "bad receive_id_type",
        lambda m, p: m.send_text_message("ou_1", "x", receive_id_type="phone"),
        ("open_id, union_id",),
    ),
    ("bad mention", lambda m, p: m.send_text_message(CHAT, "x", mentions=['ou_"x']), ("mention",)),
    ("mentions as a str", lambda m, p: m.send_text_message(CHAT, "x", mentions="ou_1"), ("list",)),
    (
        "post over 30 KB",
        lambda m, p: m.send_rich_text_message(CHAT, Post("t").paragraph("x" * 31_000)),
        ("30 KB",),
    ),
    ("empty post", lambda m, p: m.send_rich_text_message(CHAT, Post()), ("empty",)),
    (
        "post with a bad tag",
        lambda m, p: m.send_rich_text_message(CHAT, {"zh_cn": {"content": [[{"tag": "b"}]]}}),
        ("not one of",),
    ),
    (
        "post locale",
        lambda m, p: m.send_rich_text_message(CHAT, {"fr_fr": {"content": []}}),
        ("locale",),
    ),
    ("empty markdown", lambda m, p: m.send_markdown_message(CHAT, "\n \n"), ("markdown",)),
    (
        "card over 30 KB",
        lambda m, p: m.send_interactive_card(CHAT, Card("t").markdown("x" * 31_000)),
        ("30 KB",),
    ),
    ("not a card", lambda m, p: m.send_interactive_card(CHAT, {"text": "x"}), ("not a card",)),
    ("card schema", lambda m, p: m.send_interactive_card(CHAT, {"schema": "3.0"}), ("schema",)),
    (
        "template without id",
        lambda m, p: m.send_interactive_card(CHAT, {"type": "template", "data": {}}),
        ("template_id",),
    ),
    ("card a number", lambda m, p: m.send_interactive_card(CHAT, 7), ("int",)),
    ("empty image", lambda m, p: m.send_image_message(CHAT, b""), ("empty", *IMAGE_RULE)),
    (
        "image of the wrong type",
        lambda m, p: m.send_image_message(CHAT, b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
        ("not a supported image", *IMAGE_RULE),
    ),
    (
        "image named .png but a PDF",
        lambda m, p: m.upload_image(_write(p / "fake.png", PDF)),
        ("not a supported image", *IMAGE_RULE),
    ),
    (
        "image over 10 MB",
        lambda m, p: m.upload_image(_sparse(p, "big.png", MAX_IMAGE_BYTES + 1, PNG)),
        ("over Feishu's limit", *IMAGE_RULE),
    ),
    (
        "image bytes over 10 MB",
        lambda m, p: m.upload_image(PNG + b"\x00" * MAX_IMAGE_BYTES),
        ("over Feishu's limit", *IMAGE_RULE),
    ),
    (
        "missing image file",
        lambda m, p: m.send_image_message(CHAT, p / "nope.png"),
        ("neither an existing file", *IMAGE_RULE),
    ),
    ("image of a bad kind", lambda m, p: m.upload_image(3.14), ("float", *IMAGE_RULE)),
    (
        "image file opened in text mode",
        lambda m, p: m.upload_image(io.StringIO("x")),
        ("binary mode", *IMAGE_RULE),
    ),
    (
        "bad image_type",
        lambda m, p: m.upload_image(PNG, image_type="banner"),
        ("message", "avatar"),
    ),
    ("empty file", lambda m, p: m.send_file_message(CHAT, b""), ("empty", *FILE_RULE)),
    (
        "empty file on disk",
        lambda m, p: m.upload_file(_write(p / "empty.pdf", b"")),
        ("empty", *FILE_RULE),
    ),
    (
        "file over 30 MB",
        lambda m, p: m.upload_file(_sparse(p, "big.pdf", MAX_FILE_BYTES + 1, PDF)),
        ("over Feishu's limit", *FILE_RULE),
    ),
    (
        "bad file_type",
        lambda m, p: m.upload_file(PDF, file_type="zip"),
        ("file_type", *FILE_RULE),
    ),
    ("bad duration", lambda m, p: m.upload_file(PDF, duration_ms=-1), ("duration_ms",)),
    ("bad message id", lambda m, p: m.get_message("12345"), ("om_",)),
    ("message id with a slash", lambda m, p: m.recall_message("om_a/../b"), ("om_",)),
    ("empty message id", lambda m, p: m.edit_message("", "x"), ("message_id",)),
    ("reply text empty", lambda m, p: m.reply_message("om_abc", ""), ("empty",)),
    (
        "reply bad msg_type",
        lambda m, p: m.reply_message("om_abc", "x", msg_type="fax"),
        ("msg_type",),
    ),
    (
        "reply image without key",
        lambda m, p: m.reply_message("om_abc", {}, msg_type="image"),
        ("image_key",),
    ),
    (
        "update to a non-shared v1 card",
        lambda m, p: m.update_card("om_abc", {"elements": [{"tag": "hr"}]}),
        ("update_multi",),
    ),
    (
        "update to a 2.0 card with update_multi false",
        lambda m, p: m.update_card(
            "om_abc", {"schema": "2.0", "config": {"update_multi": False}, "body": {"elements": []}}
        ),
        ("update_multi",),
    ),
    ("bad image key", lambda m, p: m.download_image("img_a/b"), ("image_key",)),
    (
        "bad resource type",
        lambda m, p: m.download_message_resource("om_abc", "file_x", resource_type="video"),
        ("audio and video are 'file'",),
    ),
    ("batch of nothing", lambda m, p: m.send_batch([], "x"), ("empty",)),
    ("batch of a str", lambda m, p: m.send_batch("ou_1", "x"), ("single str",)),
    ("batch empty text", lambda m, p: m.send_batch(["ou_1"], ""), ("must not be empty",)),
    (
        "batch concurrency",
        lambda m, p: m.send_batch(["ou_1"], "x", concurrency=0),
        ("concurrency",),
    ),
    (
        "batch oversize card",
        lambda m, p: m.send_batch(
            ["ou_1"], Card("t").markdown("x" * 31_000), msg_type="interactive"
        ),
        ("30 KB",),
    ),
    (
        "batch with a bad receive_id_type",
        lambda m, p: m.send_batch(["ou_1", "ou_2", "oc_3"], "x", receive_id_type="phone"),
        ("receive_id_type", "'phone'", "open_id, union_id", "nothing was sent"),
    ),
    (
        "batch with a bad receive_id_type and bad content",
        lambda m, p: m.send_batch(["ou_1"], "", receive_id_type="mobile"),
        ("receive_id_type",),
    ),
    (
        "card with update_multi false",
        lambda m, p: m.send_interactive_card(
            CHAT, {"schema": "2.0", "config": {"update_multi": False}, "body": {"elements": []}}
        ),
        ("JSON 2.0", "update_multi must be true"),
    ),
    (
        "batch empty image",
        lambda m, p: m.send_batch(["ou_1"], b"", msg_type="image"),
        ("empty", *IMAGE_RULE),
    ),
]


def _post(*rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"zh_cn": {"content": list(rows)}}


_TEXT = {"tag": "text", "text": "a"}
_IMG = {"tag": "img", "image_key": "img_1"}
# Post dicts with what the builder refuses; each through every call that takes a post.
BAD_POSTS: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("no paragraph and no title", {"zh_cn": {"content": []}}, ("empty", "zh_cn")),
    ("an empty paragraph", _post([]), ("paragraph 1 is empty",)),
    ("text without text", _post([{"tag": "text"}]), ("'text'", "non-empty")),
    ("text with an empty text", _post([{"tag": "text", "text": ""}]), ("'text'",)),
    ("img without image_key", _post([{"tag": "img"}]), ("'image_key'",)),
    ("media without file_key", _post([{"tag": "media", "image_key": "img_1"}]), ("'file_key'",)),
    ("at without user_id", _post([{"tag": "at"}]), ("'user_id'",)),
    ("md without text", _post([{"tag": "md"}]), ("'text'",)),
    ("img in a text paragraph", _post([_TEXT, _IMG]), ("stand alone", "'img'")),
    ("hr in a text paragraph", _post([{"tag": "hr"}, _TEXT]), ("stand alone", "'hr'")),
    (
        "a relative href",
        _post([{"tag": "a", "text": "x", "href": "/wiki/page"}]),
        ("absolute URL", "/wiki/page"),
    ),
    ("a link without href", _post([{"tag": "a", "text": "x"}]), ("'href'",)),
    ("a title that is not a str", {"zh_cn": {"title": 1, "content": [[_TEXT]]}}, ("title",)),
]
POST_CALLS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "send": lambda m, post: m.send_rich_text_message(CHAT, post),
    "send_message": lambda m, post: m.send_message(CHAT, post, msg_type="post"),
    "reply": lambda m, post: m.reply_message("om_1", post, msg_type="post"),
    "edit": lambda m, post: m.edit_message("om_1", post),
    "batch": lambda m, post: m.send_batch(["ou_1", CHAT], post, msg_type="post"),
}


# Every bad post through send_rich_text_message; a few through every other call.
_POST_COMBOS = [(case, "send") for case in BAD_POSTS] + [
    (case, via)
    for via in POST_CALLS
    if via != "send"
    for case in BAD_POSTS
    if case[0] in ("no paragraph and no title", "img in a text paragraph", "a relative href")
]


@pytest.mark.parametrize(
    ("via", "post", "expected"),
    [(via, *case[1:]) for case, via in _POST_COMBOS],
    ids=[f"{via}-{case[0]}" for case, via in _POST_COMBOS],
)
def test_bad_post_dicts_are_refused_before_any_request(
    lark: Any, nothing_sent: None, via: str, post: dict[str, Any], expected: tuple[str, ...]
) -> None:
    with pytest.raises(errors.ValidationError) as info:
        POST_CALLS[via](lark.messaging, post)
    for fragment in expected:
        assert fragment in str(info.value), (fragment, str(info.value))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("call", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validation_error_and_zero_requests(
    lark: Any, tmp_path: Path, nothing_sent: None, call: Any, expected: tuple[str, ...]
) -> None:
    with pytest.raises(errors.ValidationError) as info:
        call(lark.messaging, tmp_path)
    for fragment in expected:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_builder_errors_are_validation_errors() -> None:
    with pytest.raises(errors.ValidationError, match="stand alone"):
        Post().paragraph({"tag": "img", "image_key": "img_1"})
    with pytest.raises(errors.ValidationError, match="absolute URL"):
        Post.link("x", "/relative")
    with pytest.raises(errors.ValidationError, match="header template"):
        Card("t", template="pink")  # type: ignore[arg-type]


def test_validation_error_is_a_value_error_with_a_field(lark: Any, nothing_sent: None) -> None:
    with pytest.raises(ValueError) as info:
        lark.messaging.send_image_message(CHAT, b"")
    assert isinstance(info.value, errors.ValidationError)
    assert info.value.field == "image"

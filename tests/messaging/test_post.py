"""Post builder and Markdown conversion (pure)."""

from __future__ import annotations

import pytest

from lark_service import errors
from lark_service.messaging import Post, markdown_to_post
from lark_service.messaging.post import post_from_dict


def test_builder_shapes() -> None:
    post = (
        Post("Title")
        .paragraph(Post.text("a", bold=True, italic=True, underline=True), Post.emotion("SMILE"))
        .image("img_1")
        .media("file_1", "img_cover")
        .markdown("**m**")
        .code_block("x = 1")
        .hr()
    )
    assert post.to_content() == {
        "zh_cn": {
            "title": "Title",
            "content": [
                [
                    {"tag": "text", "text": "a", "style": ["bold", "italic", "underline"]},
                    {"tag": "emotion", "emoji_type": "SMILE"},
                ],
                [{"tag": "img", "image_key": "img_1"}],
                [{"tag": "media", "file_key": "file_1", "image_key": "img_cover"}],
                [{"tag": "md", "text": "**m**"}],
                [{"tag": "code_block", "text": "x = 1"}],
                [{"tag": "hr"}],
            ],
        }
    }
    assert post.locales == ["zh_cn"]


def test_locales_and_empty_locales_are_dropped() -> None:
    post = Post("中文").paragraph("你好").locale("en_us").locale("ja_jp", "J").paragraph("x")
    assert set(post.to_content()) == {"zh_cn", "ja_jp"}
    with pytest.raises(errors.ValidationError, match="locale"):
        Post(locale="xx_yy")


def test_at_all_and_named() -> None:
    assert Post.at("all") == {"tag": "at", "user_id": "all"}
    assert Post.at("ou_1", "Ann") == {"tag": "at", "user_id": "ou_1", "user_name": "Ann"}


def test_post_from_dict_checks() -> None:
    good = {"en_us": {"title": "t", "content": [[{"tag": "a", "text": "x", "href": "https://y"}]]}}
    assert post_from_dict(good) == good
    # Everything the builder makes passes; a title alone is a post, as in the builder.
    built = Post("T").paragraph("a", Post.at("all")).image("img_1").code_block("").hr()
    assert post_from_dict(built.to_content()) == built.to_content()
    assert post_from_dict({"zh_cn": {"title": "only", "content": []}})
    # A hand-written element given to the builder gets the same checks.
    with pytest.raises(errors.ValidationError, match="absolute URL"):
        Post().paragraph({"tag": "a", "text": "x", "href": "docs/x"})
    with pytest.raises(errors.ValidationError, match="'text'"):
        Post().paragraph({"tag": "text"})
    with pytest.raises(errors.ValidationError, match="list of elements"):
        post_from_dict({"zh_cn": {"content": [{"tag": "text"}]}})
    with pytest.raises(errors.ValidationError, match="Post or a dict"):
        post_from_dict("text")  # type: ignore[arg-type]


def test_markdown_images_headings_and_fences() -> None:
    post = markdown_to_post(
        "Intro line\nsecond line\n\n![chart](img_v3_abc)\n\n### Details\n~~~\nraw\n~~~\n***"
    )
    assert post.to_content()["zh_cn"] == {
        "title": "",
        "content": [
            [{"tag": "md", "text": "Intro line\nsecond line"}],
            [{"tag": "img", "image_key": "img_v3_abc"}],
            [{"tag": "md", "text": "**Details**"}],
            [{"tag": "code_block", "text": "raw"}],
            [{"tag": "hr"}],
        ],
    }


def test_markdown_only_a_title() -> None:
    assert markdown_to_post("# Just a title").to_content() == {
        "zh_cn": {"title": "Just a title", "content": []}
    }

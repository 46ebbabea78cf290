"""Every message type against the emulator, through the sync and the async client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lark_service import errors
from lark_service.cards import Card, button, template_card
from lark_service.messaging import Message, Post
from lark_service.testing import Emulator

from .conftest import CHAT, GIF, JPEG, MP4, OPUS, PDF, PNG


def stored(emu: Emulator, message: Message) -> Any:
    (found,) = [m for m in emu.messages() if m.message_id == message.message_id]
    return found


def test_text_to_each_receiver_type(lark: Any, emu: Emulator, alice: str) -> None:
    user = emu.state.get_user("alice")
    assert user is not None
    receivers = {
        "open_id": alice,
        "union_id": user.union_id,
        "email": "alice@example.com",
        "user_id": "alice",
        "chat_id": CHAT,
    }
    for id_type, receive_id in receivers.items():
        message = lark.messaging.send_text_message(receive_id, "您有新的工单待处理")
        assert message.message_id.startswith("om_")
        assert message.request_id and message.log_id
        record = stored(emu, message)
        assert record.receive_id_type == id_type  # inferred from the id
        assert record.content == {"text": "您有新的工单待处理"}
        assert record.uuid  # every send carries a uuid


def test_text_with_mentions_and_at_all(lark: Any, emu: Emulator, alice: str, bob: str) -> None:
    message = lark.messaging.send_text_message(
        CHAT, "deploy finished", mentions=[alice, bob], at_all=True
    )
    sent = stored(emu, message).content["text"]
    assert sent == (
        f'<at user_id="{alice}"></at> <at user_id="{bob}"></at> <at user_id="all"></at> '
        "deploy finished"
    )
    # Feishu answers with the mentions resolved, as @_user_N keys.
    assert json.loads(message.content or "")["text"] == "@_user_1 @_user_2 @_all deploy finished"
    assert [(m["key"], m["id"], m["name"]) for m in message.mentions or []] == [
        ("@_user_1", alice, "Alice"),
        ("@_user_2", bob, "Bob"),
    ]


def test_mentions_with_names(lark: Any, emu: Emulator, alice: str) -> None:
    message = lark.messaging.send_text_message(CHAT, "hi", mentions={alice: "Ally"})
    assert stored(emu, message).content["text"] == f'<at user_id="{alice}">Ally</at> hi'


def test_rich_text_post_builder_and_dict(lark: Any, emu: Emulator, alice: str) -> None:
    post = (
        Post("Release 1.4")
        .paragraph("Deployed by ", Post.at(alice), " — ", Post.link("notes", "https://x.test/n"))
        .paragraph(Post.text("bold", bold=True), Post.text("and struck", strikethrough=True))
        .markdown("**all green**")
        .code_block("make deploy", language="shell")
        .hr()
        .locale("en_us", "Release 1.4")
        .paragraph("Deployed.")
    )
    message = lark.messaging.send_rich_text_message(CHAT, post)
    content = stored(emu, message).content
    assert set(content) == {"zh_cn", "en_us"}
    assert content["zh_cn"]["title"] == "Release 1.4"
    rows = content["zh_cn"]["content"]
    assert rows[0][1] == {"tag": "at", "user_id": alice}
    assert rows[1][0] == {"tag": "text", "text": "bold", "style": ["bold"]}
    assert rows[2] == [{"tag": "md", "text": "**all green**"}]
    assert rows[3] == [{"tag": "code_block", "text": "make deploy", "language": "SHELL"}]
    assert rows[4] == [{"tag": "hr"}]

    as_dict = {"zh_cn": {"title": "T", "content": [[{"tag": "text", "text": "x"}]]}}
    again = lark.messaging.send_rich_text_message(CHAT, as_dict)
    assert stored(emu, again).content == as_dict
    # The {"post": ...} wrapper Feishu rejects is removed.
    wrapped = lark.messaging.send_rich_text_message(CHAT, {"post": as_dict})
    assert stored(emu, wrapped).content == as_dict


def test_markdown_message(lark: Any, emu: Emulator) -> None:
    text = "# Weekly report\n\nAll **green**.\n\n```python\nprint(1)\n```\n\n---\n\n- a\n- b\n"
    message = lark.messaging.send_markdown_message(CHAT, text)
    content = stored(emu, message).content["zh_cn"]
    assert content["title"] == "Weekly report"
    assert content["content"] == [
        [{"tag": "md", "text": "All **green**."}],
        [{"tag": "code_block", "text": "print(1)", "language": "PYTHON"}],
        [{"tag": "hr"}],
        [{"tag": "md", "text": "- a\n- b"}],
    ]
    titled = lark.messaging.send_markdown_message(CHAT, "plain", title="Given")
    assert stored(emu, titled).content["zh_cn"]["title"] == "Given"


@pytest.mark.parametrize("data", [PNG, JPEG, GIF], ids=["png", "jpeg", "gif"])
def test_image_from_bytes_uploads_then_sends(lark: Any, emu: Emulator, data: bytes) -> None:
    message = lark.messaging.send_image_message(CHAT, data)
    key = stored(emu, message).content["image_key"]
    assert key.startswith("img_")
    paths = [r.path for r in emu.requests() if "/auth/" not in r.path]
    assert paths == ["/open-apis/im/v1/images", "/open-apis/im/v1/messages"]


def test_image_from_path_and_by_key(lark: Any, emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "chart.bin"  # the name says nothing: the content is a PNG
    path.write_bytes(PNG)
    first = lark.messaging.send_image_message(CHAT, path)
    key = stored(emu, first).content["image_key"]
    by_key = lark.messaging.send_image_message(CHAT, key)
    assert stored(emu, by_key).content == {"image_key": key}
    uploads = [r for r in emu.requests() if r.path == "/open-apis/im/v1/images"]
    assert len(uploads) == 1  # the key is sent as is


def test_upload_image_returns_an_asset(lark: Any) -> None:
    asset = lark.messaging.upload_image(JPEG)
    assert asset.image_key.startswith("img_")
    assert (asset.image_format, asset.size) == ("jpeg", len(JPEG))
    assert asset.request_id


@pytest.mark.parametrize(
    ("data", "name", "file_type"),
    [
        (PDF, "report.pdf", "pdf"),
        (MP4, "clip", "mp4"),
        (OPUS, "voice", "opus"),
        (b"a,b\n", "t.csv", "stream"),
    ],
)
def test_file_from_path_detects_the_type(
    lark: Any, emu: Emulator, tmp_path: Path, data: bytes, name: str, file_type: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    message = lark.messaging.send_file_message(CHAT, path)
    key = stored(emu, message).content["file_key"]
    from lark_service.testing.emulator.routes_im import im_state

    upload = im_state(emu).uploads[key]
    assert (upload.file_type, upload.file_name, upload.data) == (file_type, name, data)


def test_file_from_bytes_with_a_name_and_by_key(lark: Any, emu: Emulator) -> None:
    asset = lark.messaging.upload_file(PDF, file_name="q3.pdf")
    assert (asset.file_type, asset.file_name, asset.size) == ("pdf", "q3.pdf", len(PDF))
    message = lark.messaging.send_file_message(CHAT, asset.file_key)
    assert stored(emu, message).content == {"file_key": asset.file_key}
    named = lark.messaging.send_file_message(CHAT, b"plain bytes", file_name="notes.txt")
    assert stored(emu, named).msg_type == "file"


def test_interactive_card_every_form(lark: Any, emu: Emulator) -> None:
    builder = (
        Card("Deploy", template="green")
        .markdown("**ok**")
        .buttons(button("Open", url="https://ci.test/1"), button("Undo", value={"action": "undo"}))
    )
    v1 = {"config": {"update_multi": True}, "elements": [{"tag": "markdown", "content": "v1"}]}
    v2 = {"schema": "2.0", "body": {"elements": [{"tag": "markdown", "content": "v2"}]}}
    template = template_card("AAqkz9", {"name": "Alice"}, version="1.0.0")
    entity = {"type": "card", "data": {"card_id": "7355372766134157313"}}
    for card in (builder, v1, v2, template, entity, json.dumps(v1)):
        message = lark.messaging.send_interactive_card(CHAT, card)
        record = stored(emu, message)
        assert record.msg_type == "interactive"
    contents = [m.content for m in emu.messages(msg_type="interactive")]
    assert contents[0] == builder.build()
    assert contents[1:5] == [v1, v2, template, entity]
    assert template == {
        "type": "template",
        "data": {
            "template_id": "AAqkz9",
            "template_version_name": "1.0.0",
            "template_variable": {"name": "Alice"},
        },
    }


def test_cards_client_templates_send(lark: Any, emu: Emulator) -> None:
    card = lark.cards.notification_card("Disk", "90% full", level="warning", fields={"host": "db1"})
    message = lark.messaging.send_interactive_card(CHAT, card)
    assert stored(emu, message).content["header"]["template"] == "orange"


def test_send_message_generic_share_chat(lark: Any, emu: Emulator) -> None:
    message = lark.messaging.send_message(CHAT, CHAT, msg_type="share_chat")
    assert stored(emu, message).content == {"chat_id": CHAT}


def test_audio_and_video_are_uploaded_as_opus_and_mp4(lark: Any, emu: Emulator) -> None:
    audio = lark.messaging.send_message(CHAT, OPUS, msg_type="audio")
    video = lark.messaging.send_message(CHAT, MP4, msg_type="media")
    from lark_service.testing.emulator.routes_im import im_state

    uploads = im_state(emu).uploads
    assert uploads[stored(emu, audio).content["file_key"]].file_type == "opus"
    assert uploads[stored(emu, video).content["file_key"]].file_type == "mp4"


def test_audio_of_the_wrong_kind_is_refused_before_any_request(lark: Any, emu: Emulator) -> None:
    from lark_service import errors

    with pytest.raises(errors.ValidationError, match="needs an opus file"):
        lark.messaging.send_message(CHAT, PDF, msg_type="audio")
    assert emu.requests() == []


def test_a_callers_uuid_is_feishus_dedup_key_and_is_checked(client: Any, emu: Emulator) -> None:
    # the caller's uuid (a job id, an Idempotency-Key) makes a repeated send a no-op at Feishu
    first = client.messaging.send_text_message(CHAT, "once", uuid="job-42")
    again = client.messaging.send_text_message(CHAT, "once", uuid="job-42")
    assert again.message_id == first.message_id
    assert len(emu.messages()) == 1
    with pytest.raises(errors.ValidationError):
        client.messaging.send_text_message(CHAT, "x", uuid="u" * 51)

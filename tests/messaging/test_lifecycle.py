"""Reply, edit, card update, recall, read and resource downloads against the emulator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lark_service import errors
from lark_service.cards import Card
from lark_service.messaging import Post
from lark_service.testing import Emulator

from .conftest import CHAT, PDF, PNG


def test_reply_as_text_and_in_thread(lark: Any, emu: Emulator) -> None:
    root = lark.messaging.send_text_message(CHAT, "incident #7")
    reply = lark.messaging.reply_message(root.message_id, "on it")
    assert (reply.parent_id, reply.root_id, reply.thread_id) == (
        root.message_id,
        root.message_id,
        None,
    )
    threaded = lark.messaging.reply_message(
        reply.message_id,
        Card("Status").markdown("mitigated"),
        msg_type="interactive",
        reply_in_thread=True,
    )
    assert threaded.root_id == root.message_id
    assert threaded.parent_id == reply.message_id
    assert threaded.thread_id and threaded.thread_id.startswith("omt_")
    assert threaded.chat_id == root.chat_id == CHAT
    assert [m.msg_type for m in emu.messages(chat_id=CHAT)] == ["text", "text", "interactive"]


def test_reply_with_an_image_uploads_it(lark: Any, emu: Emulator) -> None:
    root = lark.messaging.send_text_message(CHAT, "chart?")
    reply = lark.messaging.reply_message(root.message_id, PNG, msg_type="image")
    assert json.loads(reply.content or "{}")["image_key"].startswith("img_")


def test_edit_text_and_post_up_to_twenty_times(lark: Any, emu: Emulator) -> None:
    message = lark.messaging.send_text_message(CHAT, "draft 0")
    for n in range(1, 20):
        edited = lark.messaging.edit_message(message.message_id, f"draft {n}")
        assert edited.updated is True
    last = lark.messaging.edit_message(message.message_id, Post("Final").paragraph("draft 20"))
    assert last.msg_type == "post"
    assert emu.state.get_message(message.message_id).attrs["edit_count"] == 20  # type: ignore[union-attr]
    # Feishu's edit page: 230072 once the 20 edits are used up (a state conflict, not a bad
    # parameter)
    with pytest.raises(errors.ConflictError) as info:
        lark.messaging.edit_message(message.message_id, "draft 21")
    assert info.value.code == 230072 and "20" in info.value.msg
    got = lark.messaging.get_message(message.message_id)
    assert json.loads(got.content or "{}")["zh_cn"]["title"] == "Final"


def test_edit_a_card_is_refused(lark: Any) -> None:
    card = lark.messaging.send_interactive_card(CHAT, Card("x").markdown("y"))
    with pytest.raises(errors.InvalidParameterError) as info:
        lark.messaging.edit_message(card.message_id, "text now")
    assert info.value.code == 230054


def test_update_card_needs_a_shared_card(lark: Any, emu: Emulator) -> None:
    shared = lark.messaging.send_interactive_card(CHAT, Card("Build").markdown("running"))
    receipt = lark.messaging.update_card(shared.message_id, Card("Build").markdown("passed"))
    assert receipt.message_id == shared.message_id and receipt.request_id
    got = lark.messaging.get_message(shared.message_id)
    assert got.updated is True
    assert json.loads(got.content or "{}")["body"]["elements"][0]["content"] == "passed"

    # A v1 card sent without update_multi cannot be updated (Feishu needs it before and after).
    private = lark.messaging.send_interactive_card(
        CHAT, {"elements": [{"tag": "markdown", "content": "v1"}]}
    )
    with pytest.raises(errors.InvalidParameterError) as info:
        lark.messaging.update_card(private.message_id, Card("x").markdown("y"))
    assert info.value.code == 230001 and "update_multi" in info.value.msg

    text = lark.messaging.send_text_message(CHAT, "not a card")
    with pytest.raises(errors.InvalidParameterError) as info:
        lark.messaging.update_card(text.message_id, Card("x").markdown("y"))
    assert info.value.code == 230054


def test_update_card_after_fourteen_days_is_refused(lark: Any, emu: Emulator) -> None:
    card = lark.messaging.send_interactive_card(CHAT, Card("old").markdown("x"))
    emu.advance_clock(15 * 86_400)
    with pytest.raises(errors.APIError) as info:
        lark.messaging.update_card(card.message_id, Card("new").markdown("y"))
    assert info.value.code == 230031


def test_recall_then_every_operation_answers_230011(lark: Any) -> None:
    message = lark.messaging.send_text_message(CHAT, "oops")
    receipt = lark.messaging.recall_message(message.message_id)
    assert receipt.message_id == message.message_id
    assert lark.messaging.get_message(message.message_id).deleted is True
    with pytest.raises(errors.NotFoundError) as recalled_again:  # the recall page's 230110
        lark.messaging.recall_message(message.message_id)
    assert recalled_again.value.code == 230110
    for call in (
        lambda: lark.messaging.edit_message(message.message_id, "fixed"),
        lambda: lark.messaging.reply_message(message.message_id, "re"),
        lambda: lark.messaging.update_card(message.message_id, Card("x").markdown("y")),
    ):
        with pytest.raises(errors.NotFoundError) as info:
            call()
        assert info.value.code == 230011
        assert "recalled" in (info.value.hint or "")


def test_another_apps_message_cannot_be_edited_or_recalled(lark: Any, emu: Emulator) -> None:
    from lark_service import LarkClient

    emu.add_app("cli_other", "other")
    with LarkClient("cli_other", "other", base_url=emu.url) as other:
        theirs = other.messaging.send_text_message(CHAT, "mine")
    # the recall page's 230026 and the edit page's 230071 (on a reply 230071 means something
    # else: the mapping is per endpoint)
    for call, code in (
        (lambda: lark.messaging.recall_message(theirs.message_id), 230026),
        (lambda: lark.messaging.edit_message(theirs.message_id, "x"), 230071),
    ):
        with pytest.raises(errors.PermissionDeniedError) as info:
            call()
        assert info.value.code == code


def test_unknown_message_id(lark: Any) -> None:
    with pytest.raises(errors.InvalidParameterError) as info:
        lark.messaging.get_message("om_doesnotexist")
    assert info.value.code == 230001


def test_get_message_reads_what_was_sent(lark: Any, emu: Emulator) -> None:
    sent = lark.messaging.send_text_message(CHAT, "hello")
    got = lark.messaging.get_message(sent.message_id)
    assert got.message_id == sent.message_id
    assert json.loads(got.content or "{}") == {"text": "hello"}
    assert got.sender is not None and got.sender.sender_type == "app"
    assert got.create_time == sent.create_time


def test_downloads_of_uploads_and_message_resources(lark: Any, emu: Emulator) -> None:
    image = lark.messaging.upload_image(PNG)
    file = lark.messaging.upload_file(PDF, file_name="季度报告.pdf")

    got_image = lark.messaging.download_image(image.image_key)
    assert got_image.content == PNG and got_image.content_type == "image/png"
    got_file = lark.messaging.download_file(file.file_key)
    assert (got_file.content, got_file.file_name, got_file.size) == (PDF, "季度报告.pdf", len(PDF))

    image_message = lark.messaging.send_image_message(CHAT, image.image_key)
    resource = lark.messaging.download_message_resource(
        image_message.message_id, image.image_key, resource_type="image"
    )
    assert resource.content == PNG
    file_message = lark.messaging.send_file_message(CHAT, file.file_key)
    assert (
        lark.messaging.download_message_resource(file_message.message_id, file.file_key).content
        == PDF
    )
    # A key that is not in the message, and card resources, are refused.
    with pytest.raises(errors.InvalidParameterError) as info:
        lark.messaging.download_message_resource(file_message.message_id, image.image_key)
    assert info.value.code == 234001
    card = lark.messaging.send_interactive_card(CHAT, Card("c").image(image.image_key))
    with pytest.raises(errors.InvalidParameterError) as info:
        lark.messaging.download_message_resource(
            card.message_id, image.image_key, resource_type="image"
        )
    assert info.value.code == 234043


def test_another_apps_upload_cannot_be_sent_or_downloaded(lark: Any, emu: Emulator) -> None:
    from lark_service import LarkClient

    emu.add_app("cli_other", "other")
    with LarkClient("cli_other", "other", base_url=emu.url) as other:
        theirs = other.messaging.upload_image(PNG)
    with pytest.raises(errors.InvalidParameterError) as info:
        lark.messaging.send_image_message(CHAT, theirs.image_key)
    assert info.value.code == 230001
    with pytest.raises(errors.PermissionDeniedError) as denied:
        lark.messaging.download_image(theirs.image_key)
    assert denied.value.code == 234002

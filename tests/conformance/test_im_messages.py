"""IM messages: the official lark-oapi client drives the emulator's send, reply, edit,
card update, recall and get; its requests are accepted and the answers parse into its models."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest

from lark_service.cards import Card
from lark_service.testing.emulator.server import Emulator

CHAT = "oc_imconf"
_uuids = itertools.count()


@pytest.fixture
def im(official: Callable[..., Any], lark_emulator: Emulator) -> Any:
    """An official client whose bot is in ``oc_imconf``, with alice seeded."""
    lark_emulator.add_chat(CHAT, "IM conformance")
    lark_emulator.add_user("alice", name="Alice", email="alice@example.com")
    return official()


def create(client: Any, msg_type: str, content: dict[str, Any], receive_id: str = CHAT) -> Any:
    from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody

    request = (
        CreateMessageRequest.builder()
        .receive_id_type("chat_id" if receive_id.startswith("oc_") else "open_id")
        .request_body(
            CreateMessageRequestBody.builder()
            .receive_id(receive_id)
            .msg_type(msg_type)
            .content(json.dumps(content, ensure_ascii=False))
            .uuid(f"conf-{next(_uuids)}")
            .build()
        )
        .build()
    )
    response = client.im.v1.message.create(request)
    assert response.success(), (response.code, response.msg)
    return response


def test_create_each_content_type_parses(im: Any, lark_emulator: Emulator) -> None:
    card = Card("Conformance").markdown("**ok**").build()
    post = {"zh_cn": {"title": "T", "content": [[{"tag": "text", "text": "p"}]]}}
    for msg_type, content in (("text", {"text": "hi"}), ("post", post), ("interactive", card)):
        data = create(im, msg_type, content).data
        assert data.msg_type == msg_type
        assert json.loads(data.body.content) == content
        assert data.chat_id == CHAT
        assert data.deleted is False and data.updated is False
        assert data.sender.id_type == "app_id"
    assert [m.msg_type for m in lark_emulator.messages(chat_id=CHAT)] == [
        "text",
        "post",
        "interactive",
    ]


def test_create_with_mentions_parses_mention_models(im: Any, lark_emulator: Emulator) -> None:
    open_id = lark_emulator.open_id("alice", im._config.app_id)
    text = f'<at user_id="{open_id}"></at> <at user_id="all"></at> look'
    data = create(im, "text", {"text": text}).data
    assert json.loads(data.body.content)["text"] == "@_user_1 @_all look"
    (mention,) = data.mentions
    assert (mention.key, mention.id, mention.id_type, mention.name) == (
        "@_user_1",
        open_id,
        "open_id",
        "Alice",
    )


def test_reply_in_thread(im: Any) -> None:
    from lark_oapi.api.im.v1 import ReplyMessageRequest, ReplyMessageRequestBody

    root = create(im, "text", {"text": "root"}).data
    response = im.im.v1.message.reply(
        ReplyMessageRequest.builder()
        .message_id(root.message_id)
        .request_body(
            ReplyMessageRequestBody.builder()
            .content(json.dumps({"text": "re"}))
            .msg_type("text")
            .reply_in_thread(True)
            .uuid("conf-reply-1")
            .build()
        )
        .build()
    )
    assert response.success(), (response.code, response.msg)
    assert response.data.parent_id == root.message_id
    assert response.data.root_id == root.message_id
    assert response.data.thread_id.startswith("omt_")


def test_update_text_then_get(im: Any) -> None:
    from lark_oapi.api.im.v1 import (
        GetMessageRequest,
        UpdateMessageRequest,
        UpdateMessageRequestBody,
    )

    sent = create(im, "text", {"text": "v1"}).data
    updated = im.im.v1.message.update(
        UpdateMessageRequest.builder()
        .message_id(sent.message_id)
        .request_body(
            UpdateMessageRequestBody.builder()
            .msg_type("text")
            .content(json.dumps({"text": "v2"}))
            .build()
        )
        .build()
    )
    assert updated.success(), (updated.code, updated.msg)
    assert updated.data.updated is True
    got = im.im.v1.message.get(GetMessageRequest.builder().message_id(sent.message_id).build())
    assert got.success()
    (item,) = got.data.items
    assert json.loads(item.body.content) == {"text": "v2"}
    assert item.message_id == sent.message_id and item.updated is True


def test_patch_shared_card_and_refuse_unshared(im: Any) -> None:
    from lark_oapi.api.im.v1 import PatchMessageRequest, PatchMessageRequestBody

    def patch(message_id: str, card: dict[str, Any]) -> Any:
        return im.im.v1.message.patch(
            PatchMessageRequest.builder()
            .message_id(message_id)
            .request_body(PatchMessageRequestBody.builder().content(json.dumps(card)).build())
            .build()
        )

    shared = create(im, "interactive", Card("a").markdown("1").build()).data
    ok = patch(shared.message_id, Card("a").markdown("2").build())
    assert ok.success(), (ok.code, ok.msg)
    unshared = create(im, "interactive", {"elements": [{"tag": "hr"}]}).data
    refused = patch(unshared.message_id, Card("a").markdown("2").build())
    assert not refused.success() and refused.code == 230001
    assert "update_multi" in refused.msg


def test_delete_then_operations_answer_230110(im: Any) -> None:
    """A second recall: the recall page's 230110 (the message is deleted)."""
    from lark_oapi.api.im.v1 import DeleteMessageRequest, GetMessageRequest

    sent = create(im, "text", {"text": "gone"}).data
    deleted = im.im.v1.message.delete(
        DeleteMessageRequest.builder().message_id(sent.message_id).build()
    )
    assert deleted.success(), (deleted.code, deleted.msg)
    again = im.im.v1.message.delete(
        DeleteMessageRequest.builder().message_id(sent.message_id).build()
    )
    assert again.code == 230110
    got = im.im.v1.message.get(GetMessageRequest.builder().message_id(sent.message_id).build())
    assert got.success() and got.data.items[0].deleted is True


def test_async_create_and_get(im: Any) -> None:
    import asyncio

    from lark_oapi.api.im.v1 import GetMessageRequest

    sent = create(im, "text", {"text": "async"}).data

    async def run() -> Any:
        return await im.im.v1.message.aget(
            GetMessageRequest.builder().message_id(sent.message_id).build()
        )

    got = asyncio.run(run())
    assert got.success() and got.data.items[0].message_id == sent.message_id


def test_rate_limit_answer_parses(im: Any, lark_emulator: Emulator) -> None:
    from lark_service.testing.emulator.routes_im import im_state

    im_state(lark_emulator).set_rate_limits(per_receiver=1, window=60)
    create(im, "text", {"text": "first"})
    from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody

    response = im.im.v1.message.create(
        CreateMessageRequest.builder()
        .receive_id_type("chat_id")
        .request_body(
            CreateMessageRequestBody.builder()
            .receive_id(CHAT)
            .msg_type("text")
            .content(json.dumps({"text": "second"}))
            .build()
        )
        .build()
    )
    assert response.code == 230020
    # IM's own per-receiver code: not the gateway's, so no x-ogw-ratelimit-* headers.
    assert "x-ogw-ratelimit-reset" not in {k.lower() for k in response.raw.headers}


def test_edit_and_recall_refusals_parse_with_the_documented_codes(
    im: Any, official: Callable[..., Any], lark_emulator: Emulator
) -> None:
    from lark_oapi.api.im.v1 import (
        DeleteMessageRequest,
        UpdateMessageRequest,
        UpdateMessageRequestBody,
    )

    def update(client: Any, message_id: str) -> Any:
        return client.im.v1.message.update(
            UpdateMessageRequest.builder()
            .message_id(message_id)
            .request_body(
                UpdateMessageRequestBody.builder().msg_type("text").content('{"text":"e"}').build()
            )
            .build()
        )

    def delete(client: Any, message_id: str) -> Any:
        return client.im.v1.message.delete(
            DeleteMessageRequest.builder().message_id(message_id).build()
        )

    theirs = create(official(), "text", {"text": "theirs"}).data.message_id
    assert update(im, theirs).code == 230071
    assert delete(im, theirs).code == 230026
    mine = create(im, "text", {"text": "mine"}).data.message_id
    for _ in range(20):
        assert update(im, mine).success()
    assert update(im, mine).code == 230072
    from lark_service.testing.emulator.routes_im import im_state

    im_state(lark_emulator).set_message_windows(edit=60, recall=60)  # the SDK's token lives on
    old = create(im, "text", {"text": "old"}).data.message_id
    lark_emulator.advance_clock(61)
    refused = delete(im, old)
    assert refused.code == 230009 and refused.get_log_id()
    assert update(im, old).code == 230075

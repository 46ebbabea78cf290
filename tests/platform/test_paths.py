"""Ids that would change the endpoint (issue 10.4): every id reaching a path is checked by the
one path builder, with a ValidationError before any request reaches Feishu."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lark_service import LarkClient, errors
from lark_service.testing import Emulator

BAD_IDS = [
    pytest.param(".", id="dot"),
    pytest.param("..", id="dotdot"),
    pytest.param("a/b", id="slash"),
    pytest.param("a/../b", id="dotdot-segment"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("\x00", id="nul"),
    pytest.param("ok\nnext", id="newline"),
    pytest.param("x" * 100_000, id="100k"),
    pytest.param("\ud800", id="lone-surrogate"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
]

Call = Callable[[LarkClient, Any], Any]

CALLS: list[Any] = [
    pytest.param(lambda c, v: c.chats.get_chat(v), id="chats.get_chat"),
    pytest.param(lambda c, v: c.chats.get_chat_members(v), id="chats.get_chat_members"),
    pytest.param(lambda c, v: c.messaging.get_message(v), id="messaging.get_message"),
    pytest.param(lambda c, v: c.messaging.recall_message(v), id="messaging.recall_message"),
    pytest.param(lambda c, v: c.messaging.edit_message(v, "x"), id="messaging.edit_message"),
    pytest.param(lambda c, v: c.messaging.reply_message(v, "x"), id="messaging.reply_message"),
    pytest.param(lambda c, v: c.messaging.download_image(v), id="messaging.download_image"),
    pytest.param(lambda c, v: c.messaging.download_file(v), id="messaging.download_file"),
    pytest.param(
        lambda c, v: c.messaging.download_message_resource("om_1", v, resource_type="image"),
        id="messaging.download_message_resource.key",
    ),
    pytest.param(
        lambda c, v: c.messaging.download_message_resource(v, "img_1", resource_type="image"),
        id="messaging.download_message_resource.message",
    ),
    pytest.param(lambda c, v: c.contact.get_user(v), id="contact.get_user"),
    pytest.param(lambda c, v: c.contact.get_department(v), id="contact.get_department"),
    pytest.param(lambda c, v: c.contact.get_department_users(v), id="contact.department_users"),
]


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("call", CALLS)
def test_a_bad_id_is_refused_before_any_request(
    emu: Emulator, client: LarkClient, call: Call, bad: str
) -> None:
    with pytest.raises(errors.ValidationError):
        call(client, bad)
    assert emu.requests() == []


def test_get_chat_dot_does_not_list_chats(emu: Emulator, client: LarkClient) -> None:
    """The report: ``get_chat(".")`` answered with the chat list."""
    with pytest.raises(errors.ValidationError, match="chat_id"):
        client.chats.get_chat(".")
    assert emu.requests(path="/open-apis/im/v1/chats") == []


def test_ids_that_only_look_odd_are_encoded_not_refused(emu: Emulator, client: LarkClient) -> None:
    """``%2e%2e`` is an id, not a dot segment: it is sent percent-encoded (and Feishu says
    there is no such chat)."""
    with pytest.raises(errors.APIError):
        client.chats.get_chat("%2e%2e")
    (record,) = emu.requests(path="/open-apis/im/v1/chats/*")
    assert record.path.endswith("/%2e%2e") or record.path.endswith("/%252e%252e")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/open-apis/../x"),
        ("GET", "/open-apis/im/v1/chats/."),
        ("GET", "/open-apis/im/v1/chats/%2e%2e/members"),
        ("GET", "open-apis/im/v1/chats"),
        ("GET", "/open-apis/im/v1/chats?page_size=1"),
        ("GET", "/open-apis/im/v1/chats/\x00"),
        ("GET", "/open-apis/im/v1/chats/\ud800"),
        ("GET", "/open-apis/im/v1/chats/é"),
        ("GET", "/" + "x" * 100_000),
        ("GET", None),
        ("GET", b"/open-apis/im/v1/chats"),
        (None, "/open-apis/im/v1/chats"),
        ("BREW", "/open-apis/im/v1/chats"),
        ("G\x00ET", "/open-apis/im/v1/chats"),
    ],
)
def test_request_refuses_bad_methods_and_paths(
    emu: Emulator, client: LarkClient, method: Any, path: Any
) -> None:
    with pytest.raises(errors.ValidationError):
        client.request(method, path)
    assert emu.requests() == []

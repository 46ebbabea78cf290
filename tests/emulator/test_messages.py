"""POST /open-apis/im/v1/messages: receivers, validation, limits, uuid dedup."""

from __future__ import annotations

import json

import httpx
import pytest

from lark_service.testing import Emulator

from ._helpers import MESSAGES_PATH, assert_error, send, tenant_token


def _receiver(emu: Emulator, id_type: str) -> str:
    alice = emu.state.get_user("alice")
    assert alice is not None
    return {
        "open_id": emu.open_id("alice", "cli_demo"),
        "union_id": alice.union_id,
        "user_id": "alice",
        "email": "alice@example.com",
        "chat_id": "oc_demo",
    }[id_type]


@pytest.mark.parametrize("id_type", ["open_id", "union_id", "user_id", "email", "chat_id"])
def test_send_to_each_receive_id_type(
    emu: Emulator, http: httpx.Client, token: str, id_type: str
) -> None:
    receive_id = _receiver(emu, id_type)
    content = json.dumps({"text": "您有新的工单待处理"}, ensure_ascii=False)

    response = send(
        http, token, receive_id, id_type, content=content, headers={"X-Request-Id": "req-42"}
    )

    assert response.status_code == 200
    assert response.headers["x-tt-logid"]
    body = response.json()
    assert body["code"] == 0 and body["msg"] == "success"
    data = body["data"]
    assert data["message_id"].startswith("om_")
    assert data["msg_type"] == "text"
    assert data["body"] == {"content": content}
    assert data["sender"] == {
        "id": "cli_demo",
        "id_type": "app_id",
        "sender_type": "app",
        "tenant_key": emu.state.get_app("cli_demo").tenant_key,  # type: ignore[union-attr]
    }
    assert data["deleted"] is False and data["updated"] is False
    assert data["mentions"] == []
    assert isinstance(data["create_time"], str) and data["create_time"].isdigit()
    assert abs(int(data["create_time"]) - emu.now() * 1000) < 60_000
    assert data["update_time"] == data["create_time"]
    assert data["chat_id"].startswith("oc_")
    if id_type == "chat_id":
        assert data["chat_id"] == "oc_demo"

    [stored] = emu.messages()
    assert stored.message_id == data["message_id"]
    assert stored.app_id == "cli_demo"
    assert stored.receive_id == receive_id
    assert stored.receive_id_type == id_type
    assert stored.content == {"text": "您有新的工单待处理"}
    assert stored.chat_id == data["chat_id"]
    assert stored.request_id == "req-42"
    assert stored.create_time == int(data["create_time"])


def test_p2p_chat_id_is_stable_per_app_and_user(
    emu: Emulator, http: httpx.Client, token: str
) -> None:
    emu.add_app("cli_b", "b")
    other = tenant_token(http, "cli_b", "b")

    by_email = send(http, token, "alice@example.com", "email").json()["data"]["chat_id"]
    by_user_id = send(http, token, "alice", "user_id").json()["data"]["chat_id"]
    bob = send(http, token, "bob", "user_id").json()["data"]["chat_id"]
    other_app = send(http, other, "alice", "user_id").json()["data"]["chat_id"]

    assert by_email == by_user_id
    assert len({by_email, bob, other_app}) == 3
    assert [m.chat_id for m in emu.messages(receive_id="alice")] == [by_user_id, other_app]
    assert emu.state.get_chat(by_email).chat_type == "p2p"  # type: ignore[union-attr]


def test_open_id_differs_per_app_and_crossing_apps_is_refused(
    emu: Emulator, http: httpx.Client, token: str
) -> None:
    emu.add_app("cli_b", "b")
    other = tenant_token(http, "cli_b", "b")
    demo_open_id = emu.open_id("alice", "cli_demo")

    assert emu.open_id("alice", "cli_b") != demo_open_id
    assert demo_open_id.startswith("ou_")
    body = assert_error(send(http, other, demo_open_id, "open_id"), 99992361)
    assert body["msg"] == "open_id cross app"
    assert send(http, other, emu.open_id("alice", "cli_b"), "open_id").json()["code"] == 0


def test_seeded_open_ids_win(emu: Emulator, http: httpx.Client, token: str) -> None:
    emu.add_user("dave", open_id="ou_dave_everywhere", open_ids={"cli_demo": "ou_dave_demo"})
    emu.add_app("cli_b", "b")

    assert emu.open_id("dave", "cli_demo") == "ou_dave_demo"
    assert emu.open_id("dave", "cli_b") == "ou_dave_everywhere"
    assert send(http, token, "ou_dave_demo", "open_id").json()["code"] == 0
    assert_error(send(http, token, "ou_dave_everywhere", "open_id"), 99992361)


@pytest.mark.parametrize(
    ("receive_id", "id_type", "code"),
    [
        ("ou_00000000000000000000000000000000", "open_id", 99992351),
        ("nobody", "user_id", 99992352),
        ("on_00000000000000000000000000000000", "union_id", 99992353),
        ("nobody@example.com", "email", 230001),
        ("oc_nope", "chat_id", 230001),
    ],
)
def test_unknown_receiver(
    http: httpx.Client, token: str, receive_id: str, id_type: str, code: int
) -> None:
    assert_error(send(http, token, receive_id, id_type), code)


def test_bot_not_in_the_chat_answers_230002(emu: Emulator, http: httpx.Client, token: str) -> None:
    emu.add_chat("oc_private", "Private", members=["alice"], bot_app_ids=["cli_other"])
    emu.add_chat("oc_ours", "Ours", members=["alice"], bot_app_ids=["cli_demo"])

    assert_error(send(http, token, "oc_private", "chat_id"), 230002)
    assert send(http, token, "oc_ours", "chat_id").json()["code"] == 0
    assert [m.chat_id for m in emu.messages()] == ["oc_ours"]


@pytest.mark.parametrize(
    ("receive_id_type", "msg_type", "content"),
    [
        (None, "text", {"text": "x"}),
        ("phone", "text", {"text": "x"}),
        ("user_id", "telegram", {"text": "x"}),
        ("user_id", "text", "not json"),
        ("user_id", "text", '["a", "list"]'),
        ("user_id", "text", '{"no_text": 1}'),
        ("user_id", "post", {"post": {"zh_cn": {"title": "t", "content": [[]]}}}),
        ("user_id", "post", {"zh_cn": {"title": "no content"}}),
        ("user_id", "image", {"file_key": "x"}),
        ("user_id", "interactive", {}),
    ],
)
def test_invalid_parameters_answer_230001(
    http: httpx.Client, token: str, receive_id_type: str | None, msg_type: str, content: object
) -> None:
    response = send(http, token, "alice", receive_id_type, msg_type=msg_type, content=content)
    body = assert_error(response, 230001)
    assert body["msg"].startswith("Your request contains an invalid request parameter")


def test_content_must_be_a_string_not_an_object(http: httpx.Client, token: str) -> None:
    response = http.post(
        MESSAGES_PATH,
        params={"receive_id_type": "user_id"},
        json={"receive_id": "alice", "msg_type": "text", "content": {"text": "x"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_error(response, 230001)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"msg_type": "text", "content": "{}"}'])
def test_bad_bodies_answer_230001(http: httpx.Client, token: str, body: bytes) -> None:
    response = http.post(
        MESSAGES_PATH,
        params={"receive_id_type": "user_id"},
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert_error(response, 230001)


def test_valid_post_and_card_are_accepted(emu: Emulator, http: httpx.Client, token: str) -> None:
    post = {"zh_cn": {"title": "T", "content": [[{"tag": "text", "text": "a"}]]}}
    card = {"config": {"update_multi": True}, "elements": [{"tag": "markdown", "content": "x"}]}

    assert (
        send(http, token, "oc_demo", "chat_id", msg_type="post", content=post).json()["code"] == 0
    )
    assert (
        send(http, token, "oc_demo", "chat_id", msg_type="interactive", content=card).json()["code"]
        == 0
    )
    assert [m.msg_type for m in emu.messages(chat_id="oc_demo")] == ["post", "interactive"]


def test_text_body_limit_is_150_kb(emu: Emulator, http: httpx.Client, token: str) -> None:
    assert (
        send(http, token, "alice", "user_id", content={"text": "a" * 140_000}).json()["code"] == 0
    )
    response = send(http, token, "alice", "user_id", content={"text": "a" * 150 * 1024})
    assert_error(response, 230025)
    assert len(emu.messages()) == 1


@pytest.mark.parametrize("msg_type", ["post", "interactive"])
def test_post_and_card_body_limit_is_30_kb(http: httpx.Client, token: str, msg_type: str) -> None:
    small = {"zh_cn": {"title": "t", "content": [[{"tag": "text", "text": "a" * 20_000}]]}}
    big = {"zh_cn": {"title": "t", "content": [[{"tag": "text", "text": "a" * 31_000}]]}}

    ok = send(http, token, "alice", "user_id", msg_type=msg_type, content=small)
    assert ok.json()["code"] == 0
    assert_error(send(http, token, "alice", "user_id", msg_type=msg_type, content=big), 230025)


def test_uuid_dedups_within_one_hour(emu: Emulator, http: httpx.Client, token: str) -> None:
    first = send(http, token, "alice", "user_id", uuid="u-1").json()["data"]
    again = send(http, token, "alice", "user_id", uuid="u-1").json()["data"]

    assert again == first
    assert len(emu.messages()) == 1

    emu.advance_clock(3599)
    assert send(http, token, "alice", "user_id", uuid="u-1").json()["data"] == first
    assert len(emu.messages()) == 1


def test_uuid_does_not_dedup_after_one_hour(emu: Emulator, http: httpx.Client, token: str) -> None:
    first = send(http, token, "alice", "user_id", uuid="u-1").json()["data"]
    emu.advance_clock(3600)
    later = send(http, token, "alice", "user_id", uuid="u-1").json()["data"]

    assert later["message_id"] != first["message_id"]
    assert len(emu.messages()) == 2


def test_uuid_is_per_app(emu: Emulator, http: httpx.Client, token: str) -> None:
    emu.add_app("cli_b", "b")
    other = tenant_token(http, "cli_b", "b")
    a = send(http, token, "alice", "user_id", uuid="same").json()["data"]
    b = send(http, other, "alice", "user_id", uuid="same").json()["data"]

    assert a["message_id"] != b["message_id"]
    assert [m.uuid for m in emu.messages()] == ["same", "same"]


def test_uuid_longer_than_50_characters_is_refused(http: httpx.Client, token: str) -> None:
    assert_error(send(http, token, "alice", "user_id", uuid="x" * 51), 230001)
    assert send(http, token, "alice", "user_id", uuid="x" * 50).json()["code"] == 0


def test_every_response_has_its_own_log_id(http: httpx.Client, token: str) -> None:
    ids = {send(http, token, "alice", "user_id").headers["x-tt-logid"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/open-apis/nothing/here"),
        ("PUT", MESSAGES_PATH),
        ("GET", "/open-apis/auth/v3/tenant_access_token/internal"),
    ],
)
def test_unknown_path_or_method_is_a_plain_404(
    emu: Emulator, http: httpx.Client, token: str, method: str, path: str
) -> None:
    response = http.request(method, path, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 404
    assert response.json() == {"code": 404, "msg": "404 page not found"}
    assert response.headers["x-tt-logid"]
    assert emu.requests(path=path)[-1].status == 404

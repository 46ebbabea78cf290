"""The emulator's IM module driven with plain httpx: limits, uploads, controls, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lark_service.testing import Emulator
from lark_service.testing.emulator.routes_im import FILE_LIMIT, IMAGE_LIMIT, im_state

from .conftest import APP_ID, CHAT, PNG, SECRET

MESSAGES = "/open-apis/im/v1/messages"


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, timeout=30) as client:
        token = client.post(
            "/open-apis/auth/v3/tenant_access_token/internal",
            json={"app_id": APP_ID, "app_secret": SECRET},
        ).json()["tenant_access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def send(http: httpx.Client, receive_id: str = CHAT, **content: Any) -> httpx.Response:
    id_type = "chat_id" if receive_id.startswith("oc_") else "user_id"
    return http.post(
        MESSAGES,
        params={"receive_id_type": id_type},
        json={
            "receive_id": receive_id,
            "msg_type": "text",
            "content": json.dumps(content or {"text": "x"}),
        },
    )


def test_per_app_limit_has_reset_headers_per_receiver_limit_none(
    emu: Emulator, http: httpx.Client
) -> None:
    control = http.post(
        "/_emulator/im/rate_limits", json={"per_app": 3, "per_receiver": 2, "window": 30}
    )
    assert control.json() == {
        "per_app": 3,
        "per_receiver": 2,
        "window": 30.0,
        "per_app_per_minute": None,
    }
    assert [send(http).status_code for _ in range(2)] == [200, 200]

    limited = send(http)
    assert limited.status_code == 400
    assert limited.json()["code"] == 230020
    # Feishu's per-receiver limit comes without the gateway's rate-limit headers
    assert "x-ogw-ratelimit-limit" not in limited.headers
    assert "x-ogw-ratelimit-reset" not in limited.headers

    assert send(http, "alice").status_code == 200  # another receiver: the app has room for 1
    app_limited = send(http, "bob")
    assert (app_limited.status_code, app_limited.json()["code"]) == (429, 99991400)
    assert app_limited.headers["x-ogw-ratelimit-limit"] == "3"

    emu.advance_clock(31)  # the window has passed
    assert send(http, "bob").status_code == 200
    assert len(emu.messages()) == 4  # refused sends are not stored
    assert http.get("/_emulator/im/rate_limits").json()["per_app"] == 3
    bad = http.post("/_emulator/im/rate_limits", json={"per_app": 0})
    assert bad.status_code == 400


def test_per_minute_app_limit(emu: Emulator, http: httpx.Client) -> None:
    """Feishu's 1000 sends/min per app, scaled down: the 4th send within 60 s is refused
    with 99991400 and a reset header counting to when the oldest leaves the minute."""
    control = http.post("/_emulator/im/rate_limits", json={"per_app_per_minute": 3})
    assert control.json()["per_app_per_minute"] == 3
    receivers = ["alice", "bob", CHAT]
    for receiver in receivers:
        assert send(http, receiver).status_code == 200
        emu.advance_clock(10)
    limited = send(http, "alice")
    assert (limited.status_code, limited.json()["code"]) == (429, 99991400)
    assert limited.headers["x-ogw-ratelimit-limit"] == "3"
    assert 29 <= int(limited.headers["x-ogw-ratelimit-reset"]) <= 31
    emu.advance_clock(31)  # the first send left the minute: room for one
    assert send(http, "alice").status_code == 200
    assert send(http, "bob").status_code == 429
    assert len(emu.messages()) == 4
    bad = http.post("/_emulator/im/rate_limits", json={"per_app_per_minute": 0})
    assert bad.status_code == 400
    with pytest.raises(ValueError, match="per_app_per_minute"):
        im_state(emu).set_rate_limits(per_app_per_minute=True)  # type: ignore[arg-type]


def test_a_deduplicated_retry_is_not_rate_limited(emu: Emulator, http: httpx.Client) -> None:
    """A retry with a stored uuid sends nothing, so it is answered with the stored message
    even when the receiver's window is full (the dedup check comes before the limits)."""
    im_state(emu).set_rate_limits(per_receiver=2, window=60)
    params = {"receive_id_type": "chat_id"}
    send_body = {"receive_id": CHAT, "msg_type": "text", "content": '{"text":"x"}', "uuid": "s-1"}
    first = http.post(MESSAGES, params=params, json=send_body)
    root = first.json()["data"]["message_id"]
    reply_body = {"msg_type": "text", "content": '{"text":"r"}', "uuid": "r-1"}
    reply = http.post(f"{MESSAGES}/{root}/reply", json=reply_body)
    assert first.status_code == reply.status_code == 200  # the chat's window is now full

    send_retry = http.post(MESSAGES, params=params, json=send_body)
    reply_retry = http.post(f"{MESSAGES}/{root}/reply", json=reply_body)

    assert (send_retry.status_code, send_retry.json()["data"]["message_id"]) == (200, root)
    assert reply_retry.status_code == 200
    assert reply_retry.json()["data"]["message_id"] == reply.json()["data"]["message_id"]
    new = http.post(MESSAGES, params=params, json={**send_body, "uuid": "s-2"})
    assert new.json()["code"] == 230020  # a new send is still counted
    assert len(emu.messages()) == 2


def test_limits_are_off_by_default_and_reset_clears_them(emu: Emulator, http: httpx.Client) -> None:
    assert all(send(http).status_code == 200 for _ in range(12))
    im_state(emu).set_rate_limits(per_receiver=1)
    emu.reset()
    assert im_state(emu).limits.per_receiver is None


def _upload(http: httpx.Client, path: str, fields: dict[str, str], part: str, data: bytes) -> Any:
    return http.post(path, data=fields, files={part: ("f.bin", data)})


def test_upload_errors(http: httpx.Client) -> None:
    images = "/open-apis/im/v1/images"
    files = "/open-apis/im/v1/files"
    cases = [
        (images, {"image_type": "banner"}, "image", PNG, 234001),
        (images, {"image_type": "message"}, "picture", PNG, 234001),
        (images, {"image_type": "message"}, "image", b"", 234010),
        (images, {"image_type": "message"}, "image", PNG + b"\x00" * IMAGE_LIMIT, 234006),
        (files, {"file_type": "zip", "file_name": "a"}, "file", b"x", 234001),
        (files, {"file_type": "pdf"}, "file", b"x", 234001),
        (files, {"file_type": "stream", "file_name": "a"}, "file", b"x" * (FILE_LIMIT + 1), 234006),
    ]
    for path, fields, part, data, code in cases:
        response = _upload(http, path, fields, part, data)
        assert response.json()["code"] == code, (fields, part, response.text)
    not_multipart = http.post(images, json={"image_type": "message"})
    assert not_multipart.json()["code"] == 234001


def test_uploads_control_lists_them(emu: Emulator, http: httpx.Client) -> None:
    key = _upload(http, "/open-apis/im/v1/images", {"image_type": "message"}, "image", PNG).json()
    listed = http.get("/_emulator/im/uploads").json()["items"]
    assert [(u["key"], u["kind"], u["size"]) for u in listed] == [
        (key["data"]["image_key"], "image", len(PNG))
    ]


def test_audio_and_media_need_the_matching_upload(http: httpx.Client) -> None:
    pdf = _upload(
        http, "/open-apis/im/v1/files", {"file_type": "pdf", "file_name": "a.pdf"}, "file", b"%PDF-"
    ).json()["data"]["file_key"]
    response = http.post(
        MESSAGES,
        params={"receive_id_type": "chat_id"},
        json={"receive_id": CHAT, "msg_type": "audio", "content": json.dumps({"file_key": pdf})},
    )
    assert response.json()["code"] == 230055


def test_post_images_must_be_uploaded(http: httpx.Client) -> None:
    post = {"zh_cn": {"content": [[{"tag": "img", "image_key": "img_v3_unknown"}]]}}
    response = http.post(
        MESSAGES,
        params={"receive_id_type": "chat_id"},
        json={"receive_id": CHAT, "msg_type": "post", "content": json.dumps(post)},
    )
    assert response.json()["code"] == 230001


def test_dissolved_chat_answers_232009(emu: Emulator, http: httpx.Client) -> None:
    dissolve = getattr(emu.state, "dissolve_chat", None)
    if dissolve is None:
        pytest.skip("this emulator state has no dissolved chats")
    dissolve(CHAT)
    assert send(http).json()["code"] == 232009


def test_edits_and_updates_are_counted(emu: Emulator, http: httpx.Client) -> None:
    message_id = send(http).json()["data"]["message_id"]
    for n in range(3):
        edited = http.put(
            f"{MESSAGES}/{message_id}",
            json={"msg_type": "text", "content": json.dumps({"text": f"v{n}"})},
        )
        assert edited.json()["data"]["updated"] is True
    stored = emu.state.get_message(message_id)
    assert stored is not None and stored.attrs["edit_count"] == 3
    assert stored.content == {"text": "v2"}

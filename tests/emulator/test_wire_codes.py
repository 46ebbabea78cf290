"""Codes the emulator answers as Feishu's documentation gives them, endpoint by endpoint.

The edit page (PUT im/v1/messages/:id): 230071 not the sender, 230072 the edit limit, 230075
the edit window. The recall page (DELETE): 230026 not the sender, 230009 the recall window,
230110 the message is deleted. 230020 (per receiver) is IM's own code, without the gateway's
rate-limit headers. Contact: 43010 for a recursive walk of a big department.
"""

from __future__ import annotations

import httpx
import pytest

from lark_service.testing import Emulator
from lark_service.testing.emulator.routes_im import MAX_EDITS, im_state

from ._helpers import MESSAGES_PATH, tenant_token

CHAT = "oc_demo"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def send_text(http: httpx.Client, token: str, text: str = "hi") -> str:
    r = http.post(
        MESSAGES_PATH,
        params={"receive_id_type": "chat_id"},
        headers=auth(token),
        json={"receive_id": CHAT, "msg_type": "text", "content": f'{{"text":"{text}"}}'},
    )
    assert r.status_code == 200, r.text
    message_id: str = r.json()["data"]["message_id"]
    return message_id


def edit(http: httpx.Client, token: str, message_id: str, text: str = "edited") -> httpx.Response:
    return http.put(
        f"{MESSAGES_PATH}/{message_id}",
        headers=auth(token),
        json={"msg_type": "text", "content": f'{{"text":"{text}"}}'},
    )


def recall(http: httpx.Client, token: str, message_id: str) -> httpx.Response:
    return http.delete(f"{MESSAGES_PATH}/{message_id}", headers=auth(token))


def code(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, response.json()["code"]


@pytest.fixture
def other(emu: Emulator, http: httpx.Client) -> str:
    emu.add_app("cli_other", "other-secret")
    return tenant_token(http, "cli_other", "other-secret")


def test_another_senders_message_edit_230071_recall_230026(
    http: httpx.Client, token: str, other: str
) -> None:
    theirs = send_text(http, other)
    assert code(edit(http, token, theirs)) == (400, 230071)
    assert code(recall(http, token, theirs)) == (400, 230026)
    assert recall(http, other, theirs).status_code == 200  # the sender still can


def test_the_edit_after_the_last_allowed_is_230072(http: httpx.Client, token: str) -> None:
    mine = send_text(http, token)
    for n in range(MAX_EDITS):
        assert edit(http, token, mine, f"v{n}").status_code == 200
    assert code(edit(http, token, mine, "one too many")) == (400, 230072)


def test_windows_edit_230075_recall_230009(emu: Emulator, http: httpx.Client, token: str) -> None:
    mine = send_text(http, token)
    emu.advance_clock(86_400 + 1)  # Feishu's default window: one day
    token = tenant_token(http)  # the first one expired meanwhile
    assert code(edit(http, token, mine)) == (400, 230075)
    refused = recall(http, token, mine)
    assert code(refused) == (400, 230009)
    assert "one day" in refused.json()["msg"]

    im_state(emu).set_message_windows(edit=None, recall=None)  # the admin lifts both
    assert edit(http, token, mine).status_code == 200
    assert recall(http, token, mine).status_code == 200

    windows = http.post("/_emulator/im/message_windows", json={"edit": 60, "recall": 120})
    assert windows.json() == {"edit": 60.0, "recall": 120.0}
    young = send_text(http, token)
    emu.advance_clock(90)
    assert code(edit(http, token, young)) == (400, 230075)
    assert recall(http, token, young).status_code == 200
    assert http.post("/_emulator/im/message_windows", json={"edit": 0}).status_code == 400


def test_recalling_a_recalled_message_is_230110(http: httpx.Client, token: str) -> None:
    mine = send_text(http, token)
    assert recall(http, token, mine).status_code == 200
    assert code(recall(http, token, mine)) == (400, 230110)
    assert code(edit(http, token, mine)) == (400, 230011)  # other operations: recalled


def test_per_receiver_limit_230020_has_no_gateway_headers(
    emu: Emulator, http: httpx.Client, token: str
) -> None:
    im_state(emu).set_rate_limits(per_receiver=1, window=60)
    send_text(http, token)
    limited = http.post(
        MESSAGES_PATH,
        params={"receive_id_type": "chat_id"},
        headers=auth(token),
        json={"receive_id": CHAT, "msg_type": "text", "content": '{"text":"again"}'},
    )
    assert code(limited) == (400, 230020)
    assert not [h for h in limited.headers if h.lower().startswith("x-ogw-ratelimit")]

    im_state(emu).set_rate_limits(per_app=1, window=60)  # the gateway's limit keeps them
    send_text(http, token, "to the app's budget")
    app_limited = http.post(
        MESSAGES_PATH,
        params={"receive_id_type": "chat_id"},
        headers=auth(token),
        json={"receive_id": CHAT, "msg_type": "text", "content": '{"text":"x"}'},
    )
    assert code(app_limited) == (429, 99991400)
    assert app_limited.headers["x-ogw-ratelimit-reset"]


def test_a_big_department_refuses_a_recursive_walk_43010(
    emu: Emulator, http: httpx.Client, token: str
) -> None:
    emu.add_department("d1", "Engineering")
    for n in range(3):
        emu.add_department(f"d1-{n}", f"Team {n}", parent_department_id="d1")
    emu.add_department("d1-0-a", "Squad", parent_department_id="d1-0")
    children = "/open-apis/contact/v3/departments/{}/children"
    params = {"department_id_type": "department_id", "fetch_child": "true"}

    walk = http.get(children.format("d1"), params=params, headers=auth(token))
    assert walk.status_code == 200 and len(walk.json()["data"]["items"]) == 4  # no limit yet

    emu.set_department_recursion_limit(3)
    refused = http.get(children.format("d1"), params=params, headers=auth(token))
    assert code(refused) == (400, 43010)
    small = http.get(children.format("d1-0"), params=params, headers=auth(token))
    assert small.status_code == 200  # one sub-department: under the limit
    level = http.get(
        children.format("d1"), params={"department_id_type": "department_id"}, headers=auth(token)
    )
    assert level.status_code == 200 and len(level.json()["data"]["items"]) == 3  # one level

    assert http.post("/_emulator/contact/recursion_limit", json={"limit": None}).json() == {
        "limit": None
    }
    assert http.get(children.format("d1"), params=params, headers=auth(token)).status_code == 200

"""The emulator's contact and chat endpoints over plain HTTP: paging, limits, error envelopes,
the control API. (No state database involved.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lark_service.testing import Emulator

from ..emulator._helpers import assert_error, tenant_token

C = "/open-apis/contact/v3"


@pytest.fixture
def http(lark_emulator: Emulator) -> Iterator[httpx.Client]:
    lark_emulator.seed_demo()
    lark_emulator.seed_directory(users=60, departments=3, chats=2)
    with httpx.Client(base_url=lark_emulator.url, timeout=10) as client:
        token = tenant_token(client)
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _pages(http: httpx.Client, path: str, params: dict[str, Any]) -> list[list[Any]]:
    pages: list[list[Any]] = []
    token = None
    while True:
        query = dict(params, **({"page_token": token} if token else {}))
        data = http.get(path, params=query).json()["data"]
        pages.append(data["items"])
        if not data["has_more"]:
            assert data["page_token"] == ""
            return pages
        token = data["page_token"]


def test_find_by_department_pages(http: httpx.Client) -> None:
    pages = _pages(http, f"{C}/users/find_by_department", {"department_id": "0", "page_size": 2})
    assert [len(p) for p in pages] == [2, 1]  # alice, bob, carol in the root
    assert [u["user_id"] for p in pages for u in p] == ["alice", "bob", "carol"]
    assert pages[0][0]["department_ids"] == ["0"]

    response = http.get(f"{C}/users/find_by_department", params={"department_id": "0"})
    assert len(response.json()["data"]["items"]) == 3  # default page size 10


def test_paging_and_batch_errors(http: httpx.Client) -> None:
    path = f"{C}/users/find_by_department"
    assert_error(http.get(path, params={"department_id": "0", "page_size": 51}), 40011)
    assert_error(http.get(path, params={"department_id": "0", "page_size": 0}), 40011)
    assert_error(http.get(path, params={"department_id": "0", "page_token": "junk"}), 40012)
    other = http.get(f"{C}/departments/0/children", params={"page_size": 1}).json()["data"]
    assert_error(
        http.get(path, params={"department_id": "0", "page_token": other["page_token"]}), 40012
    )
    assert_error(http.get(path), 40001)
    too_many = [f"x{i}@example.com" for i in range(51)]
    assert_error(http.post(f"{C}/users/batch_get_id", json={"emails": too_many}), 40001)
    assert_error(http.post(f"{C}/users/batch_get_id", json={}), 40001)
    assert_error(http.get(f"{C}/users/ou_x", params={"user_id_type": "email"}), 40001)
    assert_error(http.get(f"{C}/users/ou_nobody"), 99992351)
    assert_error(http.get(f"{C}/users/nobody", params={"user_id_type": "user_id"}), 99992352)
    assert_error(http.get(f"{C}/departments/nope"), 40015)


def test_batch_get_id_answers_unknown_without_an_id(http: httpx.Client) -> None:
    body = {"emails": ["ALICE@example.com", "ghost@example.com"], "mobiles": ["13800000002"]}
    data = http.post(f"{C}/users/batch_get_id", json=body).json()["data"]
    alice, ghost, bob = data["user_list"]
    assert alice["email"] == "ALICE@example.com" and alice["user_id"].startswith("ou_")
    assert ghost == {"email": "ghost@example.com"}
    assert bob["mobile"] == "13800000002" and bob["status"]["is_activated"] is True
    by_user_id = http.post(
        f"{C}/users/batch_get_id", params={"user_id_type": "user_id"}, json=body
    ).json()["data"]["user_list"]
    assert by_user_id[0]["user_id"] == "alice"


def test_resigned_users_are_hidden_unless_asked(
    lark_emulator: Emulator, http: httpx.Client
) -> None:
    lark_emulator.add_user("gone", email="gone@example.com", resigned=True)
    body: dict[str, Any] = {"emails": ["gone@example.com"]}
    assert (
        "user_id"
        not in http.post(f"{C}/users/batch_get_id", json=body).json()["data"]["user_list"][0]
    )
    body["include_resigned"] = True
    [entry] = http.post(f"{C}/users/batch_get_id", json=body).json()["data"]["user_list"]
    assert entry["status"]["is_resigned"] is True


def test_departments_children_and_ids(lark_emulator: Emulator, http: httpx.Client) -> None:
    lark_emulator.add_department("p", "P")
    lark_emulator.add_department("x", "X", parent_department_id="p")
    open_p = lark_emulator.state.get_department("p").open_department_id  # type: ignore[union-attr]
    direct = http.get(f"{C}/departments/{open_p}/children").json()["data"]["items"]
    assert [d["department_id"] for d in direct] == ["x"]
    assert direct[0]["parent_department_id"] == open_p
    custom = http.get(
        f"{C}/departments/p/children", params={"department_id_type": "department_id"}
    ).json()["data"]["items"]
    assert custom[0]["parent_department_id"] == "p"
    # a custom id asked as an open id does not exist
    assert_error(http.get(f"{C}/departments/D001"), 40015)
    root = http.get(f"{C}/departments/0").json()["data"]["department"]
    assert root["department_id"] == "0" and root["member_count"] == 63
    everything = http.get(
        f"{C}/departments/0/children", params={"fetch_child": "true", "page_size": 50}
    ).json()["data"]["items"]
    assert len(everything) == 5


def test_contact_range_and_scopes(lark_emulator: Emulator, http: httpx.Client) -> None:
    lark_emulator.set_contact_range("cli_demo", departments=["D002"], users=["alice"])
    bob = lark_emulator.open_id("bob", "cli_demo")
    body = assert_error(http.get(f"{C}/users/{bob}"), 41050, http_status=403)
    assert bob in body["msg"]
    alice = lark_emulator.open_id("alice", "cli_demo")
    assert http.get(f"{C}/users/{alice}").json()["code"] == 0
    assert_error(http.get(f"{C}/departments/0"), 40004, http_status=403)
    assert_error(
        http.get(f"{C}/departments/D001", params={"department_id_type": "department_id"}),
        40004,
        http_status=403,
    )
    lark_emulator.set_contact_range("cli_demo")  # back to the whole tenant
    assert http.get(f"{C}/users/{bob}").json()["code"] == 0

    lark_emulator.deny_scopes("cli_demo", "im:chat:readonly", "im:chat")
    body = assert_error(http.get("/open-apis/im/v1/chats"), 99991672)
    subjects = [v["subject"] for v in body["error"]["permission_violations"]]
    assert subjects == ["im:chat:readonly", "im:chat"]
    lark_emulator.grant_scopes("cli_demo")
    assert http.get("/open-apis/im/v1/chats").json()["code"] == 0


def test_chat_endpoints(lark_emulator: Emulator, http: httpx.Client) -> None:
    items = http.get("/open-apis/im/v1/chats", params={"page_size": 2}).json()["data"]
    assert len(items["items"]) == 2 and items["has_more"] is True
    assert_error(http.get("/open-apis/im/v1/chats", params={"page_size": 101}), 232001)
    found = http.get("/open-apis/im/v1/chats/search", params={"query": "team"}).json()["data"]
    assert sorted(c["name"] for c in found["items"]) == ["Team 1", "Team 2"]
    chat = http.get("/open-apis/im/v1/chats/oc_demo").json()["data"]
    assert chat["user_count"] == "2" and chat["chat_mode"] == "group"
    members = http.get(
        "/open-apis/im/v1/chats/oc_demo/members", params={"member_id_type": "user_id"}
    ).json()["data"]
    assert members["member_total"] == 2
    assert [m["member_id"] for m in members["items"]] == ["alice", "bob"]
    assert_error(http.get("/open-apis/im/v1/chats/oc_nope"), 232006)
    lark_emulator.dissolve_chat("oc_demo")
    assert_error(http.get("/open-apis/im/v1/chats/oc_demo"), 232009)
    lark_emulator.add_chat("oc_nobot", "No bot", bot_app_ids=[])
    assert_error(http.get("/open-apis/im/v1/chats/oc_nobot/members"), 232011)


def test_control_endpoints(lark_emulator: Emulator, http: httpx.Client) -> None:
    added = http.post("/_emulator/departments", json={"department_id": "qa", "name": "QA"})
    assert added.json()["open_department_id"].startswith("od-")
    listed = http.get("/_emulator/departments").json()["items"]
    assert "qa" in [d["department_id"] for d in listed]
    assert http.post("/_emulator/departments/qa/delete").json()["deleted"] is True
    assert http.post("/_emulator/departments/none/delete").status_code == 400
    assert http.post(
        "/_emulator/contact_range", json={"app_id": "cli_demo", "users": []}
    ).json() == {"ok": True}
    assert http.post("/_emulator/contact_range", json={}).status_code == 400
    denied = http.post("/_emulator/scopes/deny", json={"app_id": "cli_demo", "scopes": ["a"]})
    assert denied.json() == {"denied": ["a"]}
    assert http.post("/_emulator/chats/oc_demo/dissolve").json()["dissolved"] is True
    seeded = http.post("/_emulator/directory/seed", json={"users": 2, "seed": 7}).json()
    assert seeded["users"] == 2 and len(seeded["chats"]) == 3

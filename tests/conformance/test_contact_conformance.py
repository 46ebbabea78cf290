"""Contact v3 and IM chats: the official client against the emulator.

What ``lark_oapi`` sends must be accepted, and the answers must parse into its response models
with the expected fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lark_service.testing.emulator.server import Emulator


@pytest.fixture
def directory(lark_emulator: Emulator) -> Emulator:
    emu = lark_emulator
    emu.add_department("eng", "Engineering", order=1)
    emu.add_department("be", "Backend", parent_department_id="eng", order=1, leader_user_id="ann")
    emu.add_user(
        "ann",
        name="Ann",
        email="ann@example.com",
        mobile="+8613800000011",
        department_ids=["be"],
        en_name="Ann Lee",
        job_title="Engineer",
        employee_no="E011",
    )
    emu.add_user("ben", name="Ben", email="ben@example.com", department_ids=["be"])
    emu.add_user("cid", name="Cid", department_ids=["eng"])
    emu.add_chat("oc_conf_ops", "Ops Alerts", members=["ann", "ben"], owner_id="ann")
    emu.add_chat("oc_conf_dev", "Dev", members=["ben"], owner_id="ben", description="dev talk")
    return emu


def _app_id(client: Any) -> str:
    return str(client._config.app_id)


def test_batch_get_id(official: Callable[..., Any], directory: Emulator) -> None:
    from lark_oapi.api.contact.v3 import BatchGetIdUserRequest, BatchGetIdUserRequestBody

    client = official()
    request = (
        BatchGetIdUserRequest.builder()
        .user_id_type("open_id")
        .request_body(
            BatchGetIdUserRequestBody.builder()
            .emails(["ann@example.com", "ghost@example.com"])
            .mobiles(["13800000011"])
            .include_resigned(False)
            .build()
        )
        .build()
    )
    response = client.contact.v3.user.batch_get_id(request)

    assert response.success(), (response.code, response.msg)
    ann, ghost, by_mobile = response.data.user_list
    assert ann.email == "ann@example.com"
    assert ann.user_id == directory.open_id("ann", _app_id(client))
    assert ann.status.is_activated is True and ann.status.is_resigned is False
    assert ghost.email == "ghost@example.com" and ghost.user_id is None
    assert by_mobile.mobile == "13800000011" and by_mobile.user_id == ann.user_id
    assert response.get_log_id()


def test_get_user(official: Callable[..., Any], directory: Emulator) -> None:
    from lark_oapi.api.contact.v3 import GetUserRequest

    client = official()
    open_id = directory.open_id("ann", _app_id(client))
    request = (
        GetUserRequest.builder()
        .user_id(open_id)
        .user_id_type("open_id")
        .department_id_type("department_id")
        .build()
    )
    response = client.contact.v3.user.get(request)

    assert response.success(), (response.code, response.msg)
    user = response.data.user
    assert user.open_id == open_id and user.user_id == "ann"
    assert user.union_id == directory.state.get_user("ann").union_id  # type: ignore[union-attr]
    assert (user.name, user.en_name, user.email, user.mobile) == (
        "Ann",
        "Ann Lee",
        "ann@example.com",
        "+8613800000011",
    )
    assert user.department_ids == ["be"]
    assert (user.job_title, user.employee_no) == ("Engineer", "E011")
    assert user.avatar.avatar_240.startswith("https://")
    assert user.status.is_activated is True


def test_get_user_errors_parse(official: Callable[..., Any], directory: Emulator) -> None:
    from lark_oapi.api.contact.v3 import GetUserRequest

    client = official()
    missing = client.contact.v3.user.get(
        GetUserRequest.builder().user_id("ou_nobody").user_id_type("open_id").build()
    )
    assert not missing.success() and missing.code == 99992351

    directory.set_contact_range(_app_id(client), departments=["nothing"])
    outside = client.contact.v3.user.get(
        GetUserRequest.builder().user_id("ann").user_id_type("user_id").build()
    )
    assert outside.code == 41050 and "ann" in outside.msg

    directory.deny_scopes(
        _app_id(client), "contact:user.base:readonly", "contact:contact:readonly_as_app"
    )
    denied = client.contact.v3.user.get(
        GetUserRequest.builder().user_id("ann").user_id_type("user_id").build()
    )
    assert denied.code == 99991672
    # the SDK leaves ``error`` as the raw dict (BaseResponse declares no types)
    subjects = [v["subject"] for v in denied.error["permission_violations"]]
    assert subjects == ["contact:user.base:readonly", "contact:contact:readonly_as_app"]


def test_batch_users(official: Callable[..., Any], directory: Emulator) -> None:
    from lark_oapi.api.contact.v3 import BatchUserRequest

    client = official()
    request = BatchUserRequest.builder().user_ids(["ann", "ben"]).user_id_type("user_id").build()
    response = client.contact.v3.user.batch(request)
    assert response.success(), (response.code, response.msg)
    assert [u.name for u in response.data.items] == ["Ann", "Ben"]


def test_find_by_department_pages(official: Callable[..., Any], directory: Emulator) -> None:
    from lark_oapi.api.contact.v3 import FindByDepartmentUserRequest

    client = official()
    names: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        builder = (
            FindByDepartmentUserRequest.builder()
            .department_id("be")
            .department_id_type("department_id")
            .user_id_type("open_id")
            .page_size(1)
        )
        if token:
            builder = builder.page_token(token)
        response = client.contact.v3.user.find_by_department(builder.build())
        assert response.success(), (response.code, response.msg)
        pages += 1
        names.extend(u.name for u in response.data.items)
        if not response.data.has_more:
            break
        token = response.data.page_token
    assert names == ["Ann", "Ben"] and pages == 2


def test_department_get_and_children(official: Callable[..., Any], directory: Emulator) -> None:
    from lark_oapi.api.contact.v3 import ChildrenDepartmentRequest, GetDepartmentRequest

    client = official()
    app_id = _app_id(client)
    got = client.contact.v3.department.get(
        GetDepartmentRequest.builder()
        .department_id("be")
        .department_id_type("department_id")
        .user_id_type("open_id")
        .build()
    )
    assert got.success(), (got.code, got.msg)
    be = got.data.department
    assert (be.name, be.department_id, be.parent_department_id) == ("Backend", "be", "eng")
    assert be.open_department_id.startswith("od-")
    assert be.leader_user_id == directory.open_id("ann", app_id)
    assert be.member_count == 2 and be.status.is_deleted is False

    children = client.contact.v3.department.children(
        ChildrenDepartmentRequest.builder()
        .department_id("0")
        .department_id_type("department_id")
        .fetch_child(True)
        .page_size(50)
        .build()
    )
    assert children.success(), (children.code, children.msg)
    assert [d.department_id for d in children.data.items] == ["eng", "be"]
    assert children.data.has_more is False

    directory.delete_department("be")
    deleted = client.contact.v3.department.get(
        GetDepartmentRequest.builder()
        .department_id("be")
        .department_id_type("department_id")
        .build()
    )
    assert deleted.success() and deleted.data.department.status.is_deleted is True
    unknown = client.contact.v3.department.get(
        GetDepartmentRequest.builder()
        .department_id("nope")
        .department_id_type("department_id")
        .build()
    )
    assert unknown.code == 40015


def test_chat_list_search_get(official: Callable[..., Any], directory: Emulator) -> None:
    from lark_oapi.api.im.v1 import GetChatRequest, ListChatRequest, SearchChatRequest

    client = official()
    app_id = _app_id(client)
    listed = client.im.v1.chat.list(ListChatRequest.builder().page_size(1).build())
    assert listed.success(), (listed.code, listed.msg)
    assert len(listed.data.items) == 1 and listed.data.has_more is True
    rest = client.im.v1.chat.list(
        ListChatRequest.builder().page_size(1).page_token(listed.data.page_token).build()
    )
    assert {listed.data.items[0].chat_id, rest.data.items[0].chat_id} == {
        "oc_conf_ops",
        "oc_conf_dev",
    }

    found = client.im.v1.chat.search(SearchChatRequest.builder().query("ops").build())
    assert found.success(), (found.code, found.msg)
    [ops] = found.data.items
    assert (ops.chat_id, ops.name, ops.owner_id_type) == ("oc_conf_ops", "Ops Alerts", "open_id")
    assert ops.owner_id == directory.open_id("ann", app_id)

    got = client.im.v1.chat.get(
        GetChatRequest.builder().chat_id("oc_conf_dev").user_id_type("user_id").build()
    )
    assert got.success(), (got.code, got.msg)
    assert (got.data.name, got.data.description, got.data.owner_id) == ("Dev", "dev talk", "ben")
    assert got.data.user_count == "1" and got.data.chat_mode == "group"

    directory.dissolve_chat("oc_conf_dev")
    gone = client.im.v1.chat.get(GetChatRequest.builder().chat_id("oc_conf_dev").build())
    assert gone.code == 232009


def test_chat_members(official: Callable[..., Any], directory: Emulator) -> None:
    from lark_oapi.api.im.v1 import GetChatMembersRequest

    client = official()
    response = client.im.v1.chat_members.get(
        GetChatMembersRequest.builder()
        .chat_id("oc_conf_ops")
        .member_id_type("user_id")
        .page_size(10)
        .build()
    )
    assert response.success(), (response.code, response.msg)
    assert [(m.member_id, m.name) for m in response.data.items] == [("ann", "Ann"), ("ben", "Ben")]
    assert response.data.member_total == 2 and response.data.has_more is False

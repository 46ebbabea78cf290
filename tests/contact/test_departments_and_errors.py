"""Departments (users, tree, deleted) and the permission / not-found errors of contact calls.

Every test runs on SQLite and PostgreSQL (the ``client`` fixture's state database).
"""

from __future__ import annotations

import pytest

from lark_service import LarkClient
from lark_service.errors import NotFoundError, PermissionDeniedError
from lark_service.testing import Emulator

from .conftest import APP, contact_calls


def test_department_users_direct_and_recursive(emu: Emulator, client: LarkClient) -> None:
    be = client.contact.get_department_users("be")
    assert sorted(u.user_id or "" for u in be) == ["alice", "dave"]
    eng_direct = client.contact.get_department_users("eng")
    assert eng_direct == []  # exists, but nobody is directly in it
    eng_all = client.contact.get_department_users("eng", recursive=True)
    assert sorted(u.user_id or "" for u in eng_all) == ["alice", "dave"]

    open_be = emu.state.get_department("be").open_department_id  # type: ignore[union-attr]
    by_open_id = client.contact.get_department_users(open_be)
    assert sorted(u.user_id or "" for u in by_open_id) == ["alice", "dave"]
    assert all(open_be in u.department_ids for u in by_open_id)


def test_department_users_pages_and_progress(emu: Emulator, client: LarkClient) -> None:
    emu.add_department("big", "Big")
    for i in range(123):
        emu.add_user(f"big{i:03d}", email=f"big{i:03d}@example.com", department_ids=["big"])
    progress: list[tuple[int, int | None]] = []

    users = client.contact.get_department_users(
        "big", on_progress=lambda done, total: progress.append((done, total))
    )

    assert len(users) == 123
    assert progress == [(50, 123), (100, 123), (123, 123)]
    assert len(emu.requests(path="/open-apis/contact/v3/users/find_by_department")) == 3


def test_department_tree_is_nested(emu: Emulator, client: LarkClient) -> None:
    emu.add_department("gone", "Gone", parent_department_id="eng", deleted=True)
    root = client.contact.get_department_tree()
    assert root.department_id == "0"
    assert [c.department_id for c in root.children] == ["eng", "ops"]
    [eng, ops] = root.children
    assert [c.department_id for c in eng.children] == ["be"]  # deleted "gone" left out
    assert ops.children == []
    assert eng.member_count == 2 and eng.primary_member_count == 0
    assert [d.department_id for d in root.walk()] == ["0", "eng", "be", "ops"]

    sub = client.contact.get_department_tree("eng", department_id_type="department_id")
    assert sub.name == "Engineering" and [c.name for c in sub.children] == ["Backend"]


@pytest.mark.parametrize("how", ["deleted", "unknown"])
def test_deleted_or_unknown_department_raises_not_found(
    emu: Emulator, client: LarkClient, how: str
) -> None:
    dept = "be" if how == "deleted" else "nope"
    if how == "deleted":
        emu.delete_department("be")
    for call in (
        lambda: client.contact.get_department_users(dept),
        lambda: client.contact.get_department_users(dept, recursive=True),
        lambda: client.contact.get_department_tree(dept),
        lambda: client.contact.get_department(dept),
    ):
        with pytest.raises(NotFoundError) as info:
            call()
        assert f"department {dept}" in str(info.value)
    with pytest.raises(NotFoundError):
        client.contact.get_department_users("od-0000000000000000")


def test_unknown_user_id_raises_not_found(emu: Emulator, client: LarkClient) -> None:
    with pytest.raises(NotFoundError):
        client.contact.get_user("ou_nobody")
    with pytest.raises(NotFoundError):
        client.contact.get_user("nobody", id_type="user_id")
    with pytest.raises(NotFoundError) as info:
        client.contact.resolve("nobody@example.com")
    assert "nobody@example.com" in str(info.value)


def test_outside_the_contact_range_names_the_user_and_the_range(
    emu: Emulator, client: LarkClient
) -> None:
    emu.set_contact_range(APP[0], departments=["ops"])
    alice_open_id = emu.open_id("alice", APP[0])

    with pytest.raises(PermissionDeniedError) as info:
        client.contact.get_user(alice_open_id)
    error = info.value
    assert error.code == 41050
    text = str(error)
    assert alice_open_id in text and APP[0] in text
    assert "contacts data range" in text
    assert "hint:" in text and "add user" in text

    # batch_get_id answers users outside the range without an id: None, not an error
    assert client.contact.get_user_by_email("alice@example.com") is None
    assert client.contact.get_user_by_email("bob@example.com") is not None

    with pytest.raises(PermissionDeniedError) as dept:
        client.contact.get_department_users("eng")
    assert dept.value.code == 40004
    assert "department eng" in str(dept.value) and "contacts data range" in str(dept.value)
    with pytest.raises(PermissionDeniedError):
        client.contact.get_department_tree()
    assert [u.user_id for u in client.contact.get_department_users("ops")] == ["bob"]


def test_missing_scope_names_the_scope(emu: Emulator, client: LarkClient) -> None:
    emu.deny_scopes(APP[0], "contact:user.id:readonly", "contact:contact:readonly_as_app")
    calls = contact_calls(emu)
    with pytest.raises(PermissionDeniedError) as info:
        client.contact.get_user_by_email("alice@example.com")
    error = info.value
    assert error.code == 99991672
    assert error.missing_scopes == ["contact:user.id:readonly", "contact:contact:readonly_as_app"]
    assert "contact:user.id:readonly" in error.msg and APP[0] in error.msg
    assert "contact:user.id:readonly" in (error.hint or "")
    assert contact_calls(emu) == calls + 1  # not retried

    emu.deny_scopes(APP[0], "contact:department.base:readonly")
    with pytest.raises(PermissionDeniedError) as dept:
        client.contact.get_department_tree()
    assert dept.value.missing_scopes == [
        "contact:department.base:readonly",
        "contact:contact:readonly_as_app",
    ]

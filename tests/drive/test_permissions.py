"""Sharing through the emulator: members by every id kind, batch, update, revoke, list, owner
transfer, public link settings, and Feishu's errors as typed errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lark_service import LarkClient
from lark_service.drive import PermissionMember
from lark_service.errors import (
    InvalidParameterError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from lark_service.testing import Emulator
from lark_service.testing.emulator.state_drive import DriveState

from .conftest import APP, OTHER_APP

DOC = "doxcnReport0001"


def member_calls(emu: Emulator) -> int:
    return len(emu.requests(path="/open-apis/drive/v1/permissions/*"))


def test_grant_by_each_kind_of_id(client: LarkClient, emu: Emulator, drive: DriveState) -> None:
    open_id = emu.open_id("alice", APP[0])
    union_id = emu.state.get_user("bob").union_id  # type: ignore[union-attr]
    granted = [
        client.drive.grant_permission(DOC, "alice@example.com", "view", doc_type="docx"),
        client.drive.grant_permission(DOC, open_id, "edit", doc_type="docx"),
        client.drive.grant_permission(DOC, union_id, "full_access", doc_type="docx"),
        client.drive.grant_permission(DOC, "oc_team", "view", doc_type="docx", notify=True),
    ]
    assert [(m.member_type, m.perm, m.type) for m in granted] == [
        ("email", "view", "user"),
        ("openid", "edit", "user"),
        ("unionid", "full_access", "user"),
        ("openchat", "view", "chat"),
    ]
    listed = client.drive.list_permissions(DOC, doc_type="docx")
    assert {(m.member_type, m.member_id) for m in listed} == {
        ("email", "alice@example.com"),
        ("openid", open_id),
        ("unionid", union_id),
        ("openchat", "oc_team"),
    }
    assert {m.name for m in listed} == {"Alice", "Bob", "Team"}
    assert drive.notifications == [
        {"token": DOC, "member_type": "openchat", "member_id": "oc_team", "perm": "view"}
    ]
    query = emu.requests(path=f"/open-apis/drive/v1/permissions/{DOC}/members")[0].query
    assert query == {"type": "docx", "need_notification": "false"}


def test_update_and_revoke(client: LarkClient) -> None:
    client.drive.grant_permission(DOC, "alice@example.com", doc_type="docx")
    updated = client.drive.update_permission(DOC, "alice@example.com", "edit", doc_type="docx")
    assert updated.perm == "edit"
    client.drive.revoke_permission(DOC, "alice@example.com", doc_type="docx")
    assert client.drive.list_permissions(DOC, doc_type="docx") == []
    with pytest.raises(InvalidParameterError) as info:
        client.drive.revoke_permission(DOC, "alice@example.com", doc_type="docx")
    assert info.value.code == 1063001


def test_batch_grant_is_sent_in_chunks_in_order(
    client: LarkClient, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lark_service.drive._sync_client as sync_client

    monkeypatch.setattr(sync_client, "BATCH_GRANT_LIMIT", 2)
    members = [
        ("alice@example.com", "view"),
        PermissionMember(member_type="email", member_id="bob@example.com", perm="edit"),
        {"member": "oc_team", "perm": "view"},
        {"member_id": "bob", "member_type": "userid", "perm": "full_access"},
        "alice",  # a bare id without a known shape: refused before any call
    ]
    with pytest.raises(ValidationError):
        client.drive.batch_grant_permissions(DOC, members, doc_type="docx")
    assert member_calls(emu) == 0
    added = client.drive.batch_grant_permissions(DOC, members[:4], doc_type="docx")
    assert [m.member_id for m in added] == [
        "alice@example.com",
        "bob@example.com",
        "oc_team",
        "bob",
    ]
    assert member_calls(emu) == 2


def test_transfer_owner_keeps_the_app_as_collaborator(client: LarkClient) -> None:
    client.drive.transfer_owner(DOC, "alice@example.com", doc_type="docx")
    listed = client.drive.list_permissions(DOC, doc_type="docx")
    assert [(m.member_type, m.member_id, m.perm) for m in listed] == [
        ("appid", APP[0], "full_access")
    ]
    with pytest.raises(ValidationError, match="person"):
        client.drive.transfer_owner(DOC, "oc_team", doc_type="docx")


def test_public_link_settings(client: LarkClient) -> None:
    before = client.drive.get_public_permission(DOC, doc_type="docx")
    assert before.link_share_entity == "closed"
    after = client.drive.update_public_permission(
        DOC, doc_type="docx", link_share_entity="tenant_readable", external_access=False
    )
    assert after.link_share_entity == "tenant_readable"
    assert after.external_access is False
    assert client.drive.get_public_permission(DOC, doc_type="docx").link_share_entity == (
        "tenant_readable"
    )
    with pytest.raises(ValidationError):
        client.drive.update_public_permission(DOC, doc_type="docx", link_share_entity="everyone")
    with pytest.raises(ValidationError, match="nothing to change"):
        client.drive.update_public_permission(DOC, doc_type="docx")


def test_check_permission(client: LarkClient, make_client: Callable[..., LarkClient]) -> None:
    assert client.drive.check_permission(DOC, "manage_public", doc_type="docx") is True
    other = make_client(OTHER_APP)
    assert other.drive.check_permission(DOC, "view", doc_type="docx") is False
    client.drive.grant_permission(DOC, OTHER_APP[0], "view", doc_type="docx")
    assert other.drive.check_permission(DOC, "view", doc_type="docx") is True
    assert other.drive.check_permission(DOC, "edit", doc_type="docx") is False


def test_another_apps_document_is_permission_denied_with_the_hint(
    client: LarkClient, drive: DriveState
) -> None:
    drive.add_document("doxcnTheirs", "docx", owner_app=OTHER_APP[0])
    with pytest.raises(PermissionDeniedError) as info:
        client.drive.grant_permission("doxcnTheirs", "alice@example.com", doc_type="docx")
    assert info.value.code == 1063002
    assert "collaborator" in (info.value.hint or "")


def test_unknown_or_deleted_documents_are_not_found(client: LarkClient, drive: DriveState) -> None:
    drive.auto_documents = False
    with pytest.raises(NotFoundError) as info:
        client.drive.list_permissions("doxcnNope", doc_type="docx")
    assert info.value.code == 1063005
    drive.add_document("doxcnGone", "docx", owner_app=APP[0], deleted=True)
    with pytest.raises(NotFoundError):
        client.drive.get_public_permission("doxcnGone", doc_type="docx")


def test_feishu_refusals(client: LarkClient) -> None:
    with pytest.raises(InvalidParameterError) as info:
        client.drive.grant_permission(DOC, "oc_nobot", doc_type="docx")
    assert info.value.code == 1063003
    with pytest.raises(InvalidParameterError) as info:
        client.drive.grant_permission(DOC, "od-anything", doc_type="docx")
    assert info.value.code == 1063003
    with pytest.raises(InvalidParameterError) as info:
        client.drive.grant_permission(DOC, "nobody@example.com", doc_type="docx")
    assert info.value.code == 1063001
    client.drive.grant_permission(DOC, "alice@example.com", doc_type="docx")
    with pytest.raises(InvalidParameterError):  # the document is a docx, not a sheet
        client.drive.list_permissions(DOC, doc_type="sheet")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.drive.grant_permission(DOC, "alice@example.com", "owner", doc_type="docx"),
        lambda c: c.drive.grant_permission(DOC, "alice@example.com", doc_type="pdf"),
        lambda c: c.drive.grant_permission("a/b", "alice@example.com", doc_type="docx"),
        lambda c: c.drive.grant_permission(DOC, "12345", doc_type="docx"),
        lambda c: c.drive.revoke_permission(DOC, "", doc_type="docx"),
        lambda c: c.drive.check_permission(DOC, "delete", doc_type="docx"),
        lambda c: c.drive.batch_grant_permissions(DOC, [], doc_type="docx"),
    ],
)
def test_bad_arguments_send_nothing(
    client: LarkClient, emu: Emulator, call: Callable[[LarkClient], object]
) -> None:
    with pytest.raises(ValidationError):
        call(client)
    assert member_calls(emu) == 0

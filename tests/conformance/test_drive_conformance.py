"""Drive through the official lark-oapi client: every Drive endpoint the emulator serves that
the SDK declares (permissions, public settings, media and file uploads one-shot and multipart,
downloads, temporary URLs, folders, listings) is accepted, and its answers parse into the
SDK's models."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from lark_service.testing.emulator.server import Emulator
from lark_service.testing.emulator.state_drive import drive_state

DOC = "doxcnConformance"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 16


@pytest.fixture
def sdk(official: Callable[..., Any], lark_emulator: Emulator) -> Any:
    lark_emulator.add_user("alice", name="Alice", email="alice@example.com")
    lark_emulator.add_user("bob", name="Bob", email="bob@example.com")
    lark_emulator.add_chat("oc_conf", "Conf", members=["alice"])
    return official()


def ok(response: Any) -> Any:
    assert response.success(), (response.code, response.msg)
    return getattr(response, "data", None)


def checksum(data: bytes) -> str:
    return str(zlib.adler32(data) & 0xFFFFFFFF)


def test_permission_members(sdk: Any) -> None:
    from lark_oapi.api.drive.v1 import (
        AuthPermissionMemberRequest,
        BaseMember,
        BatchCreatePermissionMemberRequest,
        BatchCreatePermissionMemberRequestBody,
        CreatePermissionMemberRequest,
        DeletePermissionMemberRequest,
        DeletePermissionMemberRequestBody,
        ListPermissionMemberRequest,
        Member,
        Owner,
        TransferOwnerPermissionMemberRequest,
        UpdatePermissionMemberRequest,
    )

    members = sdk.drive.v1.permission_member
    created = ok(
        members.create(
            CreatePermissionMemberRequest.builder()
            .token(DOC)
            .type("docx")
            .need_notification(False)
            .request_body(
                BaseMember.builder()
                .member_type("email")
                .member_id("alice@example.com")
                .perm("view")
                .build()
            )
            .build()
        )
    )
    assert (created.member.member_type, created.member.perm) == ("email", "view")

    batch = ok(
        members.batch_create(
            BatchCreatePermissionMemberRequest.builder()
            .token(DOC)
            .type("docx")
            .request_body(
                BatchCreatePermissionMemberRequestBody.builder()
                .members(
                    [
                        Member.builder()
                        .member_type("email")
                        .member_id("bob@example.com")
                        .perm("edit")
                        .build(),
                        Member.builder()
                        .member_type("openchat")
                        .member_id("oc_conf")
                        .perm("view")
                        .build(),
                    ]
                )
                .build()
            )
            .build()
        )
    )
    assert [m.member_id for m in batch.members] == ["bob@example.com", "oc_conf"]

    updated = ok(
        members.update(
            UpdatePermissionMemberRequest.builder()
            .token(DOC)
            .member_id("alice@example.com")
            .type("docx")
            .need_notification(True)
            .request_body(BaseMember.builder().member_type("email").perm("full_access").build())
            .build()
        )
    )
    assert updated.member.perm == "full_access"

    listed = ok(
        members.list(
            ListPermissionMemberRequest.builder().token(DOC).type("docx").fields("*").build()
        )
    )
    assert {(m.member_id, m.perm, m.name) for m in listed.items} == {
        ("alice@example.com", "full_access", "Alice"),
        ("bob@example.com", "edit", "Bob"),
        ("oc_conf", "view", "Conf"),
    }

    auth = ok(
        members.auth(
            AuthPermissionMemberRequest.builder().token(DOC).type("docx").action("edit").build()
        )
    )
    assert auth.auth_result is True

    ok(
        members.delete(
            DeletePermissionMemberRequest.builder()
            .token(DOC)
            .member_id("bob@example.com")
            .type("docx")
            .member_type("email")
            .request_body(DeletePermissionMemberRequestBody.builder().type("docx").build())
            .build()
        )
    )
    response = members.transfer_owner(
        TransferOwnerPermissionMemberRequest.builder()
        .token(DOC)
        .type("docx")
        .need_notification(False)
        .remove_old_owner(False)
        .old_owner_perm("full_access")
        .request_body(Owner.builder().member_type("email").member_id("bob@example.com").build())
        .build()
    )
    ok(response)
    after = ok(members.list(ListPermissionMemberRequest.builder().token(DOC).type("docx").build()))
    assert "bob@example.com" not in {m.member_id for m in after.items}

    bad = members.create(
        CreatePermissionMemberRequest.builder()
        .token(DOC)
        .type("docx")
        .request_body(
            BaseMember.builder()
            .member_type("email")
            .member_id("x@example.com")
            .perm("view")
            .build()
        )
        .build()
    )
    assert bad.code == 1063001


def test_public_settings(sdk: Any) -> None:
    from lark_oapi.api.drive.v1 import (
        GetPermissionPublicRequest,
        PatchPermissionPublicRequest,
        PermissionPublicRequest,
    )

    public = sdk.drive.v1.permission_public
    got = ok(public.get(GetPermissionPublicRequest.builder().token(DOC).type("docx").build()))
    assert got.permission_public.link_share_entity == "closed"
    patched = ok(
        public.patch(
            PatchPermissionPublicRequest.builder()
            .token(DOC)
            .type("docx")
            .request_body(
                PermissionPublicRequest.builder()
                .link_share_entity("tenant_readable")
                .external_access(False)
                .build()
            )
            .build()
        )
    )
    assert patched.permission_public.link_share_entity == "tenant_readable"
    assert patched.permission_public.external_access is False


def test_media_upload_all_download_and_tmp_urls(sdk: Any, lark_emulator: Emulator) -> None:
    from lark_oapi.api.drive.v1 import (
        BatchGetTmpDownloadUrlMediaRequest,
        DownloadMediaRequest,
        UploadAllMediaRequest,
        UploadAllMediaRequestBody,
    )

    media = sdk.drive.v1.media
    uploaded = ok(
        media.upload_all(
            UploadAllMediaRequest.builder()
            .request_body(
                UploadAllMediaRequestBody.builder()
                .file_name("chart.png")
                .parent_type("docx_image")
                .parent_node(DOC)
                .size(len(PNG))
                .checksum(checksum(PNG))
                .extra('{"drive_route_token":"' + DOC + '"}')
                .file(io.BytesIO(PNG))
                .build()
            )
            .build()
        )
    )
    token = uploaded.file_token
    downloaded = media.download(DownloadMediaRequest.builder().file_token(token).build())
    assert downloaded.success()
    assert downloaded.file.read() == PNG
    assert downloaded.file_name == "chart.png"

    urls = ok(
        media.batch_get_tmp_download_url(
            BatchGetTmpDownloadUrlMediaRequest.builder().file_tokens([token]).build()
        )
    )
    assert urls.tmp_download_urls[0].file_token == token
    assert urls.tmp_download_urls[0].tmp_download_url.startswith(lark_emulator.url)

    missing = media.download(DownloadMediaRequest.builder().file_token("boxcnMissing").build())
    assert missing.code == 1061003

    wrong = media.upload_all(
        UploadAllMediaRequest.builder()
        .request_body(
            UploadAllMediaRequestBody.builder()
            .file_name("chart.png")
            .parent_type("docx_image")
            .parent_node(DOC)
            .size(len(PNG))
            .checksum("1")
            .file(io.BytesIO(PNG))
            .build()
        )
        .build()
    )
    assert wrong.code == 1062008


def _multipart(sdk: Any, kind: str, parent_type: str, parent_node: str, data: bytes) -> str:
    from lark_oapi.api.drive import v1

    cap = kind.capitalize()
    info_cls = v1.MediaUploadInfo if kind == "media" else v1.FileUploadInfo
    resource = getattr(sdk.drive.v1, kind)
    prepared = ok(
        resource.upload_prepare(
            getattr(v1, f"UploadPrepare{cap}Request")
            .builder()
            .request_body(
                info_cls.builder()
                .file_name("big.bin")
                .parent_type(parent_type)
                .parent_node(parent_node)
                .size(len(data))
                .build()
            )
            .build()
        )
    )
    assert prepared.block_size == 4 * 1024 * 1024
    assert prepared.block_num == 2
    for seq in range(prepared.block_num):
        block = data[seq * prepared.block_size : (seq + 1) * prepared.block_size]
        ok(
            resource.upload_part(
                getattr(v1, f"UploadPart{cap}Request")
                .builder()
                .request_body(
                    getattr(v1, f"UploadPart{cap}RequestBody")
                    .builder()
                    .upload_id(prepared.upload_id)
                    .seq(seq)
                    .size(len(block))
                    .checksum(checksum(block))
                    .file(io.BytesIO(block))
                    .build()
                )
                .build()
            )
        )
    finished = ok(
        resource.upload_finish(
            getattr(v1, f"UploadFinish{cap}Request")
            .builder()
            .request_body(
                getattr(v1, f"UploadFinish{cap}RequestBody")
                .builder()
                .upload_id(prepared.upload_id)
                .block_num(prepared.block_num)
                .build()
            )
            .build()
        )
    )
    return str(finished.file_token)


def test_media_multipart(sdk: Any, lark_emulator: Emulator) -> None:
    data = bytes(range(256)) * (4 * 4096 + 1)  # 4 MB + 256 bytes: two parts
    token = _multipart(sdk, "media", "docx_file", DOC, data)
    assert drive_state(lark_emulator).files[token].data == data


def test_folders_files_and_listing(sdk: Any, lark_emulator: Emulator) -> None:
    from lark_oapi.api.drive.v1 import (
        CreateFolderFileRequest,
        CreateFolderFileRequestBody,
        DownloadFileRequest,
        ListFileRequest,
        UploadAllFileRequest,
        UploadAllFileRequestBody,
    )

    files = sdk.drive.v1.file
    folder = ok(
        files.create_folder(
            CreateFolderFileRequest.builder()
            .request_body(
                CreateFolderFileRequestBody.builder().name("Reports").folder_token("").build()
            )
            .build()
        )
    )
    assert folder.token and folder.url
    body = b"a,b\n1,2\n"
    uploaded = ok(
        files.upload_all(
            UploadAllFileRequest.builder()
            .request_body(
                UploadAllFileRequestBody.builder()
                .file_name("q3.csv")
                .parent_type("explorer")
                .parent_node(folder.token)
                .size(len(body))
                .checksum(checksum(body))
                .file(io.BytesIO(body))
                .build()
            )
            .build()
        )
    )
    big = bytes(range(256)) * (4 * 4096 + 1)
    big_token = _multipart(sdk, "file", "explorer", folder.token, big)
    listed = ok(
        files.list(ListFileRequest.builder().folder_token(folder.token).page_size(1).build())
    )
    assert [f.name for f in listed.files] == ["q3.csv"]
    assert listed.has_more is True
    rest = ok(
        files.list(
            ListFileRequest.builder()
            .folder_token(folder.token)
            .page_size(1)
            .page_token(listed.next_page_token)
            .build()
        )
    )
    assert [(f.name, f.type, f.parent_token) for f in rest.files] == [
        ("big.bin", "file", folder.token)
    ]
    assert isinstance(rest.files[0].created_time, (int, str))
    downloaded = files.download(
        DownloadFileRequest.builder().file_token(uploaded.file_token).build()
    )
    assert downloaded.file.read() == body
    assert drive_state(lark_emulator).files[big_token].data == big

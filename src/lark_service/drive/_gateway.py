"""Gateway operations of ``client.drive``: permissions, folders, file uploads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .. import errors
from ..gateway import GatewayBody, GatewayQuery, examples, expose

__all__ = ["OPERATIONS"]

DocType = Literal["doc", "docx", "sheet", "bitable", "file", "folder", "wiki", "mindnote", "slides"]
Perm = Literal["view", "edit", "full_access"]


class GrantBody(GatewayBody):
    model_config = examples({"member": "alice@example.com", "perm": "edit", "doc_type": "docx"})

    member: str = Field(min_length=1, max_length=320, description="An email, ou_, oc_, od_ ...")
    perm: Perm = "view"
    doc_type: DocType
    member_type: str | None = Field(default=None, min_length=1, max_length=64)
    notify: bool = False


class DocTypeQuery(GatewayQuery):
    doc_type: DocType


class RevokeQuery(GatewayQuery):
    doc_type: DocType
    member_type: str | None = Field(default=None, min_length=1, max_length=64)


class FolderBody(GatewayBody):
    model_config = examples({"name": "Reports"})

    name: str = Field(min_length=1, max_length=255)
    folder_token: str | None = Field(default=None, min_length=1, max_length=128)


class UploadForm(GatewayBody):
    folder_token: str | None = Field(default=None, min_length=1, max_length=128)
    file_name: str | None = Field(default=None, min_length=1, max_length=255)


async def upload_file(
    drive: Any,
    *,
    source: bytes,
    folder_token: str | None = None,
    file_name: str | None = None,
    app_id: str | None = None,
) -> Any:
    if not source:
        raise errors.ValidationError("the file is empty", field="file")
    return await drive.upload_file(
        source, folder_token=folder_token, file_name=file_name or "upload.bin", app_id=app_id
    )


_READ = ["drive:read"]
_WRITE = ["drive:write"]

OPERATIONS = [
    expose("POST", "/drive/{token}/permissions", "grant_permission", scopes=_WRITE,
           body=GrantBody, summary="Add a collaborator to a document"),
    expose("GET", "/drive/{token}/permissions", "list_permissions", scopes=_READ,
           query=DocTypeQuery, summary="Every collaborator of a document"),
    expose("DELETE", "/drive/{token}/permissions/{member}", "revoke_permission",
           scopes=_WRITE, query=RevokeQuery, summary="Remove a collaborator"),
    expose("POST", "/drive/folders", "create_folder", scopes=_WRITE, body=FolderBody,
           summary="Create a folder"),
    expose("POST", "/drive/files", upload_file, scopes=_WRITE, body=UploadForm,
           upload="source", max_upload=100 * 1024 * 1024,
           summary="Upload a file into a folder (multipart field 'file'; at most 100 MB here)"),
]  # fmt: skip

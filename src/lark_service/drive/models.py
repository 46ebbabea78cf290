"""Drive results (pydantic v2; unknown Feishu fields are kept): ``MediaAsset``,
``PermissionMember``, ``PublicPermission``, ``DriveFile``."""

from __future__ import annotations

from pydantic import field_validator

from ..models import LarkModel

__all__ = ["DriveFile", "MediaAsset", "PermissionMember", "PublicPermission"]


class MediaAsset(LarkModel):
    """An uploaded media file (an image or attachment of a document, sheet or base).

    ``file_token`` is what a Docx image or file block, a sheet cell or a Bitable attachment
    refers to. ``upload_id`` is set when the multipart path was used (files over 20 MB).
    """

    file_token: str
    file_name: str | None = None
    size: int | None = None
    parent_type: str | None = None
    parent_node: str | None = None
    checksum: str | None = None
    """adler32 of the whole content, as the decimal string Feishu takes."""
    upload_id: str | None = None
    parts: int = 1
    """Requests that carried the content (1 for ``upload_all``)."""


class PermissionMember(LarkModel):
    """A collaborator of a document, file or folder.

    ``member_type`` is Feishu's (``email``, ``openid``, ``openchat``...), ``perm`` one of
    ``view`` / ``edit`` / ``full_access``, ``type`` the member's kind as Feishu lists it
    (``user``, ``chat``, ``department``... when known).
    """

    member_type: str
    member_id: str
    perm: str | None = None
    perm_type: str | None = None
    type: str | None = None
    name: str | None = None
    avatar: str | None = None
    external_label: bool | None = None


class PublicPermission(LarkModel):
    """A document's public (link) settings.

    ``link_share_entity``: ``tenant_readable``, ``tenant_editable``, ``anyone_readable``,
    ``anyone_editable`` or ``closed``; ``share_entity``: who may share (``anyone``,
    ``same_tenant``, ``only_full_access``); ``external_access``: whether people outside the
    tenant may be invited.
    """

    external_access: bool | None = None
    security_entity: str | None = None
    comment_entity: str | None = None
    share_entity: str | None = None
    link_share_entity: str | None = None
    invite_external: bool | None = None
    lock_switch: bool | None = None


class DriveFile(LarkModel):
    """A file, folder or document in a Drive folder (``list_files``, ``upload_file``,
    ``create_folder``). ``type``: ``file``, ``folder``, ``docx``, ``sheet``, ``bitable``...
    """

    token: str
    name: str | None = None
    type: str | None = None
    parent_token: str | None = None
    url: str | None = None
    created_time: int | None = None
    modified_time: int | None = None
    owner_id: str | None = None
    size: int | None = None
    version: str | None = None

    @field_validator("created_time", "modified_time", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        """Feishu sends the times as strings of epoch seconds."""
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return None
        return value

"""Drive (``client.drive``): share documents (members, owner, public link), upload and
download document media and Drive files, organise folders.

See ``docs/drive.md``.
"""

from ._async_client import AsyncDriveClient
from ._members import infer_member_type, member_ref
from ._sync_client import DriveClient
from ._transfer import UploadState, adler32, plan_parts
from .models import DriveFile, MediaAsset, PermissionMember, PublicPermission

__all__ = [
    "AsyncDriveClient",
    "DriveClient",
    "DriveFile",
    "MediaAsset",
    "PermissionMember",
    "PublicPermission",
    "UploadState",
    "adler32",
    "infer_member_type",
    "member_ref",
    "plan_parts",
]

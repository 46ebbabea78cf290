"""Pure helpers of ``client.drive``: value tables, argument checks and answer shaping, written
once here and imported by ``_async_client.py`` (so the generated sync twin does not repeat
them)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from .. import errors
from .._http import ApiResponse
from .._paths import path_id
from ._members import check_member_type, check_perm, member_ref
from ._transfer import UploadSource
from .models import PermissionMember

Progress = Callable[[int, int], None]
"""``progress(done_bytes, total_bytes)``; ``total_bytes`` is 0 when a download's size is not
known in advance."""

_SECURITY = ("anyone_can_view", "anyone_can_edit", "only_full_access")
_COMMENT = ("anyone_can_view", "anyone_can_edit")
_SHARE = ("anyone", "same_tenant", "only_full_access")
_ACTIONS = ("view", "edit", "share", "comment", "export", "copy", "print", "manage_public")
MemberSpec = Any
"""A member of :meth:`AsyncDriveClient.batch_grant_permissions`: ``(member, perm)``, a
:class:`PermissionMember`, or a mapping with ``member_id``/``member`` and ``perm``."""


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _node(value: object, field: str) -> str:
    """An id for a body or query: checked like a path id, but not percent-encoded."""
    path_id(value, field)
    assert isinstance(value, str)
    return value.strip()


def _member(
    response: ApiResponse, item: Mapping[str, Any] | None, kind: str, member_id: str
) -> PermissionMember:
    data = {"member_type": kind, "member_id": member_id, **dict(item or {})}
    return PermissionMember.from_response(response, data)


def _member_spec(spec: MemberSpec) -> dict[str, str]:
    """One member of a batch as Feishu's body wants it (ValidationError if unusable)."""
    member_type: str | None = None
    if isinstance(spec, PermissionMember):
        member, perm, member_type = spec.member_id, spec.perm or "view", spec.member_type
    elif isinstance(spec, Mapping):
        member = spec.get("member_id", spec.get("member"))
        perm = spec.get("perm", "view")
        member_type = spec.get("member_type")
    elif isinstance(spec, (tuple, list)) and len(spec) == 2:
        member, perm = spec
    elif isinstance(spec, str):
        member, perm = spec, "view"
    else:
        raise errors.ValidationError(
            f"a member is (member, perm), a PermissionMember or a mapping, not {spec!r}",
            field="members",
        )
    kind, member_id = member_ref(
        member, check_member_type(member_type) if member_type is not None else None
    )
    return {"member_type": kind, "member_id": member_id, "perm": check_perm(perm)}


def _extra(extra: Mapping[str, Any] | str | None) -> str | None:
    if extra is None or isinstance(extra, str):
        return extra
    return json.dumps(dict(extra), separators=(",", ":"), ensure_ascii=False)


def _check_image(upload: UploadSource) -> None:
    from ..messaging._media import sniff_image_format

    if sniff_image_format(upload.head(64)) is None:
        named = f"media {upload.file_name!r}" if upload.file_name else "media"
        raise errors.ValidationError(
            f"{named} is not an image Feishu shows (JPEG, PNG, WEBP, GIF, TIFF, BMP, ICO); "
            "upload it with media_type='file' to attach it instead",
            field="media",
        )


def _default_name(upload: UploadSource, parent_type: str) -> str:
    if parent_type.endswith("_image"):
        from ..messaging._media import sniff_image_format

        fmt = sniff_image_format(upload.head(64)) or "png"
        return "image." + ("jpg" if fmt == "jpeg" else fmt)
    return "file.bin"


def _save_target(
    save_path: str | os.PathLike[str], overwrite: bool
) -> tuple[Path | None, Path | None]:
    """``(file, None)`` for a file path, ``(None, directory)`` for an existing directory;
    checked before any request."""
    if not isinstance(save_path, (str, os.PathLike)) or not os.fspath(save_path):
        raise errors.ValidationError("save_path must be a path", field="save_path")
    path = Path(save_path)
    try:
        if path.is_dir():
            return None, path.resolve()
        parent = path.parent.resolve()
        exists = path.exists()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte
        raise errors.ValidationError(
            f"save_path is not a usable path ({type(exc).__name__})", field="save_path"
        ) from None
    if not parent.is_dir():
        raise errors.ValidationError(f"the directory {parent} does not exist", field="save_path")
    if exists and not overwrite:
        raise errors.ValidationError(
            f"{path} exists; pass overwrite=True to replace it", field="save_path"
        )
    return parent / path.name, None


def _content_length(headers: httpx.Headers) -> int:
    try:
        return max(0, int(headers.get("content-length", "0")))
    except ValueError:
        return 0

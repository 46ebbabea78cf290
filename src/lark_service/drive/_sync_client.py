# Generated from src/lark_service/drive/_async_client.py by scripts/unasync.py: edit that file instead.
"""``client.drive``: permissions and sharing, document media, Drive files and folders.

Endpoints: ``openapi-reference.md`` §6 (``drive/v1/permissions``, ``drive/v1/medias``,
``drive/v1/files``). Media uploads are paced by the ``drive.media_upload`` family (4.5/s, one
at a time per app: the pipeline holds its lease around each call), permission calls by
``drive.permission`` (100/min). Downloads stream to a temp file beside the target and are
renamed into place when complete.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from .. import errors, instrumentation
from .._sync_pagination import Pager
from .._sync_resource import Resource
from .._http import ApiResponse
from .._pagination import Page
from .._paths import api_path, file_inside, path_id, safe_file_name
from . import _errors  # noqa: F401  (registers the drive code table)
from ._helpers import (
    _ACTIONS,
    _COMMENT,
    _SECURITY,
    _SHARE,
    MemberSpec,
    Progress,
    _check_image,
    _content_length,
    _default_name,
    _extra,
    _flag,
    _member,
    _member_spec,
    _node,
    _save_target,
)
from ._members import (
    LINK_SHARE_ENTITIES,
    check_doc_type,
    check_perm,
    member_ref,
)
from ._transfer import (
    BLOCK_SIZE,
    DOWNLOAD_CHUNK,
    MAX_UPLOAD_BYTES,
    MEDIA_PARENT_TYPES,
    UPLOAD_ALL_LIMIT,
    UploadSource,
    UploadState,
    adler32,
    disposition_name,
    open_temp_beside,
    plan_parts,
)
from .models import DriveFile, MediaAsset, PermissionMember, PublicPermission

__all__ = ["DriveClient", "Progress"]

_PERMS = "/open-apis/drive/v1/permissions/{token}"
_MEDIAS = "/open-apis/drive/v1/medias"
_FILES = "/open-apis/drive/v1/files"
_ROOT_FOLDER = "/open-apis/drive/explorer/v2/root_folder/meta"
BATCH_GRANT_LIMIT = 10
"""Members per ``batch_create`` call (a conservative figure; Feishu's limit is unverified)."""
_LIST_PAGE_SIZE = 200


class DriveClient(Resource):
    """Drive: share documents, upload and download document media and Drive files."""

    # -- permissions --------------------------------------------------------------------------

    def grant_permission(
        self,
        token: str,
        member: str,
        perm: str = "view",
        *,
        doc_type: str,
        member_type: str | None = None,
        notify: bool = False,
        app_id: str | None = None,
    ) -> PermissionMember:
        """Add ``member`` as a collaborator of the document ``token`` with ``perm``
        (``view``, ``edit`` or ``full_access``); an existing collaborator gets the new perm.

        ``member`` is an email, an open_id (``ou_``), a union_id (``on_``), a chat_id
        (``oc_``, the bot must be in the chat) or an open department id (``od-``, needs a
        user token); ``member_type=`` names other kinds (``userid``, ``groupid``).
        ``doc_type``: ``docx``, ``sheet``, ``bitable``, ``file``, ``folder``, ``wiki``...
        ``notify=True`` sends Feishu's notification to the member.

        ``POST /open-apis/drive/v1/permissions/:token/members``. Raises ValidationError
        (nothing sent), NotFoundError, PermissionDeniedError (the app is not a full_access
        collaborator; see the hint).
        """
        doc = check_doc_type(doc_type)
        kind, member_id = member_ref(member, member_type)
        response = self._request(
            "POST",
            api_path(_PERMS + "/members", token=token),
            options=self._opts(app_id=app_id),
            params={"type": doc, "need_notification": _flag(notify)},
            json={"member_type": kind, "member_id": member_id, "perm": check_perm(perm)},
        )
        return _member(response, response.data.get("member"), kind, member_id)

    def batch_grant_permissions(
        self,
        token: str,
        members: Iterable[MemberSpec],
        *,
        doc_type: str,
        notify: bool = False,
        app_id: str | None = None,
    ) -> list[PermissionMember]:
        """Add several collaborators at once: each member is ``(member, perm)``, a
        :class:`PermissionMember` or a mapping with ``member``/``member_id`` and ``perm``
        (and optionally ``member_type``). Every member is checked before the first call;
        they are sent :data:`BATCH_GRANT_LIMIT` per call, in order.

        ``POST /open-apis/drive/v1/permissions/:token/members/batch_create``.
        """
        doc = check_doc_type(doc_type)
        wanted = [_member_spec(m) for m in members]
        if not wanted:
            raise errors.ValidationError("members must not be empty", field="members")
        path = api_path(_PERMS + "/members/batch_create", token=token)
        added: list[PermissionMember] = []
        for start in range(0, len(wanted), BATCH_GRANT_LIMIT):
            chunk = wanted[start : start + BATCH_GRANT_LIMIT]
            response = self._request(
                "POST",
                path,
                options=self._opts(app_id=app_id),
                params={"type": doc, "need_notification": _flag(notify)},
                json={"members": chunk},
            )
            answered = response.data.get("members")
            items = answered if isinstance(answered, list) else chunk
            for sent, item in zip(chunk, items, strict=False):
                added.append(
                    _member(
                        response,
                        item if isinstance(item, Mapping) else None,
                        sent["member_type"],
                        sent["member_id"],
                    )
                )
        return added

    def update_permission(
        self,
        token: str,
        member: str,
        perm: str,
        *,
        doc_type: str,
        member_type: str | None = None,
        notify: bool = False,
        app_id: str | None = None,
    ) -> PermissionMember:
        """Change an existing collaborator's ``perm``.

        ``PUT /open-apis/drive/v1/permissions/:token/members/:member_id``.
        """
        doc = check_doc_type(doc_type)
        kind, member_id = member_ref(member, member_type)
        response = self._request(
            "PUT",
            api_path(_PERMS + "/members/{member_id}", token=token, member_id=member_id),
            options=self._opts(app_id=app_id),
            params={"type": doc, "need_notification": _flag(notify)},
            json={"member_type": kind, "perm": check_perm(perm)},
        )
        return _member(response, response.data.get("member"), kind, member_id)

    def revoke_permission(
        self,
        token: str,
        member: str,
        *,
        doc_type: str,
        member_type: str | None = None,
        app_id: str | None = None,
    ) -> None:
        """Remove a collaborator.

        ``DELETE /open-apis/drive/v1/permissions/:token/members/:member_id?member_type=``.
        """
        doc = check_doc_type(doc_type)
        kind, member_id = member_ref(member, member_type)
        self._request(
            "DELETE",
            api_path(_PERMS + "/members/{member_id}", token=token, member_id=member_id),
            options=self._opts(app_id=app_id),
            params={"type": doc, "member_type": kind},
            json={"type": doc},
        )

    def list_permissions(
        self, token: str, *, doc_type: str, app_id: str | None = None
    ) -> list[PermissionMember]:
        """Every collaborator of the document (Feishu answers them in one page).

        ``GET /open-apis/drive/v1/permissions/:token/members``.
        """
        doc = check_doc_type(doc_type)
        response = self._request(
            "GET",
            api_path(_PERMS + "/members", token=token),
            options=self._opts(app_id=app_id),
            params={"type": doc, "fields": "*"},
        )
        items = response.data.get("items") or []
        return [
            PermissionMember.from_response(response, dict(item))
            for item in items
            if isinstance(item, Mapping)
        ]

    def check_permission(
        self, token: str, action: str, *, doc_type: str, app_id: str | None = None
    ) -> bool:
        """Whether the caller (the app, or the user of ``as_user``) may ``action`` the
        document: ``view``, ``edit``, ``share``, ``comment``, ``export``, ``copy``, ``print``
        or ``manage_public``.

        ``GET /open-apis/drive/v1/permissions/:token/members/auth``.
        """
        doc = check_doc_type(doc_type)
        if action not in _ACTIONS:
            raise errors.ValidationError(
                f"action must be one of {', '.join(_ACTIONS)}, not {action!r}", field="action"
            )
        response = self._request(
            "GET",
            api_path(_PERMS + "/members/auth", token=token),
            options=self._opts(app_id=app_id),
            params={"type": doc, "action": action},
        )
        return bool(response.data.get("auth_result"))

    def transfer_owner(
        self,
        token: str,
        new_owner: str,
        *,
        doc_type: str,
        member_type: str | None = None,
        notify: bool = True,
        remove_old_owner: bool = False,
        stay_put: bool = False,
        old_owner_perm: str = "full_access",
        app_id: str | None = None,
    ) -> None:
        """Make ``new_owner`` (an email, open_id, union_id or user id with ``member_type=``)
        the owner; the old owner keeps ``old_owner_perm`` unless ``remove_old_owner=True``.

        ``POST /open-apis/drive/v1/permissions/:token/members/transfer_owner``.
        """
        doc = check_doc_type(doc_type)
        kind, member_id = member_ref(new_owner, member_type)
        if kind not in ("email", "openid", "unionid", "userid"):
            raise errors.ValidationError(
                f"the owner must be a person (email, openid, unionid or userid), not {kind}",
                field="new_owner",
            )
        self._request(
            "POST",
            api_path(_PERMS + "/members/transfer_owner", token=token),
            options=self._opts(app_id=app_id, idempotent=False),
            params={
                "type": doc,
                "need_notification": _flag(notify),
                "remove_old_owner": _flag(remove_old_owner),
                "stay_put": _flag(stay_put),
                "old_owner_perm": check_perm(old_owner_perm),
            },
            json={"member_type": kind, "member_id": member_id},
        )

    def get_public_permission(
        self, token: str, *, doc_type: str, app_id: str | None = None
    ) -> PublicPermission:
        """The document's public (link sharing) settings.

        ``GET /open-apis/drive/v1/permissions/:token/public``.
        """
        doc = check_doc_type(doc_type)
        response = self._request(
            "GET",
            api_path(_PERMS + "/public", token=token),
            options=self._opts(app_id=app_id),
            params={"type": doc},
        )
        return PublicPermission.from_response(
            response, dict(response.data.get("permission_public") or {})
        )

    def update_public_permission(
        self,
        token: str,
        *,
        doc_type: str,
        link_share_entity: str | None = None,
        external_access: bool | None = None,
        security_entity: str | None = None,
        comment_entity: str | None = None,
        share_entity: str | None = None,
        invite_external: bool | None = None,
        app_id: str | None = None,
    ) -> PublicPermission:
        """Change the public settings given (the others stay): e.g.
        ``link_share_entity="tenant_readable"`` lets anyone in the tenant with the link read.

        ``PATCH /open-apis/drive/v1/permissions/:token/public``.
        """
        doc = check_doc_type(doc_type)
        body: dict[str, Any] = {}
        for name, value, allowed in (
            ("link_share_entity", link_share_entity, LINK_SHARE_ENTITIES),
            ("security_entity", security_entity, _SECURITY),
            ("comment_entity", comment_entity, _COMMENT),
            ("share_entity", share_entity, _SHARE),
        ):
            if value is None:
                continue
            if value not in allowed:
                raise errors.ValidationError(
                    f"{name} must be one of {', '.join(allowed)}, not {value!r}", field=name
                )
            body[name] = value
        for name, flag in (
            ("external_access", external_access),
            ("invite_external", invite_external),
        ):
            if flag is not None:
                body[name] = bool(flag)
        if not body:
            raise errors.ValidationError(
                "nothing to change: pass link_share_entity=, external_access=...",
                field="link_share_entity",
            )
        response = self._request(
            "PATCH",
            api_path(_PERMS + "/public", token=token),
            options=self._opts(app_id=app_id),
            params={"type": doc},
            json=body,
        )
        return PublicPermission.from_response(
            response, dict(response.data.get("permission_public") or {})
        )

    # -- media --------------------------------------------------------------------------------

    def upload_doc_media(
        self,
        doc_id: str,
        source: Any,
        media_type: str = "image",
        *,
        parent_node: str | None = None,
        file_name: str | None = None,
        progress: Progress | None = None,
        resume_file: str | os.PathLike[str] | None = None,
        upload_id: str | None = None,
        app_id: str | None = None,
    ) -> MediaAsset:
        """Upload an image or file into the Docx document ``doc_id``; returns the
        :class:`MediaAsset` whose ``file_token`` an image or file block refers to.

        ``source``: a path, bytes or a binary file object. ``parent_node`` is the block the
        media belongs to (Feishu's Docx pages: the image block's id; default ``doc_id``).
        ``media_type="image"`` checks the content is an image Feishu shows. Up to 20 MB one
        ``upload_all`` call; above, the multipart path (see :meth:`upload_media`).
        """
        if media_type not in ("image", "file"):
            raise errors.ValidationError(
                f"media_type must be 'image' or 'file', not {media_type!r}", field="media_type"
            )
        doc = _node(doc_id, "doc_id")
        return self.upload_media(
            source,
            parent_type=f"docx_{media_type}",
            parent_node=parent_node or doc,
            file_name=file_name,
            extra={"drive_route_token": doc},
            progress=progress,
            resume_file=resume_file,
            upload_id=upload_id,
            app_id=app_id,
        )

    def upload_media(
        self,
        source: Any,
        *,
        parent_type: str,
        parent_node: str,
        file_name: str | None = None,
        extra: Mapping[str, Any] | str | None = None,
        progress: Progress | None = None,
        resume_file: str | os.PathLike[str] | None = None,
        upload_id: str | None = None,
        app_id: str | None = None,
    ) -> MediaAsset:
        """Upload media for a document, sheet or base (``parent_type`` ``docx_image``,
        ``sheet_file``, ``bitable_image``...; ``parent_node`` the block, sheet or table).

        Up to 20 MB: one ``upload_all`` with the content's adler32. Larger: ``upload_prepare``
        then one ``upload_part`` per 4 MB block (each with its adler32), then
        ``upload_finish``. With ``resume_file=PATH`` the upload's state is saved there after
        every part; calling again with the same file and source skips the parts done (within
        the upload id's 24 h) and deletes the file on success. ``upload_id=`` resumes an upload
        whose state was not saved (every part is sent again under that id).

        Media uploads of one app never overlap (Feishu answers 1061045 otherwise; lark-service
        serialises them and retries a 1061045). Raises ValidationError (empty, over 20 GB, a
        non-image for ``*_image``, a bad name) before any request.
        """
        if parent_type not in MEDIA_PARENT_TYPES:
            raise errors.ValidationError(
                f"parent_type must be one of {', '.join(MEDIA_PARENT_TYPES)}, not {parent_type!r}",
                field="parent_type",
            )
        node = _node(parent_node, "parent_node")
        upload = UploadSource(source, file_name=file_name, what="media")
        upload.check_size(MAX_UPLOAD_BYTES)
        if parent_type.endswith("_image"):
            _check_image(upload)
        name = upload.file_name or _default_name(upload, parent_type)
        extra_text = _extra(extra)
        data, state = self._upload(
            "media",
            upload,
            name,
            parent_type=parent_type,
            parent_node=node,
            extra=extra_text,
            progress=progress,
            resume_file=resume_file,
            upload_id=upload_id,
            app_id=app_id,
        )
        response, payload = data
        return MediaAsset.from_response(
            response,
            {
                "file_token": payload.get("file_token"),
                "file_name": name,
                "size": upload.size,
                "parent_type": parent_type,
                "parent_node": node,
                "checksum": payload.get("_checksum"),
                "upload_id": state.upload_id if state else None,
                "parts": state.block_num if state else 1,
            },
        )

    def download_doc_media(
        self,
        file_token: str,
        save_path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        progress: Progress | None = None,
        extra: Mapping[str, Any] | str | None = None,
        app_id: str | None = None,
    ) -> Path:
        """Download a document's media to ``save_path`` (a file path, or an existing
        directory: the name Feishu gives, made safe), streaming to a temp file in the same
        directory that is renamed into place when complete; returns the path written.

        The content is never held in memory whole. A failed or interrupted download leaves no
        file behind; it is retried from the start (Range resumption is not implemented).
        ``GET /open-apis/drive/v1/medias/:file_token/download``. Raises NotFoundError (bad
        token), ValidationError (the file exists and ``overwrite`` is False).
        """
        params = {"extra": _extra(extra)} if extra is not None else None
        path = api_path(_MEDIAS + "/{file_token}/download", file_token=file_token)
        return self._download(
            path,
            save_path,
            params,
            overwrite=overwrite,
            progress=progress,
            app_id=app_id,
            fallback_name=file_token,
        )

    def get_media_download_urls(
        self, file_tokens: Iterable[str], *, app_id: str | None = None
    ) -> dict[str, str]:
        """Temporary download URLs (valid 24 h) for up to 5 media tokens: ``{token: url}``.

        ``GET /open-apis/drive/v1/medias/batch_get_tmp_download_url``.
        """
        tokens = [_node(t, "file_tokens") for t in file_tokens]
        if not tokens or len(tokens) > 5:
            raise errors.ValidationError("give 1 to 5 file tokens", field="file_tokens")
        response = self._request(
            "GET",
            _MEDIAS + "/batch_get_tmp_download_url",
            options=self._opts(app_id=app_id),
            params={"file_tokens": tokens},
        )
        found: dict[str, str] = {}
        for item in response.data.get("tmp_download_urls") or []:
            if isinstance(item, Mapping) and item.get("file_token"):
                found[str(item["file_token"])] = str(item.get("tmp_download_url") or "")
        return found

    # -- files and folders --------------------------------------------------------------------

    def upload_file(
        self,
        source: Any,
        *,
        folder_token: str | None = None,
        file_name: str | None = None,
        progress: Progress | None = None,
        resume_file: str | os.PathLike[str] | None = None,
        upload_id: str | None = None,
        app_id: str | None = None,
    ) -> DriveFile:
        """Upload a file into a Drive folder (default: the app's root folder); returns the
        new :class:`DriveFile`. Same paths, checks and resumption as :meth:`upload_media`.

        ``POST /open-apis/drive/v1/files/upload_all`` (or ``upload_prepare`` / ``_part`` /
        ``_finish``).
        """
        upload = UploadSource(source, file_name=file_name, what="file")
        upload.check_size(MAX_UPLOAD_BYTES)
        if upload.file_name is None:
            raise errors.ValidationError(
                "file_name is needed when uploading bytes or an unnamed file object",
                field="file_name",
            )
        folder = (
            _node(folder_token, "folder_token")
            if folder_token is not None
            else self.root_folder_token(app_id=app_id)
        )
        data, _state = self._upload(
            "file",
            upload,
            upload.file_name,
            parent_type="explorer",
            parent_node=folder,
            extra=None,
            progress=progress,
            resume_file=resume_file,
            upload_id=upload_id,
            app_id=app_id,
        )
        response, payload = data
        return DriveFile.from_response(
            response,
            {
                "token": payload.get("file_token"),
                "name": upload.file_name,
                "type": "file",
                "parent_token": folder,
                "url": payload.get("url"),
                "version": payload.get("version"),
                "size": upload.size,
            },
        )

    def download_file(
        self,
        file_token: str,
        save_path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        progress: Progress | None = None,
        app_id: str | None = None,
    ) -> Path:
        """Download a Drive file (streamed, atomic; see :meth:`download_doc_media`).

        ``GET /open-apis/drive/v1/files/:file_token/download``.
        """
        path = api_path(_FILES + "/{file_token}/download", file_token=file_token)
        return self._download(
            path,
            save_path,
            None,
            overwrite=overwrite,
            progress=progress,
            app_id=app_id,
            fallback_name=file_token,
        )

    def root_folder_token(self, *, app_id: str | None = None) -> str:
        """The token of the caller's root folder ("My Space"; the app's own for a tenant
        token). ``GET /open-apis/drive/explorer/v2/root_folder/meta``."""
        response = self._request("GET", _ROOT_FOLDER, options=self._opts(app_id=app_id))
        token = response.data.get("token")
        if not isinstance(token, str) or not token:
            raise errors.ServerError(
                "the root folder answer has no token",
                request_id=response.request_id,
                log_id=response.log_id,
                retryable=False,
            )
        return token

    def create_folder(
        self, name: str, *, folder_token: str | None = None, app_id: str | None = None
    ) -> DriveFile:
        """Create a folder called ``name`` in ``folder_token`` (default: the root folder).

        ``POST /open-apis/drive/v1/files/create_folder``.
        """
        if not isinstance(name, str) or not name.strip() or len(name) > 256:
            raise errors.ValidationError("name must be 1 to 256 characters", field="name")
        path_id(name.replace("/", "_"), "name")  # valid text, no control characters
        parent = (
            _node(folder_token, "folder_token")
            if folder_token is not None
            else self.root_folder_token(app_id=app_id)
        )
        response = self._request(
            "POST",
            _FILES + "/create_folder",
            options=self._opts(app_id=app_id, idempotent=False),
            json={"name": name, "folder_token": parent},
        )
        return DriveFile.from_response(
            response,
            {
                "token": response.data.get("token"),
                "url": response.data.get("url"),
                "name": name,
                "type": "folder",
                "parent_token": parent,
            },
        )

    def list_files(
        self,
        *,
        folder_token: str | None = None,
        order_by: str | None = None,
        direction: str | None = None,
        app_id: str | None = None,
    ) -> Pager[DriveFile]:
        """The files, folders and documents in a folder (default: the root folder), as a lazy
        pager (200 per page). ``order_by``: ``EditedTime`` or ``CreatedTime``; ``direction``:
        ``ASC`` or ``DESC``.

        ``GET /open-apis/drive/v1/files``.
        """
        params: dict[str, Any] = {"page_size": _LIST_PAGE_SIZE}
        if folder_token is not None:
            params["folder_token"] = _node(folder_token, "folder_token")
        if order_by is not None:
            if order_by not in ("EditedTime", "CreatedTime"):
                raise errors.ValidationError(
                    "order_by must be 'EditedTime' or 'CreatedTime'", field="order_by"
                )
            params["order_by"] = order_by
        if direction is not None:
            if direction not in ("ASC", "DESC"):
                raise errors.ValidationError("direction must be 'ASC' or 'DESC'", field="direction")
            params["direction"] = direction
        opts = self._opts(app_id=app_id)

        def fetch(page_token: str | None) -> Page[DriveFile]:
            query = dict(params)
            if page_token:
                query["page_token"] = page_token
            response = self._request("GET", _FILES, options=opts, params=query)
            items = [
                DriveFile.from_response(response, dict(item))
                for item in response.data.get("files") or []
                if isinstance(item, Mapping)
            ]
            token = response.data.get("next_page_token")
            more = bool(response.data.get("has_more")) and isinstance(token, str) and bool(token)
            return Page(items, token if more else None)

        return Pager(fetch)

    # -- internals: uploads -------------------------------------------------------------------

    def _upload(
        self,
        kind: str,
        upload: UploadSource,
        name: str,
        *,
        parent_type: str,
        parent_node: str,
        extra: str | None,
        progress: Progress | None,
        resume_file: str | os.PathLike[str] | None,
        upload_id: str | None,
        app_id: str | None,
    ) -> tuple[tuple[ApiResponse, dict[str, Any]], UploadState | None]:
        base = _MEDIAS if kind == "media" else _FILES
        if upload_id is not None:
            upload_id = _node(upload_id, "upload_id")
        if upload.size <= UPLOAD_ALL_LIMIT and resume_file is None and upload_id is None:
            content = upload.read(0, upload.size)
            checksum = str(adler32(content))
            form: dict[str, Any] = {
                "file_name": name,
                "parent_type": parent_type,
                "parent_node": parent_node,
                "size": str(upload.size),
                "checksum": checksum,
            }
            if extra is not None:
                form["extra"] = extra
            response = self._request(
                "POST",
                base + "/upload_all",
                options=self._opts(app_id=app_id, idempotent=False),
                data=form,
                files={"file": (name, content, "application/octet-stream")},
            )
            if progress is not None:
                progress(upload.size, upload.size)
            return (response, {**response.data, "_checksum": checksum}), None
        state = self._prepared(
            kind, upload, name, parent_type, parent_node, extra, resume_file, upload_id, app_id
        )
        try:
            response = self._send_parts(base, upload, state, progress, resume_file, app_id)
        except errors.LarkError as exc:
            where = f"resume_file={os.fspath(resume_file)!r}" if resume_file else ""
            note = (
                f"multipart upload {state.upload_id} stopped after {len(state.done)} of "
                f"{state.block_num} parts; call again with "
                + (where or f"upload_id={state.upload_id!r}")
                + " within 24 h to resume."
            )
            exc.hint = f"{exc.hint} {note}" if exc.hint else note
            raise
        if resume_file is not None:
            with contextlib.suppress(OSError):
                os.unlink(resume_file)
        return (response, dict(response.data)), state

    def _prepared(
        self,
        kind: str,
        upload: UploadSource,
        name: str,
        parent_type: str,
        parent_node: str,
        extra: str | None,
        resume_file: str | os.PathLike[str] | None,
        upload_id: str | None,
        app_id: str | None,
    ) -> UploadState:
        """The upload state to continue: the saved one when it matches, else a new upload."""
        identity = upload.identity()
        if resume_file is not None:
            saved = UploadState.load(resume_file)
            if (
                saved is not None
                and saved.kind == kind
                and saved.identity == identity
                and saved.parent_type == parent_type
                and saved.parent_node == parent_node
                and (upload_id is None or saved.upload_id == upload_id)
                and not saved.expired()
            ):
                instrumentation.emit(
                    "drive.upload_resumed",
                    self._app_id(app_id),
                    kind=kind,
                    parts_done=len(saved.done),
                    parts=saved.block_num,
                )
                return saved
        if upload_id is not None:
            # Feishu's block size is fixed (4 MB); an upload id alone does not say it
            parts = plan_parts(upload.size, BLOCK_SIZE)
            state = UploadState(
                kind=kind,  # type: ignore[arg-type]
                upload_id=upload_id,
                block_size=BLOCK_SIZE,
                block_num=len(parts),
                size=upload.size,
                file_name=name,
                parent_type=parent_type,
                parent_node=parent_node,
                prepared_at=time.time(),
                identity=identity,
            )
        else:
            base = _MEDIAS if kind == "media" else _FILES
            body: dict[str, Any] = {
                "file_name": name,
                "parent_type": parent_type,
                "parent_node": parent_node,
                "size": upload.size,
            }
            if extra is not None:
                body["extra"] = extra
            response = self._request(
                "POST",
                base + "/upload_prepare",
                options=self._opts(app_id=app_id, idempotent=False),
                json=body,
            )
            data = response.data
            new_id = data.get("upload_id")
            block_size = data.get("block_size")
            block_num = data.get("block_num")
            if (
                not isinstance(new_id, str)
                or not isinstance(block_size, int)
                or block_size <= 0
                or not isinstance(block_num, int)
            ):
                raise errors.ServerError(
                    "upload_prepare answered without upload_id/block_size/block_num",
                    request_id=response.request_id,
                    log_id=response.log_id,
                    retryable=False,
                )
            state = UploadState(
                kind=kind,  # type: ignore[arg-type]
                upload_id=new_id,
                block_size=block_size,
                block_num=block_num,
                size=upload.size,
                file_name=name,
                parent_type=parent_type,
                parent_node=parent_node,
                prepared_at=time.time(),
                identity=identity,
            )
        if resume_file is not None:
            state.save(resume_file)
        return state

    def _send_parts(
        self,
        base: str,
        upload: UploadSource,
        state: UploadState,
        progress: Progress | None,
        resume_file: str | os.PathLike[str] | None,
        app_id: str | None,
    ) -> ApiResponse:
        parts = plan_parts(state.size, state.block_size)
        if len(parts) != state.block_num:
            raise errors.ServerError(
                f"Feishu planned {state.block_num} parts of {state.block_size} bytes for "
                f"{state.size} bytes; lark-service counts {len(parts)}",
                retryable=False,
            )
        if progress is not None:
            progress(state.done_bytes, state.size)
        part_opts = self._opts(app_id=app_id)  # a part may be re-sent: it replaces itself
        for part in parts:
            if part.seq in state.done:
                continue
            content = upload.read(part.offset, part.size)
            if len(content) != part.size:
                raise errors.ValidationError(
                    f"the source changed while uploading: part {part.seq} is "
                    f"{len(content)} bytes, expected {part.size}",
                    field="source",
                )
            self._request(
                "POST",
                base + "/upload_part",
                options=part_opts,
                data={
                    "upload_id": state.upload_id,
                    "seq": str(part.seq),
                    "size": str(part.size),
                    "checksum": str(adler32(content)),
                },
                files={"file": (state.file_name, content, "application/octet-stream")},
            )
            del content
            # httpx's request/response objects form reference cycles holding the part's bytes;
            # without a collection each 4 MB block would stay resident until the cyclic GC
            # happens to run, so memory would grow with the file (a young-generation pass is
            # enough and cheap)
            gc.collect(1)
            state.mark(part.seq)
            if resume_file is not None:
                state.save(resume_file)
            if progress is not None:
                progress(state.done_bytes, state.size)
        return self._request(
            "POST",
            base + "/upload_finish",
            options=self._opts(app_id=app_id, idempotent=False),
            json={"upload_id": state.upload_id, "block_num": state.block_num},
        )

    # -- internals: streamed downloads --------------------------------------------------------

    def _download(
        self,
        path: str,
        save_path: str | os.PathLike[str],
        params: Mapping[str, Any] | None,
        *,
        overwrite: bool,
        progress: Progress | None,
        app_id: str | None,
        fallback_name: str,
    ) -> Path:
        """GET ``path`` streamed into ``save_path`` through the pipeline (tokens, pacing,
        retries: a failure while reading starts the file again from the first byte)."""
        target, directory = _save_target(save_path, overwrite)

        def save(response: httpx.Response) -> Path:
            if target is None:
                assert directory is not None
                name = disposition_name(response.headers.get("content-disposition"))
                chosen = file_inside(directory, name or safe_file_name(fallback_name) or "download")
                if chosen.exists() and not overwrite:
                    raise errors.ValidationError(
                        f"{chosen} exists; pass overwrite=True to replace it", field="save_path"
                    )
            else:
                chosen = target
            return _write_stream(response, chosen, progress)

        response = self._request(
            "GET", path, options=self._opts(app_id=app_id), params=params, sink=save
        )
        saved: Path = response.value
        return saved


def _write_stream(response: httpx.Response, target: Path, progress: Progress | None) -> Path:
    """The body into a temp file beside ``target``, length-checked, then renamed into place."""
    total = _content_length(response.headers)
    fh, tmp = open_temp_beside(target)
    done = 0
    try:
        with fh:
            for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                fh.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        if total and done != total:
            raise errors.ServerError(
                f"the download ended after {done} of {total} bytes",
                log_id=response.headers.get("x-tt-logid"),
                http_status=response.status_code,
                retryable=True,
            )
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target

"""Drive v1: permissions (members, owner, public settings), media and files (one-shot and
multipart uploads with adler32 checksums, downloads), folders and folder listings.

Endpoints (``openapi-reference.md`` §6):

| method | path | what |
| --- | --- | --- |
| POST | ``/open-apis/drive/v1/permissions/:token/members`` | add a collaborator |
| POST | ``…/members/batch_create`` | add several |
| GET | ``…/members`` | list collaborators (``items``, no paging) |
| PUT | ``…/members/:member_id`` | change a collaborator's perm |
| DELETE | ``…/members/:member_id?member_type=`` | remove a collaborator |
| GET | ``…/members/auth?action=`` | may the caller do ``action`` (``auth_result``) |
| POST | ``…/members/transfer_owner`` | new owner (``remove_old_owner``, ``old_owner_perm``) |
| GET/PATCH | ``/open-apis/drive/v1/permissions/:token/public`` | public (link) settings |
| POST | ``/open-apis/drive/v1/medias/upload_all`` | media ≤ 20 MB (multipart form) |
| POST | ``…/medias/upload_prepare`` / ``upload_part`` / ``upload_finish`` | multipart |
| GET | ``/open-apis/drive/v1/medias/:file_token/download`` | the bytes |
| GET | ``/open-apis/drive/v1/medias/batch_get_tmp_download_url`` | temporary URLs |
| POST | ``/open-apis/drive/v1/files/upload_all`` (and multipart) | Drive files |
| GET | ``/open-apis/drive/v1/files/:file_token/download`` | the bytes |
| POST | ``/open-apis/drive/v1/files/create_folder`` | a folder |
| GET | ``/open-apis/drive/v1/files?folder_token=`` | a folder's content |
| GET | ``/open-apis/drive/explorer/v2/root_folder/meta`` | the caller's root folder |

Error codes (Feishu's pages; the ``?`` ones in docs/drive.md are unverified): 1061002 bad
parameter (also an unknown or expired ``upload_id``, a part of the wrong size or ``seq``),
1061003 unknown file token (HTTP 404), 1061043 over the size limit, 1061044 parent folder not
found, **1061045** a media upload overlapping another of the same app (or over
:attr:`DriveState.media_per_second`), 1062008 a part's adler32 does not match, 1062009 the
declared size does not match the content, 1062010 parts missing at ``upload_finish``;
permissions: 1063001 bad parameter (member type, perm, doc type, an unknown user or email),
1063002 the caller is not a full_access collaborator, 1063003 refused (a chat the bot is not
in, a department with a tenant token), 1063005 the document does not exist or was deleted.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from python_multipart.multipart import parse_options_header
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .api import Caller, FeishuError, authenticate, error_body, log_id, ok, read_json
from .state import EmulatorState
from .state_drive import (
    Document,
    DriveState,
    Folder,
    MultipartUpload,
    StoredFile,
    drive_state,
    new_token,
)

__all__ = ["DOC_TYPES", "MEDIA_PARENT_TYPES", "ROUTE_TABLE", "routes"]

Handler = Callable[[Request], Awaitable[Response]]

_V1 = "/open-apis/drive/v1"
_PERM = _V1 + "/permissions/{token}"
_MEDIAS = _V1 + "/medias"
_FILES = _V1 + "/files"
DOC_TYPES = (
    "doc",
    "docx",
    "sheet",
    "bitable",
    "file",
    "folder",
    "wiki",
    "mindnote",
    "minutes",
    "slides",
)
MEDIA_PARENT_TYPES = (
    "doc_image",
    "docx_image",
    "sheet_image",
    "doc_file",
    "docx_file",
    "sheet_file",
    "bitable_image",
    "bitable_file",
    "vc_virtual_background",
    "moments",
    "ccm_import_open",
)
MEMBER_TYPES = (
    "email",
    "openid",
    "unionid",
    "openchat",
    "opendepartmentid",
    "userid",
    "groupid",
    "wikispaceid",
    "appid",
)
PERMS = ("view", "edit", "full_access")
_PERM_RANK = {"view": 1, "edit": 2, "full_access": 3}
_ACTION_NEEDS = {
    "view": 1,
    "comment": 1,
    "copy": 1,
    "print": 1,
    "export": 1,
    "edit": 2,
    "share": 3,
    "manage_public": 3,
}
_PUBLIC_ENUMS = {
    "security_entity": ("anyone_can_view", "anyone_can_edit", "only_full_access"),
    "comment_entity": ("anyone_can_view", "anyone_can_edit"),
    "share_entity": ("anyone", "same_tenant", "only_full_access"),
    "link_share_entity": (
        "tenant_readable",
        "tenant_editable",
        "anyone_readable",
        "anyone_editable",
        "closed",
    ),
}
_MAX_NAME = 250
_MAX_FILE = 20 * 1024 * 1024 * 1024


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _params(detail: str) -> FeishuError:
    return FeishuError(1061002, f"params error, ext={detail}")


def _perm_params(detail: str) -> FeishuError:
    return FeishuError(1063001, f"Invalid parameter, ext={detail}")


def _checksum(data: bytes) -> str:
    return str(zlib.adler32(data) & 0xFFFFFFFF)


# -- multipart forms ----------------------------------------------------------------------------


@dataclass
class _Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


class _BinaryPartsParser(MultiPartParser):
    """Starlette's parser keeping parts without a filename (the official SDK's files) as
    bytes instead of text."""

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is not None:
            super().on_part_end()
            return
        headers = dict(part.item_headers)
        content_type = headers.get(b"content-type")
        self.items.append(
            (
                part.field_name,
                _Part(  # type: ignore[arg-type]  # FormData holds what the parser stores
                    part.field_name,
                    None,
                    content_type.decode("latin-1") if content_type is not None else None,
                    bytes(part.data),
                ),
            )
        )


async def _form(request: Request, limit: int) -> dict[str, _Part]:
    kind, _ = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data":
        raise _params("expected multipart/form-data")
    parser = _BinaryPartsParser(request.headers, request.stream(), max_part_size=limit + 1)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        if "exceeded maximum size" in exc.message:
            raise FeishuError(1061043, "file size beyond limit") from None
        raise _params(exc.message) from None
    parts: dict[str, _Part] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                parts[name] = _Part(name, value.filename, value.content_type, await value.read())
            elif isinstance(value, _Part):
                parts[name] = value
            else:
                parts[name] = _Part(name, None, None, str(value).encode())
    finally:
        await form.close()
    return parts


def _text(form: dict[str, _Part], name: str) -> str | None:
    part = form.get(name)
    return None if part is None else part.data.decode("utf-8", "replace")


def _int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _params(f"{name} must be an integer") from None
    return number


# -- media concurrency: Feishu allows no overlap and 5 QPS per app ------------------------------


class _MediaSlot:
    """Held around a media upload call; a second call of the same app meanwhile gets 1061045."""

    def __init__(self, state: EmulatorState, app_id: str) -> None:
        self.state = state
        self.app_id = app_id

    def __enter__(self) -> None:
        drive = drive_state(self.state)
        now = self.state.clock.now()
        with self.state.lock:
            if drive.active_media.get(self.app_id, 0) > 0:
                drive.concurrent_rejections += 1
                raise FeishuError(1061045, "can retry: concurrent upload is not allowed")
            if drive.media_per_second is not None:
                recent = [t for t, a in drive.media_calls if a == self.app_id and t > now - 1.0]
                if len(recent) >= drive.media_per_second:
                    raise FeishuError(1061045, "can retry: too many requests")
            drive.media_calls = [(t, a) for t, a in drive.media_calls if t > now - 1.0]
            drive.media_calls.append((now, self.app_id))
            drive.active_media[self.app_id] = drive.active_media.get(self.app_id, 0) + 1
            drive.max_concurrent_media = max(
                drive.max_concurrent_media, drive.active_media[self.app_id]
            )

    def __exit__(self, *exc: object) -> None:
        drive = drive_state(self.state)
        with self.state.lock:
            drive.active_media[self.app_id] -= 1


def _slot(state: EmulatorState, caller: Caller, kind: str) -> Any:
    if kind == "media":
        return _MediaSlot(state, caller.app_id)
    return _Nothing()


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# -- uploads ------------------------------------------------------------------------------------


def _check_parent(
    state: EmulatorState,
    drive: DriveState,
    caller: Caller,
    kind: str,
    parent_type: str | None,
    parent_node: str | None,
) -> tuple[str, str]:
    if kind == "media":
        if parent_type not in MEDIA_PARENT_TYPES:
            raise _params(f"parent_type must be one of {', '.join(MEDIA_PARENT_TYPES)}")
        if not parent_node:
            raise _params("parent_node is required")
        return parent_type, parent_node
    if parent_type != "explorer":
        raise _params("parent_type must be explorer")
    if not parent_node:
        raise _params("parent_node is required")
    folder = drive.folders.get(parent_node)
    if folder is None:
        raise FeishuError(1061044, "parent node not exist")
    return parent_type, parent_node


def _check_name(name: str | None) -> str:
    if not name:
        raise _params("file_name is required")
    if len(name) > _MAX_NAME:
        raise _params(f"file_name is longer than {_MAX_NAME} characters")
    return name


def _store(
    state: EmulatorState,
    drive: DriveState,
    caller: Caller,
    kind: str,
    name: str,
    parent_type: str,
    parent_node: str,
    data: bytes,
    extra: str | None,
) -> StoredFile:
    token = new_token("boxcn")
    stored = StoredFile(
        token=token,
        kind=kind,
        app_id=caller.app_id,
        name=name,
        parent_type=parent_type,
        parent_node=parent_node,
        data=data,
        created=state.clock.now(),
        extra=extra,
    )
    drive.files[token] = stored
    if kind == "file":
        drive.documents[token] = Document(token, "file", "appid", caller.app_id)
    return stored


def _uploaded(stored: StoredFile) -> dict[str, Any]:
    if stored.kind == "media":
        return {"file_token": stored.token}
    return {
        "file_token": stored.token,
        "url": f"https://emulator.feishu.cn/file/{stored.token}",
        "version": stored.version,
    }


def _upload_all(kind: str) -> Handler:
    async def handler(request: Request) -> Response:
        state = _state(request)
        caller = authenticate(request, state, kinds=("tenant", "user"))
        drive = drive_state(state)
        limit = DriveState.UPLOAD_ALL_LIMIT
        with _slot(state, caller, kind):
            form = await _form(request, limit)
            name = _check_name(_text(form, "file_name"))
            with state.lock:
                parent_type, parent_node = _check_parent(
                    state,
                    drive,
                    caller,
                    kind,
                    _text(form, "parent_type"),
                    _text(form, "parent_node"),
                )
            size = _int(_text(form, "size"), "size")
            if "file" not in form:
                raise _params("file is required")
            data = form["file"].data
            if size <= 0 or not data:
                raise _params("an empty file cannot be uploaded")
            if size > limit or len(data) > limit:
                raise FeishuError(1061043, "file size beyond limit")
            if size != len(data):
                raise FeishuError(
                    1062009, "the actual size is inconsistent with the parameter declaration size"
                )
            checksum = _text(form, "checksum")
            if checksum and checksum != _checksum(data):
                raise FeishuError(1062008, "checksum param Invalid")
            with state.lock:
                stored = _store(
                    state,
                    drive,
                    caller,
                    kind,
                    name,
                    parent_type,
                    parent_node,
                    data,
                    _text(form, "extra"),
                )
        return ok(_uploaded(stored))

    return handler


def _upload_prepare(kind: str) -> Handler:
    async def handler(request: Request) -> Response:
        state = _state(request)
        caller = authenticate(request, state, kinds=("tenant", "user"))
        drive = drive_state(state)
        with _slot(state, caller, kind):
            body = await read_json(request, code=1061002, msg="params error")
            name = _check_name(body.get("file_name"))
            size = _int(body.get("size"), "size")
            if size <= 0:
                raise _params("size must be positive")
            if size > _MAX_FILE:
                raise FeishuError(1061043, "file size beyond limit")
            with state.lock:
                parent_type, parent_node = _check_parent(
                    state, drive, caller, kind, body.get("parent_type"), body.get("parent_node")
                )
                block = DriveState.BLOCK_SIZE
                upload = MultipartUpload(
                    upload_id=secrets_id(),
                    kind=kind,
                    app_id=caller.app_id,
                    file_name=name,
                    parent_type=parent_type,
                    parent_node=parent_node,
                    size=size,
                    block_size=block,
                    block_num=(size + block - 1) // block,
                    created=state.clock.now(),
                    extra=body.get("extra") if isinstance(body.get("extra"), str) else None,
                )
                drive.uploads[upload.upload_id] = upload
        return ok(
            {
                "upload_id": upload.upload_id,
                "block_size": upload.block_size,
                "block_num": upload.block_num,
            }
        )

    return handler


def secrets_id() -> str:
    import secrets

    return secrets.token_hex(16)


def _live_upload(
    state: EmulatorState, drive: DriveState, caller: Caller, kind: str, upload_id: str | None
) -> MultipartUpload:
    upload = drive.uploads.get(upload_id or "")
    if upload is None or upload.kind != kind or upload.app_id != caller.app_id:
        raise _params("upload_id is unknown")
    if state.clock.now() - upload.created >= DriveState.UPLOAD_TTL:
        drive.uploads.pop(upload.upload_id, None)
        raise _params("upload_id expired (24 h)")
    return upload


def _upload_part(kind: str) -> Handler:
    async def handler(request: Request) -> Response:
        state = _state(request)
        caller = authenticate(request, state, kinds=("tenant", "user"))
        drive = drive_state(state)
        with _slot(state, caller, kind):
            form = await _form(request, DriveState.BLOCK_SIZE)
            with state.lock:
                upload = _live_upload(state, drive, caller, kind, _text(form, "upload_id"))
            seq = _int(_text(form, "seq"), "seq")
            size = _int(_text(form, "size"), "size")
            if not 0 <= seq < upload.block_num:
                raise _params(f"seq must be 0 to {upload.block_num - 1}")
            if "file" not in form:
                raise _params("file is required")
            data = form["file"].data
            expected = min(upload.block_size, upload.size - seq * upload.block_size)
            if size != len(data) or len(data) != expected:
                raise FeishuError(
                    1062009,
                    "the actual size is inconsistent with the parameter declaration size, "
                    f"ext=part {seq} must be {expected} bytes",
                )
            checksum = _text(form, "checksum")
            with state.lock:
                corrupted = drive.take_corruption()
            if checksum and (corrupted or checksum != _checksum(data)):
                raise FeishuError(1062008, "checksum param Invalid")
            with state.lock:
                upload.parts[seq] = data
        return ok({})

    return handler


def _upload_finish(kind: str) -> Handler:
    async def handler(request: Request) -> Response:
        state = _state(request)
        caller = authenticate(request, state, kinds=("tenant", "user"))
        drive = drive_state(state)
        with _slot(state, caller, kind):
            body = await read_json(request, code=1061002, msg="params error")
            with state.lock:
                upload = _live_upload(state, drive, caller, kind, body.get("upload_id"))
                block_num = _int(body.get("block_num"), "block_num")
                if block_num != upload.block_num:
                    raise _params(f"block_num must be {upload.block_num}")
                missing = [s for s in range(upload.block_num) if s not in upload.parts]
                if missing:
                    raise FeishuError(
                        1062010,
                        f"block missing, please upload all blocks, ext=missing {missing[:10]}",
                    )
                data = b"".join(upload.parts[s] for s in range(upload.block_num))
                upload.parts.clear()
                del drive.uploads[upload.upload_id]
                if len(data) != upload.size:
                    raise FeishuError(
                        1062009,
                        "the actual size is inconsistent with the parameter declaration size",
                    )
                stored = _store(
                    state,
                    drive,
                    caller,
                    kind,
                    upload.file_name,
                    upload.parent_type,
                    upload.parent_node,
                    data,
                    upload.extra,
                )
        return ok(_uploaded(stored))

    return handler


# -- downloads ----------------------------------------------------------------------------------


def _binary(handler: Handler) -> Handler:
    """A download route: its errors, too, spelled with Feishu's header casing."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except FeishuError as exc:
            return _canonical(
                JSONResponse(
                    error_body(exc.code, exc.msg, log_id(request), **exc.error),
                    status_code=exc.http_status,
                    headers=exc.headers,
                )
            )

    return wrapped


def _canonical(response: Response) -> Response:
    response.raw_headers = [
        (b"-".join(part.capitalize() for part in name.split(b"-")), value)
        for name, value in response.raw_headers
    ]
    return response


def _file_response(stored: StoredFile) -> Response:
    name = stored.name
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return _canonical(
        Response(
            stored.data,
            media_type="application/octet-stream",
            headers={"Content-Disposition": disposition},
        )
    )


def _download(kind: str) -> Handler:
    async def handler(request: Request) -> Response:
        state = _state(request)
        authenticate(request, state, kinds=("tenant", "user"))
        token = request.path_params["file_token"]
        with state.lock:
            stored = drive_state(state).files.get(token)
        if stored is None or stored.kind != kind:
            raise FeishuError(1061003, "file not exist", http_status=404)
        return _file_response(stored)

    return _binary(handler)


async def tmp_download_urls(request: Request) -> Response:
    state = _state(request)
    authenticate(request, state, kinds=("tenant", "user"))
    tokens = request.query_params.getlist("file_tokens")
    if not tokens:
        raise _params("file_tokens is required")
    drive = drive_state(state)
    base = f"{request.url.scheme}://{request.url.netloc}"
    found = []
    with state.lock:
        for token in tokens:
            stored = drive.files.get(token)
            if stored is None or stored.kind != "media":
                raise FeishuError(1061003, "file not exist", http_status=404)
            code = secrets_id()
            drive.tmp_urls[code] = token
            found.append(
                {"file_token": token, "tmp_download_url": f"{base}/_emulator/drive/tmp/{code}"}
            )
    return ok({"tmp_download_urls": found})


async def tmp_download(request: Request) -> Response:
    state = _state(request)
    drive = drive_state(state)
    with state.lock:
        token = drive.tmp_urls.get(request.path_params["code"], "")
        stored = drive.files.get(token)
    if stored is None:
        return Response(status_code=404)
    return _file_response(stored)


# -- folders ------------------------------------------------------------------------------------


async def root_folder(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    with state.lock:
        token = drive_state(state).root_of(caller.app_id, state.clock.now())
    return ok({"token": token, "id": token[-10:], "user_id": caller.app_id})


async def create_folder(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    body = await read_json(request, code=1061002, msg="params error")
    name = body.get("name")
    parent = body.get("folder_token")
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise _params("name must be 1 to 256 characters")
    drive = drive_state(state)
    with state.lock:
        if not isinstance(parent, str) or not parent:
            parent = drive.root_of(caller.app_id, state.clock.now())
        if parent not in drive.folders:
            raise FeishuError(1061044, "parent node not exist")
        token = new_token("fldcn")
        drive.folders[token] = Folder(token, name, parent, caller.app_id, state.clock.now())
        drive.documents[token] = Document(token, "folder", "appid", caller.app_id)
    return ok({"token": token, "url": f"https://emulator.feishu.cn/drive/folder/{token}"})


async def list_files(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    query = request.query_params
    drive = drive_state(state)
    page_size = _int(query.get("page_size", "100"), "page_size")
    if not 1 <= page_size <= 200:
        raise _params("page_size must be 1 to 200")
    with state.lock:
        folder = query.get("folder_token") or drive.root_of(caller.app_id, state.clock.now())
        if folder not in drive.folders:
            raise FeishuError(1061044, "parent node not exist")
        entries: list[tuple[float, dict[str, Any]]] = []
        for f in drive.folders.values():
            if f.parent_token == folder:
                entries.append((f.created, _entry(f.token, f.name, "folder", folder, f.created)))
        for s in drive.files.values():
            if s.kind == "file" and s.parent_node == folder:
                entries.append((s.created, _entry(s.token, s.name, "file", folder, s.created)))
    reverse = query.get("direction") == "DESC"
    entries.sort(key=lambda e: e[0], reverse=reverse)
    start = _int(query.get("page_token") or "0", "page_token")
    page = [e[1] for e in entries[start : start + page_size]]
    more = start + page_size < len(entries)
    data: dict[str, Any] = {"files": page, "has_more": more}
    if more:
        data["next_page_token"] = str(start + page_size)
    return ok(data)


def _entry(token: str, name: str, kind: str, parent: str, created: float) -> dict[str, Any]:
    return {
        "token": token,
        "name": name,
        "type": kind,
        "parent_token": parent,
        "url": f"https://emulator.feishu.cn/{'drive/folder' if kind == 'folder' else 'file'}/"
        f"{token}",
        "created_time": str(int(created)),
        "modified_time": str(int(created)),
        "owner_id": "",
    }


# -- permissions --------------------------------------------------------------------------------


def _document(state: EmulatorState, caller: Caller, token: str, doc_type: str | None) -> Document:
    """The document ``token`` of ``doc_type`` the caller may manage (errors otherwise)."""
    if doc_type not in DOC_TYPES:
        raise _perm_params(f"type must be one of {', '.join(DOC_TYPES)}")
    drive = drive_state(state)
    doc = drive.documents.get(token)
    if doc is None:
        doc = _from_docx(state, token)
        if doc is not None:
            drive.documents[token] = doc
    if doc is None:
        if not drive.auto_documents:
            raise FeishuError(1063005, "Resource is deleted or not exist")
        doc = drive.documents[token] = Document(token, doc_type, "appid", caller.app_id)
    if doc.deleted:
        raise FeishuError(1063005, "Resource is deleted or not exist")
    if doc.doc_type != doc_type:
        raise _perm_params(f"type {doc_type} does not match the resource ({doc.doc_type})")
    return doc


def _docx_document(state: EmulatorState, token: str) -> Any:
    """The Docx module's document ``token`` (None without that module or document)."""
    try:
        from .docx_state import docx_state
    except ImportError:  # pragma: no cover - the Docx routes are optional
        return None
    try:
        return docx_state(state).documents.get(token)
    except AttributeError:  # pragma: no cover - a different Docx state shape
        return None


def _from_docx(state: EmulatorState, token: str) -> Document | None:
    """A Document for a Docx document: owned by its creating app; the apps it was shared
    with are full_access collaborators."""
    found = _docx_document(state, token)
    if found is None:
        return None
    owner = str(getattr(found, "owner_app", ""))
    doc = Document(token, "docx", "appid", owner)
    for app_id in sorted(getattr(found, "apps", set()) or set()):
        if app_id != owner:
            doc.members[("appid", app_id)] = {"perm": "full_access", "type": "app"}
    return doc


def _sync_docx_apps(state: EmulatorState, doc: Document) -> None:
    """Apps granted on a Docx document may read and edit it in the Docx routes too."""
    found = _docx_document(state, doc.token)
    apps = getattr(found, "apps", None)
    if isinstance(apps, set):
        apps.clear()
        if doc.owner_type == "appid":
            apps.add(doc.owner_id)
        apps.update(mid for (mtype, mid), _ in doc.members.items() if mtype == "appid")


def _caller_rank(state: EmulatorState, doc: Document, caller: Caller) -> int:
    if caller.kind == "user" and caller.user_id:
        user = state.get_user(caller.user_id)
        if user is not None:
            if doc.owner_type in ("openid", "userid", "unionid", "email") and doc.owner_id in (
                user.open_id_for(caller.app_id),
                user.user_id,
                user.union_id,
                user.email,
            ):
                return 3
            for (_mtype, mid), member in doc.members.items():
                if mid in (user.open_id_for(caller.app_id), user.union_id, user.email):
                    return _PERM_RANK[member["perm"]]
        return 0
    if doc.owner_type == "appid" and doc.owner_id == caller.app_id:
        return 3
    info = doc.members.get(("appid", caller.app_id))
    return _PERM_RANK[info["perm"]] if info else 0


def _manageable(state: EmulatorState, caller: Caller, token: str, doc_type: str | None) -> Document:
    doc = _document(state, caller, token, doc_type)
    if _caller_rank(state, doc, caller) < 3:
        raise FeishuError(
            1063002,
            "Permission denied, ext=the caller is not a full_access collaborator",
            http_status=403,
        )
    return doc


def _member_kind(state: EmulatorState, caller: Caller, member_type: Any, member_id: Any) -> str:
    """Feishu's ``type`` of the member (user, chat, department...) after checking it exists."""
    if member_type not in MEMBER_TYPES:
        raise _perm_params(f"member_type must be one of {', '.join(MEMBER_TYPES)}")
    if not isinstance(member_id, str) or not member_id:
        raise _perm_params("member_id is required")
    lookups = {"email": "email", "openid": "open_id", "unionid": "union_id", "userid": "user_id"}
    if member_type in lookups:
        if state.find_user(lookups[member_type], member_id, caller.app_id) is None:
            raise _perm_params(f"{member_type} {member_id} not found")
        return "user"
    if member_type == "openchat":
        chat = state.get_chat(member_id)
        if chat is None or not chat.has_bot(caller.app_id):
            raise FeishuError(1063003, "Invalid operation, ext=the bot is not in the chat")
        return "chat"
    if member_type == "opendepartmentid":
        if caller.kind != "user":
            raise FeishuError(
                1063003,
                "Invalid operation, ext=a tenant access token cannot add departments",
            )
        if state.get_department(member_id) is None:
            raise _perm_params(f"department {member_id} not found")
        return "department"
    return {"groupid": "group", "wikispaceid": "wiki_space", "appid": "app"}[member_type]


def _member_out(
    state: EmulatorState, caller: Caller, key: tuple[str, str], info: dict[str, Any]
) -> dict[str, Any]:
    return {
        "member_type": key[0],
        "member_id": key[1],
        "perm": info["perm"],
        "perm_type": info.get("perm_type", "container"),
        "type": info.get("type"),
    }


def _flag(value: str | None) -> bool:
    return (value or "").lower() == "true"


def _grant(
    state: EmulatorState,
    caller: Caller,
    doc: Document,
    item: dict[str, Any],
    notify: bool,
) -> dict[str, Any]:
    member_type = item.get("member_type")
    member_id = item.get("member_id")
    perm = item.get("perm")
    kind = _member_kind(state, caller, member_type, member_id)
    if perm not in PERMS:
        raise _perm_params("perm must be view, edit or full_access")
    key = (str(member_type), str(member_id))
    info = {"perm": perm, "perm_type": item.get("perm_type") or "container", "type": kind}
    doc.members[key] = info
    _sync_docx_apps(state, doc)
    if notify:
        drive_state(state).notifications.append(
            {"token": doc.token, "member_type": key[0], "member_id": key[1], "perm": perm}
        )
    return _member_out(state, caller, key, info)


async def add_member(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    body = await read_json(request, code=1063001, msg="Invalid parameter")
    with state.lock:
        doc = _manageable(
            state, caller, request.path_params["token"], request.query_params.get("type")
        )
        member = _grant(
            state, caller, doc, body, _flag(request.query_params.get("need_notification"))
        )
    return ok({"member": member})


async def batch_add_members(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    body = await read_json(request, code=1063001, msg="Invalid parameter")
    members = body.get("members")
    if not isinstance(members, list) or not members:
        raise _perm_params("members is required")
    notify = _flag(request.query_params.get("need_notification"))
    with state.lock:
        doc = _manageable(
            state, caller, request.path_params["token"], request.query_params.get("type")
        )
        for item in members:  # all checked before any is added
            if not isinstance(item, dict):
                raise _perm_params("members must be objects")
            _member_kind(state, caller, item.get("member_type"), item.get("member_id"))
            if item.get("perm") not in PERMS:
                raise _perm_params("perm must be view, edit or full_access")
        added = [_grant(state, caller, doc, item, notify) for item in members]
    return ok({"members": added})


async def list_members(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    with state.lock:
        doc = _document(
            state, caller, request.path_params["token"], request.query_params.get("type")
        )
        if _caller_rank(state, doc, caller) < 1:
            raise FeishuError(1063002, "Permission denied", http_status=403)
        items = []
        for key, info in doc.members.items():
            out = _member_out(state, caller, key, info)
            out["name"] = _member_name(state, caller, key)
            out["avatar"] = ""
            out["external_label"] = False
            items.append(out)
    return ok({"items": items})


def _member_name(state: EmulatorState, caller: Caller, key: tuple[str, str]) -> str:
    lookups = {"email": "email", "openid": "open_id", "unionid": "union_id", "userid": "user_id"}
    if key[0] in lookups:
        user = state.find_user(lookups[key[0]], key[1], caller.app_id)
        return user.name if user else ""
    if key[0] == "openchat":
        chat = state.get_chat(key[1])
        return chat.name if chat else ""
    return ""


async def update_member(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    body = await read_json(request, code=1063001, msg="Invalid parameter")
    member_id = request.path_params["member_id"]
    with state.lock:
        doc = _manageable(
            state, caller, request.path_params["token"], request.query_params.get("type")
        )
        key = (str(body.get("member_type")), member_id)
        if key not in doc.members:
            raise _perm_params(f"{member_id} is not a collaborator")
        member = _grant(
            state,
            caller,
            doc,
            {**body, "member_id": member_id},
            _flag(request.query_params.get("need_notification")),
        )
    return ok({"member": member})


async def delete_member(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    member_id = request.path_params["member_id"]
    member_type = request.query_params.get("member_type")
    if member_type not in MEMBER_TYPES:
        raise _perm_params("member_type is required")
    with state.lock:
        doc = _manageable(
            state, caller, request.path_params["token"], request.query_params.get("type")
        )
        if doc.members.pop((member_type, member_id), None) is None:
            raise _perm_params(f"{member_id} is not a collaborator")
        _sync_docx_apps(state, doc)
    return ok({})


async def auth_member(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    action = request.query_params.get("action")
    if action not in _ACTION_NEEDS:
        raise _perm_params(f"action must be one of {', '.join(_ACTION_NEEDS)}")
    with state.lock:
        doc = _document(
            state, caller, request.path_params["token"], request.query_params.get("type")
        )
        allowed = _caller_rank(state, doc, caller) >= _ACTION_NEEDS[action]
    return ok({"auth_result": allowed})


async def transfer_owner(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    body = await read_json(request, code=1063001, msg="Invalid parameter")
    query = request.query_params
    old_perm = query.get("old_owner_perm") or "full_access"
    if old_perm not in PERMS:
        raise _perm_params("old_owner_perm must be view, edit or full_access")
    with state.lock:
        doc = _document(state, caller, request.path_params["token"], query.get("type"))
        owner_app = doc.owner_type == "appid" and doc.owner_id == caller.app_id
        if not owner_app and _caller_rank(state, doc, caller) < 3:
            raise FeishuError(
                1063002, "Permission denied, ext=only the owner can transfer", http_status=403
            )
        member_type = body.get("member_type")
        kind = _member_kind(state, caller, member_type, body.get("member_id"))
        if kind != "user":
            raise _perm_params("the new owner must be a user")
        old = (doc.owner_type, doc.owner_id)
        doc.owner_type, doc.owner_id = str(member_type), str(body["member_id"])
        doc.members.pop((doc.owner_type, doc.owner_id), None)
        if not _flag(query.get("remove_old_owner")):
            doc.members[old] = {
                "perm": old_perm,
                "perm_type": "container",
                "type": "app" if old[0] == "appid" else "user",
            }
        if _flag(query.get("need_notification")) or query.get("need_notification") is None:
            drive_state(state).notifications.append(
                {
                    "token": doc.token,
                    "member_type": doc.owner_type,
                    "member_id": doc.owner_id,
                    "perm": "owner",
                }
            )
    return ok({})


async def get_public(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    with state.lock:
        doc = _document(
            state, caller, request.path_params["token"], request.query_params.get("type")
        )
        if _caller_rank(state, doc, caller) < 1:
            raise FeishuError(1063002, "Permission denied", http_status=403)
        public = dict(doc.public)
    return ok({"permission_public": public})


async def patch_public(request: Request) -> Response:
    state = _state(request)
    caller = authenticate(request, state, kinds=("tenant", "user"))
    body = await read_json(request, code=1063001, msg="Invalid parameter")
    for name, allowed in _PUBLIC_ENUMS.items():
        if name in body and body[name] not in allowed:
            raise _perm_params(f"{name} must be one of {', '.join(allowed)}")
    for name in ("external_access", "invite_external"):
        if name in body and not isinstance(body[name], bool):
            raise _perm_params(f"{name} must be a boolean")
    with state.lock:
        doc = _manageable(
            state, caller, request.path_params["token"], request.query_params.get("type")
        )
        for name in (*_PUBLIC_ENUMS, "external_access", "invite_external"):
            if name in body:
                doc.public[name] = body[name]
        public = dict(doc.public)
    return ok({"permission_public": public})


async def control_state(request: Request) -> Response:
    """``GET /_emulator/drive/state``: stored files, uploads in progress, counters."""
    state = _state(request)
    with state.lock:
        return JSONResponse(drive_state(state).summary())


ROUTE_TABLE: tuple[tuple[str, str, Handler], ...] = (
    # permissions
    ("POST", _PERM + "/members", add_member),
    ("POST", _PERM + "/members/batch_create", batch_add_members),
    ("GET", _PERM + "/members", list_members),
    ("GET", _PERM + "/members/auth", auth_member),
    ("POST", _PERM + "/members/transfer_owner", transfer_owner),
    ("PUT", _PERM + "/members/{member_id}", update_member),
    ("DELETE", _PERM + "/members/{member_id}", delete_member),
    ("GET", _PERM + "/public", get_public),
    ("PATCH", _PERM + "/public", patch_public),
    # media
    ("POST", _MEDIAS + "/upload_all", _upload_all("media")),
    ("POST", _MEDIAS + "/upload_prepare", _upload_prepare("media")),
    ("POST", _MEDIAS + "/upload_part", _upload_part("media")),
    ("POST", _MEDIAS + "/upload_finish", _upload_finish("media")),
    ("GET", _MEDIAS + "/batch_get_tmp_download_url", tmp_download_urls),
    ("GET", _MEDIAS + "/{file_token}/download", _download("media")),
    # files and folders
    ("POST", _FILES + "/upload_all", _upload_all("file")),
    ("POST", _FILES + "/upload_prepare", _upload_prepare("file")),
    ("POST", _FILES + "/upload_part", _upload_part("file")),
    ("POST", _FILES + "/upload_finish", _upload_finish("file")),
    ("GET", _FILES + "/{file_token}/download", _download("file")),
    ("POST", _FILES + "/create_folder", create_folder),
    ("GET", _FILES, list_files),
    ("GET", "/open-apis/drive/explorer/v2/root_folder/meta", root_folder),
    # control
    ("GET", "/_emulator/drive/state", control_state),
    ("GET", "/_emulator/drive/tmp/{code}", tmp_download),
)
"""``(method, path, handler)`` of every Drive endpoint and ``/_emulator/drive/`` control."""


def routes(state: EmulatorState) -> list[BaseRoute]:
    """Drive permission, media, file and folder endpoints (one route per row of
    :data:`ROUTE_TABLE`)."""
    return [Route(path, handler, methods=[method]) for method, path, handler in ROUTE_TABLE]

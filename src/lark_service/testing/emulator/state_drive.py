"""Drive state of the emulator: stored media and files, folders, multipart uploads in
progress, documents' collaborators and public settings.

Get it with :func:`drive_state` (``drive_state(emu)``); it lives in
``EmulatorState.domain("drive")`` and is dropped by ``reset()``. Tests shape it directly:

- :meth:`DriveState.add_document` registers a document (``docx``, ``sheet``...) owned by an
  app (another app's document answers 1063002 to the caller);
- :attr:`DriveState.auto_documents` (default True): a permission call on a token the
  emulator does not know treats it as a document the caller owns, so documents made by other
  route modules can be shared; set it False to get 1063005 for unknown tokens;
- :meth:`DriveState.corrupt_parts` makes the next parts arrive corrupted (1062008);
- :attr:`DriveState.media_per_second` enforces Feishu's 5 QPS on media uploads (1061045).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from .state import EmulatorState

__all__ = [
    "DEFAULT_PUBLIC",
    "Document",
    "DriveState",
    "Folder",
    "MultipartUpload",
    "StoredFile",
    "drive_state",
    "new_token",
]

DEFAULT_PUBLIC: dict[str, Any] = {
    "external_access": False,
    "security_entity": "anyone_can_view",
    "comment_entity": "anyone_can_view",
    "share_entity": "anyone",
    "link_share_entity": "closed",
    "invite_external": True,
    "lock_switch": False,
}


def new_token(prefix: str) -> str:
    """A Feishu-looking token: ``prefix`` and 22 random alphanumerics."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(22))


@dataclass
class StoredFile:
    """An uploaded media file (``kind="media"``) or Drive file (``kind="file"``)."""

    token: str
    kind: str
    app_id: str
    name: str
    parent_type: str
    parent_node: str
    data: bytes = field(repr=False)
    created: float
    extra: str | None = None
    version: str = "1"

    def to_dict(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "kind": self.kind,
            "app_id": self.app_id,
            "name": self.name,
            "parent_type": self.parent_type,
            "parent_node": self.parent_node,
            "size": len(self.data),
            "created": self.created,
        }


@dataclass
class Folder:
    token: str
    name: str
    parent_token: str | None
    app_id: str
    created: float


@dataclass
class MultipartUpload:
    """An upload between ``upload_prepare`` and ``upload_finish``."""

    upload_id: str
    kind: str
    app_id: str
    file_name: str
    parent_type: str
    parent_node: str
    size: int
    block_size: int
    block_num: int
    created: float
    extra: str | None = None
    parts: dict[int, bytes] = field(default_factory=dict, repr=False)


@dataclass
class Document:
    """A shareable resource: its type, owner (an app, or a person after a transfer),
    collaborators ``{(member_type, member_id): {"perm", "perm_type", "type"}}`` and public
    settings."""

    token: str
    doc_type: str
    owner_type: str
    owner_id: str
    members: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    public: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PUBLIC))
    deleted: bool = False


class DriveState:
    """Everything the Drive routes store."""

    BLOCK_SIZE = 4 * 1024 * 1024
    UPLOAD_ALL_LIMIT = 20 * 1024 * 1024
    UPLOAD_TTL = 24 * 3600.0

    def __init__(self) -> None:
        self.files: dict[str, StoredFile] = {}
        self.folders: dict[str, Folder] = {}
        self.roots: dict[str, str] = {}
        self.uploads: dict[str, MultipartUpload] = {}
        self.documents: dict[str, Document] = {}
        self.notifications: list[dict[str, Any]] = []
        """``{"token", "member_type", "member_id", "perm"}`` of every notified grant."""
        self.auto_documents = True
        self.media_per_second: int | None = None
        """Media upload calls allowed per app per second (None: unlimited; Feishu: 5)."""
        self.active_media: dict[str, int] = {}
        self.media_calls: list[tuple[float, str]] = []
        self.concurrent_rejections = 0
        """How many media calls were refused with 1061045 for overlapping."""
        self.max_concurrent_media = 0
        self._corrupt = 0
        self.tmp_urls: dict[str, str] = {}

    # -- test controls ------------------------------------------------------------------------

    def corrupt_parts(self, count: int = 1) -> None:
        """The next ``count`` upload parts arrive corrupted: answered 1062008 (checksum)."""
        self._corrupt += count

    def take_corruption(self) -> bool:
        if self._corrupt > 0:
            self._corrupt -= 1
            return True
        return False

    def add_document(
        self, token: str, doc_type: str = "docx", *, owner_app: str, deleted: bool = False
    ) -> Document:
        """Register a document owned by ``owner_app``."""
        doc = Document(token, doc_type, "appid", owner_app, deleted=deleted)
        self.documents[token] = doc
        return doc

    def root_of(self, app_id: str, now: float) -> str:
        """The app's root folder token (made on first use)."""
        token = self.roots.get(app_id)
        if token is None:
            token = new_token("fldcn")
            self.roots[app_id] = token
            self.folders[token] = Folder(token, "root", None, app_id, now)
            self.documents[token] = Document(token, "folder", "appid", app_id)
        return token

    def summary(self) -> dict[str, Any]:
        return {
            "files": [f.to_dict() for f in self.files.values()],
            "folders": len(self.folders),
            "uploads_in_progress": len(self.uploads),
            "documents": len(self.documents),
            "notifications": len(self.notifications),
            "concurrent_rejections": self.concurrent_rejections,
            "max_concurrent_media": self.max_concurrent_media,
        }


def drive_state(target: Any) -> DriveState:
    """The Drive state of an :class:`EmulatorState` or an ``Emulator`` (``.state``)."""
    state: EmulatorState = getattr(target, "state", target)
    return state.domain("drive", DriveState)

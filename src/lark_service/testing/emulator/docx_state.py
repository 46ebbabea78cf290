"""The emulator's Docx state: documents, block trees, revisions, client tokens, edit limits.

Kept in ``EmulatorState.domain("docx")`` (dropped by ``reset()``); get it with
:func:`docx_state`. Tests and benchmarks switch Feishu's edit limits on with
:meth:`DocxState.set_edit_limits` (off by default so that unpaced callers, like the official
SDK in the conformance tests, are not throttled by surprise).
"""

from __future__ import annotations

import copy
import math
import random
import secrets
import string
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .api import FeishuError

if TYPE_CHECKING:
    from .state import EmulatorState

__all__ = ["DocxDocument", "DocxState", "EditLimits", "MediaUpload", "docx_state"]

_ALPHABET = string.ascii_letters + string.digits
RATE_MSG = "request trigger frequency limit"


def new_token(prefix: str, length: int = 22) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass
class EditLimits:
    """Edits (create, descendant, patch, batch update, delete) allowed per second."""

    per_document: int | None = None
    """Per document: over it answers HTTP 429 with 99991400."""
    per_app: int | None = None
    """Per app: over it answers HTTP 400 with 99991400."""
    window: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"per_document": self.per_document, "per_app": self.per_app, "window": self.window}


@dataclass
class DocxDocument:
    """A document: its blocks by id (Feishu's JSON, ``children`` as ids), its revision, and
    the apps that may read and edit it (its creator and those it was shared with)."""

    document_id: str
    title: str
    owner_app: str
    folder_token: str = ""
    revision: int = 1
    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    apps: set[str] = field(default_factory=set)
    members: list[dict[str, Any]] = field(default_factory=list)

    @property
    def root(self) -> dict[str, Any]:
        return self.blocks[self.document_id]

    def ordered_blocks(self) -> list[dict[str, Any]]:
        """Every block, the page first, then depth first in document order."""
        out: list[dict[str, Any]] = []
        stack = [self.document_id]
        while stack:
            block = self.blocks.get(stack.pop())
            if block is None:
                continue
            out.append(block)
            stack.extend(reversed(block.get("children", [])))
        return out

    def remove_tree(self, block_id: str) -> int:
        block = self.blocks.pop(block_id, None)
        if block is None:
            return 0
        return 1 + sum(self.remove_tree(child) for child in block.get("children", []))

    def to_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "revision_id": self.revision,
            "title": self.title,
        }


@dataclass
class MediaUpload:
    file_token: str
    app_id: str
    parent_type: str
    parent_node: str
    file_name: str
    data: bytes = field(repr=False)


class DocxState:
    """Documents, client-token answers, media uploaded into documents, edit limits."""

    def __init__(self) -> None:
        self.documents: dict[str, DocxDocument] = {}
        self.answers: dict[tuple[str, str], dict[str, Any]] = {}
        self.media: dict[str, MediaUpload] = {}
        self.limits = EditLimits()
        self._edits: deque[tuple[float, str, str]] = deque()
        self.throttled = 0
        self.edits_applied = 0
        self.replayed = 0
        self._lose_next = 0
        self._lose_rate = 0.0
        self._random = random.Random(0)

    # -- set-up --------------------------------------------------------------------------------

    def set_edit_limits(
        self, per_document: int | None = 3, per_app: int | None = 3, window: float = 1.0
    ) -> EditLimits:
        """Feishu's edit limits (3 per second per document and per app); None switches one
        off."""
        for name, value in (("per_document", per_document), ("per_app", per_app)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(f"{name} must be a positive int or None, got {value!r}")
        if window <= 0:
            raise ValueError("window must be positive")
        self.limits = EditLimits(per_document, per_app, float(window))
        self._edits.clear()
        return self.limits

    def lose_answers(self, count: int = 1, *, rate: float | None = None, seed: int = 0) -> None:
        """The next ``count`` edits (and, with ``rate``, that share of the edits after them)
        are applied and then answered with HTTP 502, as if the answer was lost on the way: a
        client that retries with the same ``client_token`` must not apply them twice.
        ``lose_answers(0)`` stops it."""
        self._lose_next = count
        self._lose_rate = float(rate or 0.0)
        self._random = random.Random(seed)

    def take_lost(self) -> bool:
        if self._lose_next > 0:
            self._lose_next -= 1
            return True
        return self._lose_rate > 0 and self._random.random() < self._lose_rate

    def add_document(
        self,
        app_id: str,
        title: str = "",
        *,
        folder_token: str = "",
        document_id: str | None = None,
    ) -> DocxDocument:
        doc_id = document_id or new_token("doxcn")
        document = DocxDocument(doc_id, title, app_id, folder_token, apps={app_id})
        document.blocks[doc_id] = {
            "block_id": doc_id,
            "block_type": 1,
            "children": [],
            "parent_id": "",
            "page": {
                "elements": [{"text_run": {"content": title, "text_element_style": {}}}],
                "style": {"align": 1},
            },
        }
        self.documents[doc_id] = document
        return document

    def share(self, document_id: str, app_id: str) -> None:
        """Let ``app_id`` read and edit the document (as adding the app to it does)."""
        self.documents[document_id].apps.add(app_id)

    def unshare(self, document_id: str, app_id: str) -> None:
        self.documents[document_id].apps.discard(app_id)

    # -- checks --------------------------------------------------------------------------------

    def document_for(self, document_id: str, app_id: str) -> DocxDocument:
        """The document, else 1770002 (unknown) or 1770032 (the app may not see it)."""
        document = self.documents.get(document_id)
        if document is None:
            raise FeishuError(1770002, "not found", http_status=404)
        if app_id not in document.apps:
            raise FeishuError(1770032, "forbidden", http_status=403)
        return document

    def check_edit_rate(self, app_id: str, document_id: str, now: float) -> None:
        """99991400 (HTTP 429 per document, HTTP 400 per app) over the limits, else count."""
        limits = self.limits
        if limits.per_document is None and limits.per_app is None:
            return
        while self._edits and self._edits[0][0] <= now - limits.window:
            self._edits.popleft()
        checks = (
            (limits.per_document, 2, document_id, 429),
            (limits.per_app, 1, app_id, 400),
        )
        for limit, position, value, status in checks:
            if limit is None:
                continue
            hits = [e[0] for e in self._edits if e[position] == value]
            if len(hits) >= limit:
                self.throttled += 1
                reset = max(1, math.ceil(hits[-limit] + limits.window - now))
                raise FeishuError(
                    99991400,
                    RATE_MSG,
                    http_status=status,
                    headers={
                        "x-ogw-ratelimit-limit": str(limit),
                        "x-ogw-ratelimit-reset": str(reset),
                    },
                )
        self._edits.append((now, app_id, document_id))

    def stats(self) -> dict[str, Any]:
        return {
            "documents": len(self.documents),
            "blocks": sum(len(d.blocks) for d in self.documents.values()),
            "edits_applied": self.edits_applied,
            "throttled": self.throttled,
            "replayed": self.replayed,
            "limits": self.limits.to_dict(),
        }

    def snapshot(self, document_id: str) -> list[dict[str, Any]]:
        """A copy of the document's blocks in document order (for tests)."""
        return copy.deepcopy(self.documents[document_id].ordered_blocks())


def docx_state(target: Any) -> DocxState:
    """The Docx state of an emulator (or of its state)."""
    state: EmulatorState = getattr(target, "state", target)
    value: DocxState = state.domain("docx", DocxState)
    return value

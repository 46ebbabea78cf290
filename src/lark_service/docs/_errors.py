"""Docx codes (family ``docx``) and errors made specific to the document of the call."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from .. import errors
from ..errors import CodeRule, register_codes

if TYPE_CHECKING:
    from .._options import ErrorContext

__all__ = ["DOCX_CODES", "PERMISSION_HINT", "docx_context"]

PERMISSION_HINT = (
    "The app must be able to see the document: add the app to the document (open it, '...' -> "
    "'More' -> 'Add document app'), or share its folder with a group the app's bot is in "
    "(an app cannot be added to a folder directly); also enable docx:document for the app."
)
_NOT_FOUND_HINT = (
    "Check the document id (the last part of its URL, .../docx/<document_id>); a document the "
    "app cannot see also answers 'not found': " + PERMISSION_HINT
)
_CONFLICT_HINT = (
    "The document changed since that revision. Read it again (get_document gives the latest "
    "revision_id) and retry, or leave document_revision_id at -1 to write to the latest revision."
)

DOCX_CODES: dict[int, CodeRule] = {
    1770001: CodeRule(errors.InvalidParameterError, False, "Feishu refused a parameter."),
    1770002: CodeRule(errors.NotFoundError, False, _NOT_FOUND_HINT),
    1770003: CodeRule(errors.NotFoundError, False, "The document or block was deleted."),
    1770004: CodeRule(
        errors.QuotaExceededError, False, "A document holds at most 20,000 blocks; split it."
    ),
    1770005: CodeRule(errors.InvalidParameterError, False, "Blocks are nested too deep."),
    1770006: CodeRule(
        errors.InvalidParameterError,
        False,
        "The descendant tree does not match: children_id must list the first-level blocks.",
    ),
    1770007: CodeRule(
        errors.InvalidParameterError, False, "Too many children for one block or one call."
    ),
    1770013: CodeRule(
        errors.InvalidParameterError,
        False,
        "The media was uploaded for another block: upload with parent_node = this block's id.",
    ),
    1770032: CodeRule(errors.PermissionDeniedError, False, PERMISSION_HINT),
    1770033: CodeRule(errors.QuotaExceededError, False, "The content is too large."),
    1771001: CodeRule(errors.ServerError, True, "Feishu is busy; lark-service retries."),
}
"""Codes of the docx/v1 endpoints (the docs' error tables; 1770006/1770013 as third-party
clients describe them)."""

register_codes("docx", DOCX_CODES)


def _rebuild(
    exc: errors.APIError, cls: type[errors.APIError], msg: str, hint: str
) -> errors.APIError:
    return cls(
        msg,
        code=exc.code,
        request_id=exc.request_id,
        log_id=exc.log_id,
        http_status=exc.http_status,
        hint=hint,
        body=exc.body,
    )


def _in_document(
    exc: errors.LarkError, app_id: str, *, document_id: str, revision: int
) -> errors.LarkError:
    if not isinstance(exc, errors.APIError):
        return exc
    if isinstance(exc, errors.NotFoundError) and exc.code in (1770002, 1770003, None):
        return _rebuild(
            exc,
            errors.NotFoundError,
            f"document {document_id} (or the block) was not found for app {app_id} ({exc.msg})",
            _NOT_FOUND_HINT,
        )
    if isinstance(exc, errors.PermissionDeniedError) and exc.code == 1770032:
        return _rebuild(
            exc,
            errors.PermissionDeniedError,
            f"app {app_id} has no permission on document {document_id} ({exc.msg})",
            PERMISSION_HINT,
        )
    if isinstance(exc, errors.InvalidParameterError) and "revision" in exc.msg.lower():
        return _rebuild(
            exc,
            errors.ConflictError,
            f"document {document_id} is not at revision {revision} any more ({exc.msg})",
            _CONFLICT_HINT,
        )
    return exc


def docx_context(document_id: str, revision: int = -1) -> ErrorContext:
    """An error context naming ``document_id`` (and the revision the call wrote to)."""
    return functools.partial(_in_document, document_id=document_id, revision=revision)

"""Feishu's Drive codes (``drive/v1`` media, files and permissions), registered for the
``drive`` endpoint family. Codes marked ``?`` in docs/drive.md are from Feishu's pages as
remembered, not verified here."""

from __future__ import annotations

from ..errors import (
    CodeRule,
    InvalidParameterError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitedError,
    register_codes,
)

__all__ = ["DRIVE_CODES", "SHARE_HINT"]

SHARE_HINT = (
    "The app must be a collaborator of the document (or of its folder) with full_access: add "
    "it in the document's share dialog, or share the folder with a group that contains the bot."
)

DRIVE_CODES: dict[int, CodeRule] = {
    1061002: CodeRule(
        InvalidParameterError, False, "Check the file name, size, parent_type and parent_node."
    ),
    1061003: CodeRule(
        NotFoundError, False, "The file token does not exist, or the app cannot see it."
    ),
    1061005: CodeRule(PermissionDeniedError, False, SHARE_HINT),
    1061041: CodeRule(NotFoundError, False, "The parent folder was deleted."),
    1061043: CodeRule(QuotaExceededError, False, "The file is over Drive's size limit."),
    1061044: CodeRule(
        NotFoundError, False, "The parent node (folder token or document id) does not exist."
    ),
    # one media upload at a time per app: the pacing lease serialises ours; another process
    # of the same app may still collide, so wait a second and retry
    1061045: CodeRule(
        RateLimitedError,
        True,
        "Media uploads of one app must not overlap; lark-service waits and retries.",
        retry_after=1.0,
    ),
    1062008: CodeRule(
        InvalidParameterError,
        True,
        "A part's checksum did not match what arrived; lark-service re-sends the part.",
    ),
    1062009: CodeRule(
        InvalidParameterError, False, "The declared size does not match the content sent."
    ),
    1062010: CodeRule(
        InvalidParameterError,
        False,
        "Parts of the upload are missing; resume it with the same resume_file.",
    ),
    1063001: CodeRule(InvalidParameterError, False, "Check member, perm and doc_type."),
    1063002: CodeRule(PermissionDeniedError, False, SHARE_HINT),
    1063003: CodeRule(
        InvalidParameterError,
        False,
        "Feishu refused the operation (a group the bot is not in, a department with a tenant "
        "token, the owner's own permission).",
    ),
    1063005: CodeRule(NotFoundError, False, "The document was deleted or does not exist."),
}

register_codes("drive", DRIVE_CODES)

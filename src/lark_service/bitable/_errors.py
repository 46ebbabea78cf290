"""Bitable's own codes, for the ``bitable`` endpoint family (``openapi-reference.md`` §7 and
Feishu's Bitable error table). The generic table already maps 1254002, 1254040-1254042,
1254104, 1254290, 1254291, 1254302 and 1255001-1255002."""

from __future__ import annotations

from ..errors import (
    CodeRule,
    ConflictError,
    InvalidParameterError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitedError,
    ServerError,
    register_codes,
)

__all__ = ["BITABLE_CODES", "register"]

_CONVERT = (
    "Feishu could not convert a value for its field type; check the field's type with list_fields."
)

BITABLE_CODES: dict[int, CodeRule] = {
    1254000: CodeRule(InvalidParameterError, False, "The request body is not valid JSON."),
    1254001: CodeRule(InvalidParameterError, False, "The request body is malformed."),
    1254002: CodeRule(ServerError, True, "Feishu is busy; retried."),
    1254003: CodeRule(NotFoundError, False, "The app_token is wrong: copy it from the base's URL."),
    1254040: CodeRule(NotFoundError, False, "The base (app_token) does not exist."),
    1254041: CodeRule(NotFoundError, False, "The table does not exist (table_id)."),
    1254042: CodeRule(NotFoundError, False, "The view does not exist (view_id)."),
    1254043: CodeRule(NotFoundError, False, "The record does not exist (record_id)."),
    1254045: CodeRule(InvalidParameterError, False, "A field name does not exist in the table."),
    **{code: CodeRule(InvalidParameterError, False, _CONVERT) for code in range(1254060, 1254068)},
    1254066: CodeRule(
        InvalidParameterError,
        False,
        "A person field holds an id Feishu cannot use: open_ids belong to one app; pass "
        "open_ids of this app.",
    ),
    1254100: CodeRule(QuotaExceededError, False, "The base has too many tables."),
    1254103: CodeRule(QuotaExceededError, False, "The table is full (20,000 records)."),
    1254104: CodeRule(QuotaExceededError, False, "At most 500 records per batch call."),
    1254107: CodeRule(InvalidParameterError, False, "The filter is over 2,000 characters."),
    1254108: CodeRule(InvalidParameterError, False, "The sort is over 1,000 characters."),
    1254130: CodeRule(InvalidParameterError, False, "A cell's value is too large."),
    1254290: CodeRule(RateLimitedError, True, "Too many requests to Bitable; retried.", 1.0),
    1254291: CodeRule(
        ConflictError,
        True,
        "Another writer is writing to this table (Feishu allows one at a time); retried. "
        "Writes from other processes to the same table collide with this one.",
    ),
    1254301: CodeRule(
        PermissionDeniedError, False, "The base has no advanced permissions enabled."
    ),
    1254302: CodeRule(
        PermissionDeniedError,
        False,
        "The app has no access to the base: add the app (its bot) to the base or to a role.",
    ),
    1254304: CodeRule(QuotaExceededError, False, "The base's edition limit is reached."),
    1255001: CodeRule(ServerError, True, "Feishu is busy; retried."),
    1255002: CodeRule(ServerError, True, "Feishu is busy; retried."),
    1255003: CodeRule(ServerError, True, "Feishu is busy; retried."),
    1255040: CodeRule(ServerError, True, "Feishu timed out; retried."),
}

_done = False


def register() -> None:
    """Add :data:`BITABLE_CODES` to the ``bitable`` family (once)."""
    global _done
    if not _done:
        register_codes("bitable", BITABLE_CODES)
        _done = True

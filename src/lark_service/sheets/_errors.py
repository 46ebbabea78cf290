"""Sheets' own codes, for the ``sheets`` endpoint family.

Source: Feishu's "云文档错误码" page, section "sheet open api 错误码" (open.larksuite.com
``uIzM0UjLyMDN14iMzQTN``, D) and its "apigateway" section (91401-91404). Which endpoints answer
which code is not documented per endpoint; the classes below follow the code's name.
"""

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

__all__ = ["SHEETS_CODES", "register"]

_BAD = "Check the request: ranges are <sheet_id>!A1:B2, values a list of equal-length rows."
_BUSY = "Feishu is busy; lark-service retries with backoff."

SHEETS_CODES: dict[int, CodeRule] = {
    90201: CodeRule(InvalidParameterError, False, "The request body is not JSON."),
    90202: CodeRule(
        InvalidParameterError,
        False,
        "The range is malformed or does not match the values' size: write <sheet_id>!A1:B2.",
    ),
    90203: CodeRule(ServerError, True, _BUSY),
    90204: CodeRule(InvalidParameterError, False, _BAD),
    90205: CodeRule(InvalidParameterError, False, "A user in the request is not valid."),
    90206: CodeRule(InvalidParameterError, False, "The sheet id is empty."),
    90207: CodeRule(InvalidParameterError, False, "The sheet title is empty."),
    90208: CodeRule(InvalidParameterError, False, "Two requests name the same sheet id or title."),
    90209: CodeRule(ConflictError, False, "A sheet with this id already exists."),
    90210: CodeRule(ConflictError, False, "A sheet with this title already exists."),
    90211: CodeRule(InvalidParameterError, False, "The sheet id is wrong."),
    90212: CodeRule(InvalidParameterError, False, "The rows or columns are out of the sheet."),
    90213: CodeRule(
        PermissionDeniedError,
        False,
        "The app has no permission on this spreadsheet: share it with the app (or its group).",
    ),
    90214: CodeRule(NotFoundError, False, "The spreadsheet does not exist (check the token)."),
    90215: CodeRule(NotFoundError, False, "The sheet id does not exist in this spreadsheet."),
    90216: CodeRule(InvalidParameterError, False, "The request holds an empty value."),
    90217: CodeRule(RateLimitedError, True, "Too many requests to Sheets; retried.", 1.0),
    90218: CodeRule(PermissionDeniedError, False, "The cells are protected."),
    90219: CodeRule(
        QuotaExceededError,
        False,
        "A sheet holds at most a million cells "
        "(Feishu's limit); split the data over several sheets.",
    ),
    90221: CodeRule(
        QuotaExceededError, False, "The answer would be too large: read smaller ranges."
    ),
    90222: CodeRule(QuotaExceededError, False, "A cell holds at most 50,000 characters."),
    90226: CodeRule(QuotaExceededError, False, "A Sheets limit was exceeded."),
    90227: CodeRule(
        QuotaExceededError, False, "The request is too large: write fewer cells per call."
    ),
    90228: CodeRule(ConflictError, True, "The spreadsheet is being imported; retry later."),
    90229: CodeRule(InvalidParameterError, False, "A URL parameter is wrong."),
    **{code: CodeRule(ServerError, True, _BUSY) for code in range(95201, 95210)},
    95299: CodeRule(ServerError, False, "Feishu failed the call; quote the log_id to support."),
    91401: CodeRule(InvalidParameterError, False, _BAD),
    91402: CodeRule(NotFoundError, False, "The spreadsheet or sheet does not exist."),
    91403: CodeRule(
        PermissionDeniedError,
        False,
        "The app has no permission on this spreadsheet: share it with the app (or its group).",
    ),
}


def register() -> None:
    """Map Sheets' codes for every ``/open-apis/sheets/...`` call."""
    register_codes("sheets", SHEETS_CODES)

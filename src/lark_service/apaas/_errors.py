"""aPaaS error codes and the call context that makes a mapped error specific.

Feishu's own aPaaS business codes are not in the official SDK; the codes below are the
emulator's (``routes_apaas``), and the HTTP status decides where the code is unknown: 404 →
NotFoundError, 409 → ConflictError (with "re-read and retry"), a message about a quota →
QuotaExceededError. Missing user scopes (99991679 / 99991672) are PermissionDeniedError with
the scopes, from the generic table.
"""

from __future__ import annotations

from .. import errors

__all__ = ["CONFLICT_HINT", "apaas_error"]

CONFLICT_HINT = (
    "Another request changed these records at the same time: re-read them and retry the "
    "write (writes to one table are best made one at a time)."
)
QUOTA_HINT = "The workspace's record or storage quota is used up: delete records or ask for more."

errors.register_codes(
    "apaas",
    {
        2300400: errors.CodeRule(errors.InvalidParameterError, False, "Check the filter/values."),
        2300404: errors.CodeRule(errors.NotFoundError, False, "Check the workspace and table."),
        2300409: errors.CodeRule(errors.ConflictError, False, CONFLICT_HINT),
        2300429: errors.CodeRule(errors.QuotaExceededError, False, QUOTA_HINT),
    },
)


def apaas_error(error: errors.LarkError, app_id: str) -> errors.LarkError:
    """The error to raise for an aPaaS call (see the module docstring)."""
    if not isinstance(error, errors.APIError) or type(error) is not errors.APIError:
        if isinstance(error, errors.ConflictError) and not error.hint:
            error.hint = CONFLICT_HINT
        return error
    ids = {
        "code": error.code,
        "request_id": error.request_id,
        "log_id": error.log_id,
        "http_status": error.http_status,
        "body": error.body,
    }
    if error.http_status == 409 or "conflict" in error.msg.lower():
        return errors.ConflictError(error.msg, hint=CONFLICT_HINT, **ids)
    if "quota" in error.msg.lower():
        return errors.QuotaExceededError(error.msg, hint=QUOTA_HINT, **ids)
    if error.http_status == 404:
        return errors.NotFoundError(error.msg, hint="Check the workspace and table.", **ids)
    return error

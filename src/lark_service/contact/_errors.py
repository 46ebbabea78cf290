"""Contact and chat errors made specific: which user, department, chat, scope or range.

The pipeline maps Feishu's codes to classes with generic hints; these functions add what only
the domain call knows (the id asked for, the app asking).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Literal

from .. import errors

if TYPE_CHECKING:
    from .._options import ErrorContext

__all__ = ["chat_error", "contact_context", "contact_error", "rebuild"]

Subject = Literal["user", "department", "email", "mobile"]

_RANGE_HINT = (
    "In the developer console of {app}: Permissions & Scopes -> contacts data range "
    "(通讯录权限范围), add {what} (or a department containing it), publish a version, and have "
    "an admin approve it."
)
_SCOPE_HINT = (
    "Enable {scopes} for app {app} in the developer console (Permissions & Scopes) and publish "
    "a version."
)


def rebuild(
    exc: errors.APIError,
    cls: type[errors.APIError],
    msg: str,
    hint: str | None = None,
    **extra: Any,
) -> errors.APIError:
    """A ``cls`` error with ``exc``'s code, ids and body, and a new message and hint."""
    return cls(
        msg,
        code=exc.code,
        request_id=exc.request_id,
        log_id=exc.log_id,
        http_status=exc.http_status,
        hint=hint if hint is not None else exc.hint,
        body=exc.body,
        **extra,
    )


def _scope_error(exc: errors.PermissionDeniedError, app_id: str) -> errors.APIError:
    scopes = exc.missing_scopes
    if not scopes:
        return exc
    listed = " or ".join(scopes)
    return rebuild(
        exc,
        errors.PermissionDeniedError,
        f"app {app_id} lacks the scope {listed} ({exc.msg})",
        _SCOPE_HINT.format(scopes=listed, app=app_id),
        missing_scopes=scopes,
    )


def contact_error(
    exc: errors.APIError, *, app_id: str, subject: Subject, value: str
) -> errors.APIError:
    """``exc`` from a contact call about ``subject`` ``value``, made specific."""
    if exc.code == 40015:
        return rebuild(
            exc,
            errors.NotFoundError,
            f"department {value} does not exist or was deleted ({exc.msg})",
            "Check the department id and its type (open_department_id 'od-...' or your own "
            "department_id).",
        )
    if exc.code == 41050:
        return rebuild(
            exc,
            errors.PermissionDeniedError,
            f"app {app_id} may not read {subject} {value}: outside its contacts data range "
            f"({exc.msg})",
            _RANGE_HINT.format(app=app_id, what=f"{subject} {value}"),
        )
    if exc.code == 40004:
        return rebuild(
            exc,
            errors.PermissionDeniedError,
            f"app {app_id} may not read department {value}: outside its contacts data range "
            f"({exc.msg})",
            _RANGE_HINT.format(app=app_id, what=f"department {value}"),
        )
    if isinstance(exc, errors.PermissionDeniedError):
        return _scope_error(exc, app_id)
    return exc


def contact_context(subject: Subject, value: str) -> ErrorContext:
    """The ``error_context`` request option of a contact call about ``subject`` ``value``."""
    return functools.partial(_in_contact_context, subject=subject, value=value)


def _in_contact_context(
    exc: errors.LarkError, app_id: str, *, subject: Subject, value: str
) -> errors.LarkError:
    if not isinstance(exc, errors.APIError):
        return exc
    return contact_error(exc, app_id=app_id, subject=subject, value=value)


def chat_error(exc: errors.APIError, *, app_id: str, chat_id: str | None) -> errors.APIError:
    """``exc`` from a chat call (about ``chat_id``, if one), made specific."""
    where = f"chat {chat_id}" if chat_id else "the chat"
    if exc.code == 232006:
        return rebuild(
            exc,
            errors.NotFoundError,
            f"{where} does not exist ({exc.msg})",
            "Check the chat_id (oc_...); chat ids are the same for every app of the tenant.",
        )
    if exc.code == 232009:
        return rebuild(exc, errors.NotFoundError, f"{where} was dissolved ({exc.msg})")
    if exc.code == 232011:
        return rebuild(
            exc,
            errors.PermissionDeniedError,
            f"the bot of app {app_id} is not a member of {where} ({exc.msg})",
            "Add the app's bot to the chat (chat settings -> Bots), then retry.",
        )
    if isinstance(exc, errors.PermissionDeniedError):
        return _scope_error(exc, app_id)
    return exc

"""The one answer shape of the gateway, and the HTTP status of every error class.

``{"code", "msg", "request_id", "data", "error": {"type", "hint", "log_id", "missing_scopes",
"field"}}``: ``code`` is 0 on success, Feishu's code when Feishu refused, else the HTTP status;
``error`` is null on success. Never a stack trace.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .. import errors

__all__ = ["Envelope", "ErrorInfo", "error_body", "jsonable", "ok_body", "status_for"]


class ErrorInfo(BaseModel):
    """What went wrong, and what to do."""

    type: str = Field(description="The lark_service.errors class, e.g. PermissionDeniedError.")
    hint: str | None = Field(default=None, description="What to do next.")
    log_id: str | None = Field(default=None, description="Feishu's X-Tt-Logid, when it answered.")
    missing_scopes: list[str] = Field(
        default_factory=list,
        description="Scopes missing: Feishu's (PermissionDeniedError) or the API key's.",
    )
    field: str | None = Field(default=None, description="The request field at fault.")


class Envelope(BaseModel):
    """Every gateway answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": 0,
                    "msg": "ok",
                    "request_id": "billing-42",
                    "data": {"message_id": "om_dc13264520392913993dd051dba21dcf"},
                    "error": None,
                },
                {
                    "code": 403,
                    "msg": "the API key 'billing' lacks the scope(s) messages:send",
                    "request_id": "3f0c8e1e-4a4e-4f4a-9d36-2b1c0f6f2a11",
                    "data": None,
                    "error": {
                        "type": "ForbiddenError",
                        "hint": "Create a key with the scope: lark-service apikey create ...",
                        "log_id": None,
                        "missing_scopes": ["messages:send"],
                        "field": None,
                    },
                },
            ]
        }
    )

    code: int = Field(description="0: success; Feishu's code; else the HTTP status.")
    msg: str
    request_id: str = Field(description="Echoed in X-Request-Id; quote it when asking for help.")
    data: Any = Field(default=None, description="The result (null on error).")
    error: ErrorInfo | None = None


def status_for(exc: BaseException) -> int:
    """The HTTP status answering ``exc``."""
    if isinstance(exc, errors.GatewayError):
        return exc.http_status or 400
    if isinstance(exc, errors.ValidationError | errors.InvalidParameterError):
        return 400
    if isinstance(exc, errors.AppNotSpecifiedError):
        return 400
    if isinstance(exc, errors.AppNotFoundError):
        return 404
    if isinstance(exc, errors.AppDisabledError | errors.PermissionDeniedError):
        return 403
    if isinstance(exc, errors.UserTokenMissingError):
        return 403
    if isinstance(exc, errors.NotFoundError):
        return 404
    if isinstance(exc, errors.ConflictError):
        return 409
    if isinstance(exc, errors.RateLimitedError | errors.QuotaExceededError):
        return 429
    if isinstance(exc, errors.TimeoutError | errors.LockTimeoutError):
        return 504
    if isinstance(exc, errors.TransportError):
        return 502
    if isinstance(exc, errors.InvalidCredentialsError | errors.TokenInvalidError):
        return 502
    if isinstance(exc, errors.ConfigError | errors.StorageUnavailableError):
        return 503
    if isinstance(exc, errors.ServerError):
        return 502
    if isinstance(exc, errors.APIError):
        status = exc.http_status or 0
        return 400 if 400 <= status < 500 and status != 429 else 502
    return 500


def error_body(exc: BaseException, request_id: str) -> tuple[int, dict[str, Any]]:
    """``(status, envelope)`` for ``exc`` (a LarkError; anything else is an internal error
    whose details stay in the server log)."""
    status = status_for(exc)
    if not isinstance(exc, errors.LarkError):
        info = ErrorInfo(type="InternalError", hint="The server log has the details.")
        return status, _dump(500, "internal error", request_id, info)
    missing = list(getattr(exc, "missing_scopes", None) or [])
    info = ErrorInfo(
        type=type(exc).__name__,
        hint=exc.hint,
        log_id=exc.log_id,
        missing_scopes=missing,
        field=getattr(exc, "field", None),
    )
    code = exc.code if exc.code is not None else status
    return status, _dump(code, exc.msg, request_id, info)


def ok_body(data: Any, request_id: str) -> dict[str, Any]:
    return {"code": 0, "msg": "ok", "request_id": request_id, "data": data, "error": None}


def _dump(code: int, msg: str, request_id: str, info: ErrorInfo) -> dict[str, Any]:
    return {
        "code": code,
        "msg": msg,
        "request_id": request_id,
        "data": None,
        "error": info.model_dump(),
    }


def jsonable(value: Any) -> Any:
    """A result as JSON: pydantic models, dataclasses (a per-item error as its envelope
    error), bytes as base64, enums, dates."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, errors.LarkError):
        _, body = error_body(value, value.request_id or "")
        return {"code": body["code"], "msg": body["msg"], **body["error"]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)

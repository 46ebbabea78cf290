"""Base of every result model: pydantic v2, carrying our request id and Feishu's log id."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError
from typing_extensions import Self

from ._http import ApiResponse
from .errors import ServerError

__all__ = ["LarkModel", "ms_to_datetime"]


class LarkModel(BaseModel):
    """A Feishu object. Unknown fields from Feishu are kept (``model_extra``), never lost."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    request_id: str | None = None
    log_id: str | None = None

    @classmethod
    def from_response(cls, response: ApiResponse, data: dict[str, Any] | None = None) -> Self:
        """Build from ``data`` (default: the envelope's ``data``) and the response's ids."""
        payload = dict(response.data if data is None else data)
        payload["request_id"] = response.request_id
        payload["log_id"] = response.log_id
        try:
            return cls.model_validate(payload)
        except PydanticValidationError as exc:
            raise ServerError(
                f"Feishu's answer does not fit {cls.__name__}: "
                f"{exc.error_count()} problem(s), first: {exc.errors()[0]['msg']} "
                f"at {'.'.join(str(p) for p in exc.errors()[0]['loc'])}",
                request_id=response.request_id,
                log_id=response.log_id,
                http_status=response.http_status,
                retryable=False,
                hint="Feishu changed the shape of this answer; report it with the log_id.",
            ) from exc


def ms_to_datetime(value: Any) -> Any:
    """Feishu's epoch-milliseconds (often a string) as an aware UTC datetime."""
    if value is None or value == "" or isinstance(value, datetime):
        return value
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)
    except (TypeError, ValueError):
        return value

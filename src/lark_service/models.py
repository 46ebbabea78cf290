"""Base of every result model: pydantic v2, carrying our request id and Feishu's log id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError
from typing_extensions import Self

from ._http import ApiResponse
from .errors import ServerError

__all__ = ["ItemResults", "LarkModel", "ms_to_datetime"]


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


class _Outcome(Protocol):
    @property
    def ok(self) -> bool: ...


ItemT = TypeVar("ItemT", bound=_Outcome)


class ItemResults(Generic[ItemT]):
    """What every per-item batch result shares (``send_batch``, Bitable batch writes): the
    ``items`` in input order, each with ``ok``; iterate them, count them, split them."""

    items: list[ItemT]

    def __iter__(self) -> Iterator[ItemT]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def ok(self) -> bool:
        """True when every item succeeded."""
        return all(item.ok for item in self.items)

    @property
    def succeeded(self) -> list[ItemT]:
        """The items that succeeded."""
        return [item for item in self.items if item.ok]

    @property
    def failed(self) -> list[ItemT]:
        """The items that failed, each with its typed ``error``."""
        return [item for item in self.items if not item.ok]

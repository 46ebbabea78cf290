"""Pure helpers of ``client.docs``: answer shaping (documents, blocks, revisions), written once
here and imported by ``_async_client.py`` (so the generated sync twin does not repeat them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import errors
from .._http import ApiResponse
from .models import Block

ProgressCallback = Callable[[int, int], None]
"""``on_progress(blocks_done, blocks_total)``, called after each call of an append."""


def _document_data(response: ApiResponse) -> dict[str, Any]:
    document = response.data.get("document")
    return dict(document) if isinstance(document, Mapping) else dict(response.data)


def _block(response: ApiResponse, item: dict[str, Any]) -> Block:
    try:
        return Block.model_validate(item)
    except Exception as exc:
        raise errors.ServerError(
            f"Feishu's block does not fit Block: {exc}",
            request_id=response.request_id,
            log_id=response.log_id,
            retryable=False,
        ) from exc


def _revision(response: ApiResponse) -> int | None:
    value = response.data.get("document_revision_id")
    return (
        int(value)
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit())
        else None
    )

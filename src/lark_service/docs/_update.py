"""The body of ``PATCH .../blocks/:block_id`` from what ``update_block`` was given (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ValidationError
from .blocks import NewBlock, _elements
from .models import TEXT_BLOCK_TYPES, TextElement

__all__ = ["UPDATE_OPERATIONS", "update_request"]

UPDATE_OPERATIONS = frozenset(
    {
        "update_text_elements",
        "update_text_style",
        "update_text",
        "update_table_property",
        "insert_table_row",
        "insert_table_column",
        "delete_table_rows",
        "delete_table_columns",
        "merge_table_cells",
        "unmerge_table_cells",
        "insert_grid_column",
        "delete_grid_column",
        "update_grid_column_width_ratio",
        "replace_image",
        "replace_file",
        "update_task",
    }
)
"""The one-per-call operations ``PATCH .../blocks/:block_id`` takes (the SDK's
UpdateBlockRequest)."""


def update_request(content: Any) -> dict[str, Any]:
    """``{"update_text_elements": {...}}`` for new text, or a documented operation as given."""
    if isinstance(content, Mapping):
        keys = set(content)
        if len(keys) != 1 or not keys <= UPDATE_OPERATIONS:
            raise ValidationError(
                "an update dict holds exactly one of: " + ", ".join(sorted(UPDATE_OPERATIONS)),
                field="content",
            )
        return {str(k): v for k, v in content.items()}
    if isinstance(content, NewBlock):
        if content.block_type not in TEXT_BLOCK_TYPES:
            raise ValidationError(
                "update_block takes a text-like block (paragraph, heading, list item, code, "
                "quote, todo), an image/file block, or an update dict",
                field="content",
            )
        return {"update_text_elements": {"elements": content.body.get("elements", [])}}
    if isinstance(content, (str, TextElement)):
        return {"update_text_elements": {"elements": _elements([content])}}
    if isinstance(content, Sequence) and not isinstance(content, (bytes, bytearray)):
        return {"update_text_elements": {"elements": _elements(list(content))}}
    raise ValidationError(
        f"update_block cannot use a {type(content).__name__} as content", field="content"
    )

"""Result models of the cards domain."""

from __future__ import annotations

from ..models import LarkModel

__all__ = ["CardUpdate"]


class CardUpdate(LarkModel):
    """The answer to a delayed card update (nothing but the ids)."""

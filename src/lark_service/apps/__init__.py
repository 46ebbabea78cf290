"""The app registry (config database). Opened lazily: importing this imports no database code."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._app import AppSource
    from ..config import Settings

__all__ = ["open_registry"]


def open_registry(settings: Settings) -> AppSource | None:
    """The registry configured by ``settings``, or None when no registry exists yet."""
    return None

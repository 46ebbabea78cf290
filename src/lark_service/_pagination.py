"""Pure pieces of pagination shared by :class:`AsyncPager` and its sync twin :class:`Pager`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["Page", "page_of"]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page: its items and the token of the next page (None: this was the last)."""

    items: list[T]
    next_token: str | None


def page_of(
    data: Mapping[str, Any], parse: Callable[[Mapping[str, Any]], T], *, item_key: str = "items"
) -> Page[T]:
    """A :class:`Page` from Feishu's ``{items, page_token, has_more}`` data."""
    raw = data.get(item_key) or []
    items = [parse(item) for item in raw if isinstance(item, Mapping)]
    token = data.get("page_token")
    more = bool(data.get("has_more")) and isinstance(token, str) and bool(token)
    return Page(items, token if more else None)

# Generated from src/lark_service/_async_pagination.py by scripts/unasync.py: edit that file instead.
"""Lazy pagers over Feishu's ``page_token`` / ``has_more`` lists. This async source is the
truth; the sync ``Pager`` is generated from it.

A list method returns a pager at once and fetches nothing; pages are fetched as they are
iterated, one page in memory at a time::

    for chat in client.chats.list_chats(): ...        # every item, page by page
    for page in pager.pages(): ...                    # each page, a list of items
    pager.first(10)                                   # only the pages it needs
    pager.to_list()  # or: pager                # everything

A pager is single-pass per iteration: each ``for`` (or ``to_list``) starts again from
the first page.
"""

from __future__ import annotations

from collections.abc import Iterator, Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

from ._pagination import Page

__all__ = ["Pager"]

T = TypeVar("T")


class Pager(Generic[T]):
    """Items of a paged Feishu list, fetched lazily page by page."""

    def __init__(self, fetch_page: Callable[[str | None], Page[T]]) -> None:
        self._fetch_page = fetch_page

    def pages(self) -> Iterator[list[T]]:
        """Each page's items, fetching the next page only when asked for it."""
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = self._fetch_page(token)
            yield page.items
            token = page.next_token
            if token is None or token in seen:  # a token seen twice would loop forever
                return
            seen.add(token)

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            for item in page:
                yield item

    def first(self, n: int) -> list[T]:
        """The first ``n`` items, fetching only the pages that hold them."""
        found: list[T] = []
        if n <= 0:
            return found
        for page in self.pages():
            found.extend(page[: n - len(found)])
            if len(found) >= n:
                break
        return found

    def to_list(self) -> list[T]:
        """Every item of every page."""
        return [item for item in self]


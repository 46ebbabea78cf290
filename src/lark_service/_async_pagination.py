"""Lazy pagers over Feishu's ``page_token`` / ``has_more`` lists. This async source is the
truth; the sync ``Pager`` is generated from it.

A list method returns a pager at once and fetches nothing; pages are fetched as they are
iterated, one page in memory at a time::

    async for chat in client.chats.list_chats(): ...        # every item, page by page
    async for page in pager.pages(): ...                    # each page, a list of items
    await pager.first(10)                                   # only the pages it needs
    await pager.to_list()  # or: await pager                # everything

A pager is single-pass per iteration: each ``async for`` (or ``to_list``) starts again from
the first page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

from ._pagination import Page

__all__ = ["AsyncPager"]

T = TypeVar("T")


class AsyncPager(Generic[T]):
    """Items of a paged Feishu list, fetched lazily page by page."""

    def __init__(self, fetch_page: Callable[[str | None], Awaitable[Page[T]]]) -> None:
        self._fetch_page = fetch_page

    async def pages(self) -> AsyncIterator[list[T]]:
        """Each page's items, fetching the next page only when asked for it."""
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = await self._fetch_page(token)
            yield page.items
            token = page.next_token
            if token is None or token in seen:  # a token seen twice would loop forever
                return
            seen.add(token)

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page:
                yield item

    async def first(self, n: int) -> list[T]:
        """The first ``n`` items, fetching only the pages that hold them."""
        found: list[T] = []
        if n <= 0:
            return found
        async for page in self.pages():
            found.extend(page[: n - len(found)])
            if len(found) >= n:
                break
        return found

    async def to_list(self) -> list[T]:
        """Every item of every page."""
        return [item async for item in self]

    def __await__(self) -> Generator[Any, None, list[T]]:  # unasync: async-only
        return self.to_list().__await__()  # unasync: async-only

"""Lazy pagers (issue 9.3): ``client.chats.list_chats()`` against the emulator with 250 chats,
counting the list requests the emulator received."""

from __future__ import annotations

import pytest

from lark_service import AsyncLarkClient, AsyncPager, LarkClient, Pager
from lark_service.testing import FAST_RETRY, Emulator

from .conftest import APP_A

LIST = "/open-apis/im/v1/chats"


@pytest.fixture
def many(emu: Emulator) -> Emulator:
    for n in range(249):  # + oc_platform from the emu fixture: 250 chats
        emu.add_chat(f"oc_{n:03d}", f"Chat {n:03d}", bot_app_ids=[APP_A[0]])
    return emu


def list_calls(emu: Emulator) -> list[dict[str, str]]:
    return [r.query for r in emu.requests(method="GET", path=LIST)]


def test_a_pager_fetches_nothing_until_iterated(many: Emulator, client: LarkClient) -> None:
    pager = client.chats.list_chats()
    assert isinstance(pager, Pager)
    assert list_calls(many) == []
    assert many.token_fetches(APP_A[0]) == 0


def test_iterating_fetches_every_page_at_the_endpoint_maximum(
    many: Emulator, client: LarkClient
) -> None:
    chats = list(client.chats.list_chats())
    assert len(chats) == 250
    assert len({c.chat_id for c in chats}) == 250
    calls = list_calls(many)
    assert len(calls) == 3  # 100 + 100 + 50
    assert {q["page_size"] for q in calls} == {"100"}
    assert "page_token" not in calls[0]
    assert all(q.get("page_token") for q in calls[1:])


def test_pages_yields_each_page_and_fetches_the_next_only_when_asked(
    many: Emulator, client: LarkClient
) -> None:
    pages = client.chats.list_chats().pages()
    first = next(iter(pages))
    assert len(first) == 100
    assert len(list_calls(many)) == 1
    rest = list(pages)
    assert [len(p) for p in rest] == [100, 50]
    assert len(list_calls(many)) == 3


@pytest.mark.parametrize(("n", "requests"), [(1, 1), (100, 1), (101, 2), (250, 3), (999, 3)])
def test_first_fetches_only_the_pages_it_needs(
    many: Emulator, client: LarkClient, n: int, requests: int
) -> None:
    found = client.chats.list_chats().first(n)
    assert len(found) == min(n, 250)
    assert len(list_calls(many)) == requests


def test_first_zero_fetches_nothing(many: Emulator, client: LarkClient) -> None:
    assert client.chats.list_chats().first(0) == []
    assert list_calls(many) == []


def test_to_list_and_each_iteration_starts_again(many: Emulator, client: LarkClient) -> None:
    pager = client.chats.list_chats()
    assert len(pager.to_list()) == 250
    assert len(pager.to_list()) == 250
    assert len(list_calls(many)) == 6


@pytest.mark.anyio
async def test_async_pager_is_lazy_awaitable_and_pages(many: Emulator) -> None:
    async with AsyncLarkClient(APP_A[0], APP_A[1], base_url=many.url, retry=FAST_RETRY) as client:
        pager = client.chats.list_chats()
        assert isinstance(pager, AsyncPager)
        assert list_calls(many) == []

        everything = await pager
        assert len(everything) == 250
        assert len(list_calls(many)) == 3

        assert len(await pager.first(150)) == 150
        assert len(list_calls(many)) == 5

        sizes = [len(page) async for page in pager.pages()]
        assert sizes == [100, 100, 50]
        assert len([chat async for chat in pager]) == 250
        assert len(await pager.to_list()) == 250

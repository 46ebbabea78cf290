"""The async client (same behaviour, awaitable) and ``contact.resolve`` (SQLite and
PostgreSQL state databases)."""

from __future__ import annotations

import pytest

from lark_service import AsyncLarkClient, LarkClient
from lark_service.config import Settings
from lark_service.errors import NotFoundError, ValidationError
from lark_service.testing import Emulator

from .conftest import APP, FakeClock, contact_calls

pytestmark = pytest.mark.anyio


async def test_async_lookups_hit_the_same_cache(
    emu: Emulator, db_url: str, clock: FakeClock
) -> None:
    async with AsyncLarkClient(
        app_id=APP[0],
        app_secret=APP[1],
        base_url=emu.url,
        settings=Settings(database_url=db_url),
        clock=clock,
    ) as client:
        alice = await client.contact.get_user_by_email("alice@example.com")
        assert alice is not None and not alice.from_cache
        calls = contact_calls(emu)
        again = await client.contact.get_user(alice.open_id)
        assert again.from_cache and again.union_id == alice.union_id
        members = await client.contact.get_department_users("eng", recursive=True)
        assert sorted(u.user_id or "" for u in members) == ["alice", "dave"]
        found = await client.contact.get_users_by_emails(["Dave@example.com", "x@example.com"])
        assert found["Dave@example.com"] is not None and found["x@example.com"] is None
        chat = await client.chats.get_chat_by_name("Ops Alerts")
        assert chat.member_count == 2
        assert contact_calls(emu) > calls

    # a sync client on the same database sees what the async one cached
    with LarkClient(
        app_id=APP[0],
        app_secret=APP[1],
        base_url=emu.url,
        settings=Settings(database_url=db_url),
        clock=clock,
    ) as sync_client:
        calls = contact_calls(emu)
        assert sync_client.contact.get_user_by_email("dave@example.com").from_cache  # type: ignore[union-attr]
        assert contact_calls(emu) == calls


def test_resolve_accepts_every_kind_of_id(emu: Emulator, client: LarkClient) -> None:
    alice = client.contact.resolve("alice@example.com")
    open_id = emu.open_id("alice", APP[0])
    assert alice.open_id == open_id
    assert client.contact.resolve("+86 138-0000-0001").open_id == open_id
    assert client.contact.resolve("13800000001").open_id == open_id
    assert client.contact.resolve(open_id).user_id == "alice"
    assert client.contact.resolve(alice.union_id or "").open_id == open_id
    assert client.contact.resolve("alice").open_id == open_id  # a user_id
    assert client.contact.resolve("alice", id_type="user_id").open_id == open_id
    with pytest.raises(NotFoundError):
        client.contact.resolve("+8613000000000")
    with pytest.raises(ValidationError):
        client.contact.resolve("   ")
    with pytest.raises(ValidationError):
        client.contact.resolve("a@b", id_type="email")


def test_send_to_the_resolved_open_id(emu: Emulator, client: LarkClient) -> None:
    open_id = client.contact.resolve("bob@example.com").open_id
    message = client.messaging.send_text_message(open_id, "hello")
    [stored] = emu.messages()
    assert stored.receive_id == open_id and stored.receive_id_type == "open_id"
    assert message.message_id == stored.message_id

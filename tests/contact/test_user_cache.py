"""The per-app user cache through ``client.contact`` (every test on SQLite and PostgreSQL)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import event, select

from lark_service import LarkClient
from lark_service.contact import UserCache
from lark_service.errors import ValidationError
from lark_service.storage import get_engine, user_cache
from lark_service.testing import Emulator

from .conftest import APP, OTHER_APP, ClientFactory, FakeClock, contact_calls

DAY = 24 * 3600


def test_repeat_lookup_is_a_hit_without_any_request(emu: Emulator, client: LarkClient) -> None:
    first = client.contact.get_user_by_email("alice@example.com")
    assert first is not None and not first.from_cache
    calls = contact_calls(emu)
    assert calls == 2  # batch_get_id + users/batch

    again = client.contact.get_user_by_email("Alice@Example.com ")
    assert again is not None and again.from_cache
    assert again.open_id == first.open_id
    assert again.email == "alice@example.com"
    assert again.mobile == "+8613800000001"
    assert again.union_id == first.union_id and again.user_id == "alice"
    assert again.en_name == "Alice Liddell" and again.job_title == "Engineer"
    assert again.employee_no == "E001"
    assert again.department_ids == first.department_ids != []
    assert again.avatar is not None and again.avatar.url == first.avatar.url  # type: ignore[union-attr]
    assert again.status is not None and again.status.is_activated

    # every other key of the same person is served by the same row
    assert client.contact.get_user_by_mobile("13800000001").from_cache  # type: ignore[union-attr]
    assert client.contact.get_user(first.open_id).from_cache
    assert client.contact.get_user("alice", id_type="user_id").from_cache
    assert client.contact.get_user(first.union_id or "").from_cache
    assert client.contact.resolve("alice@example.com").open_id == first.open_id
    assert contact_calls(emu) == calls
    assert client.contact.cache.counters.hits >= 6


def test_entries_expire_when_the_clock_passes_the_ttl(
    emu: Emulator, client: LarkClient, clock: FakeClock
) -> None:
    client.contact.get_user_by_email("bob@example.com")
    calls = contact_calls(emu)

    clock.advance(DAY - 60)
    assert client.contact.get_user_by_email("bob@example.com").from_cache  # type: ignore[union-attr]
    assert contact_calls(emu) == calls

    clock.advance(120)  # now past 24 h
    fresh = client.contact.get_user_by_email("bob@example.com")
    assert fresh is not None and not fresh.from_cache
    assert contact_calls(emu) == calls + 2
    # the refetch re-armed the entry
    assert client.contact.get_user_by_email("bob@example.com").from_cache  # type: ignore[union-attr]


def test_ttl_is_configurable(
    emu: Emulator, client: LarkClient, clock: FakeClock, db_url: str
) -> None:
    client.contact.cache = UserCache(db_url, ttl=60, clock=clock)
    client.contact.get_user("alice", id_type="user_id")
    clock.advance(59)
    assert client.contact.get_user("alice", id_type="user_id").from_cache
    clock.advance(2)
    assert not client.contact.get_user("alice", id_type="user_id").from_cache


def test_ttl_from_the_environment(
    emu: Emulator, make_client: ClientFactory, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LARK_CONTACT_CACHE_TTL", "30")
    monkeypatch.setenv("LARK_CONTACT_NEGATIVE_TTL", "5")
    client = make_client()
    assert (client.contact.cache.ttl, client.contact.cache.negative_ttl) == (30, 5)
    client.contact.get_user_by_email("carol@example.com")
    clock.advance(31)
    assert not client.contact.get_user_by_email("carol@example.com").from_cache  # type: ignore[union-attr]


def test_refresh_bypasses_the_cache(emu: Emulator, client: LarkClient) -> None:
    client.contact.get_user_by_email("alice@example.com")
    emu.add_user("alice", name="Alice Renamed", email="alice@example.com", department_ids=["be"])
    calls = contact_calls(emu)

    assert client.contact.get_user_by_email("alice@example.com").name == "Alice"  # type: ignore[union-attr]
    refreshed = client.contact.get_user_by_email("alice@example.com", refresh=True)
    assert refreshed is not None and not refreshed.from_cache
    assert refreshed.name == "Alice Renamed"
    assert contact_calls(emu) == calls + 2
    # the refreshed row replaced the old one
    assert client.contact.get_user_by_email("alice@example.com").name == "Alice Renamed"  # type: ignore[union-attr]


def test_department_sync_then_email_lookups_are_served_from_cache(
    emu: Emulator, client: LarkClient, db_url: str
) -> None:
    emu.seed_directory(users=120, departments=4, chats=0)  # > 2 pages in some departments
    client.contact.get_department("0")  # token ready before counting
    client.contact.cache.stats()  # schema migrated before counting
    commits: list[object] = []

    def on_commit(conn: object) -> None:
        commits.append(conn)

    engine = get_engine(db_url)
    event.listen(engine, "commit", on_commit)
    try:
        synced = client.contact.get_department_users("0", recursive=True)
    finally:
        event.remove(engine, "commit", on_commit)
    assert len(commits) == 1  # every member upserted in one transaction
    everyone = [u for u in emu.state.users() if u.email]
    assert {u.user_id for u in synced} == {u.user_id for u in emu.state.users()}
    pages = emu.requests(path="/open-apis/contact/v3/users/find_by_department")
    assert all(r.query["page_size"] == "50" for r in pages)

    calls = contact_calls(emu)
    found = client.contact.get_users_by_emails([u.email for u in everyone if u.email])
    assert all(user is not None and user.from_cache for user in found.values())
    assert found["Dave@Example.com"].user_id == "dave"  # type: ignore[union-attr]
    assert contact_calls(emu) == calls
    with engine.connect() as conn:
        rows = conn.execute(select(user_cache.c.app_id, user_cache.c.email)).all()
    assert {r.app_id for r in rows} == {APP[0]}
    assert len(rows) == len(emu.state.users())


def test_two_apps_one_person_separate_rows(
    emu: Emulator, make_client: ClientFactory, db_url: str
) -> None:
    a, b = make_client(APP), make_client(OTHER_APP)
    alice_a = a.contact.get_user_by_email("alice@example.com")
    calls = contact_calls(emu)
    alice_b = b.contact.get_user_by_email("alice@example.com")

    assert alice_a is not None and alice_b is not None
    assert not alice_b.from_cache  # app b did not read app a's row
    assert contact_calls(emu) == calls + 2
    assert alice_a.union_id == alice_b.union_id
    assert alice_a.open_id != alice_b.open_id
    assert alice_a.open_id == emu.open_id("alice", APP[0])
    assert alice_b.open_id == emu.open_id("alice", OTHER_APP[0])

    with get_engine(db_url).connect() as conn:
        rows = conn.execute(
            select(user_cache.c.app_id, user_cache.c.open_id, user_cache.c.union_id)
        ).all()
    assert sorted((r.app_id, r.open_id) for r in rows) == sorted(
        [(APP[0], alice_a.open_id), (OTHER_APP[0], alice_b.open_id)]
    )
    # one app's open_id is not a key in the other app's cache
    cache = b.contact.cache
    assert cache.get(OTHER_APP[0], "open_id", alice_a.open_id) is None
    assert cache.get(APP[0], "open_id", alice_a.open_id) is not None
    assert b.contact.get_user_by_email("alice@example.com").open_id == alice_b.open_id  # type: ignore[union-attr]


def test_unknown_email_is_none_logged_and_negatively_cached(
    emu: Emulator, client: LarkClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="lark_service.contact"):
        assert client.contact.get_user_by_email("nobody@example.com") is None
    [record] = [r for r in caplog.records if r.name == "lark_service.contact"]
    assert record.levelno == logging.INFO
    assert "no***@example.com" in record.getMessage()
    assert "nobody@example.com" not in record.getMessage()
    assert client.contact.get_user_by_mobile("+8613999999999") is None

    calls = contact_calls(emu)
    assert client.contact.get_user_by_email("nobody@example.com") is None
    assert contact_calls(emu) == calls  # the negative entry answered
    assert client.contact.cache.counters.negative_hits == 1

    # the person joins; the short negative TTL passes and the lookup finds them
    emu.add_user("newbie", name="Newbie", email="nobody@example.com")
    clock.advance(client.contact.cache.negative_ttl + 1)
    joined = client.contact.get_user_by_email("nobody@example.com")
    assert joined is not None and joined.user_id == "newbie"


def test_batch_lookups_are_chunked_at_fifty(emu: Emulator, client: LarkClient) -> None:
    emu.seed_directory(users=120, departments=2, chats=0)
    emails = [f"user{i:05d}@example.com" for i in range(1, 121)] + ["ghost@example.com"]
    found = client.contact.get_users_by_emails(emails)

    assert list(found) == emails
    assert found["ghost@example.com"] is None
    assert [u.user_id for u in found.values() if u] == [f"u{i:05d}" for i in range(1, 121)]
    batches = emu.requests(path="/open-apis/contact/v3/users/batch_get_id")
    assert len(batches) == 3
    profiles = emu.requests(path="/open-apis/contact/v3/users/batch")
    assert len(profiles) == 3

    mobiles = client.contact.get_users_by_mobiles(["+8613900000001", "13900000002"])
    assert [u.user_id for u in mobiles.values() if u] == ["u00001", "u00002"]
    assert all(u is not None and u.from_cache for u in mobiles.values())


def test_bad_input_fails_before_any_request(emu: Emulator, client: LarkClient) -> None:
    for call in (
        lambda: client.contact.get_user_by_email("not-an-email"),
        lambda: client.contact.get_user_by_mobile("call me"),
        lambda: client.contact.get_users_by_emails("alice@example.com"),
        lambda: client.contact.get_users_by_emails(["alice@example.com", "bad"]),
        lambda: client.contact.get_user(""),
        lambda: client.contact.get_user("alice", id_type="email_id"),
        lambda: client.contact.get_department_users(""),
    ):
        with pytest.raises(ValidationError):
            call()
    assert emu.requests() == []

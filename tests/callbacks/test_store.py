from __future__ import annotations

from lark_service.callbacks import OutboxStore

from ._support import FakeClock


def accept(store: OutboxStore, *keys: str, lease: float | None = None) -> int | None:
    return store.accept(
        app_id="cli_s",
        kind="event",
        dedup_keys=list(keys),
        event_id=keys[0] if keys else None,
        event_type="t",
        payload={"keys": list(keys)},
        lease=lease,
    )


def test_dedup_by_any_key_and_rollback_on_duplicate(db_url: str, clock: FakeClock) -> None:
    store = OutboxStore(db_url, clock=clock)
    assert accept(store, "evt:1", "msg:a") is not None
    assert accept(store, "evt:1") is None
    assert accept(store, "evt:2", "msg:a") is None  # same message, new event id
    assert not store.is_processed("evt:2")  # the rolled-back claim left nothing
    assert store.is_processed("evt:1") and store.is_processed("msg:a")
    assert store.counts() == {"pending": 1}


def test_dedup_keys_expire_after_the_ttl(db_url: str, clock: FakeClock) -> None:
    store = OutboxStore(db_url, clock=clock, dedup_ttl=100)
    assert accept(store, "evt:x") is not None
    clock.advance(99)
    assert accept(store, "evt:x") is None
    clock.advance(2)
    assert accept(store, "evt:x") is not None
    assert store.purge(done_older_than=0) == 0  # nothing expired or done yet


def test_claim_lease_retry_bury_revive(db_url: str, clock: FakeClock) -> None:
    store = OutboxStore(db_url, clock=clock)
    leased = accept(store, "evt:a", lease=60)
    pending = accept(store, "evt:b")
    assert leased is not None and pending is not None
    claimed = store.claim(10, lease=60)
    assert [i.id for i in claimed] == [pending] and claimed[0].attempts == 1
    assert store.claim(10, lease=60) == []
    clock.advance(61)  # both leases ran out: their owner died
    again = store.claim(10, lease=60)
    assert sorted(i.id for i in again) == sorted([leased, pending])
    assert {i.id: i.attempts for i in again} == {leased: 2, pending: 2}
    store.retry_later(leased, "boom", 30)
    store.bury(pending, "dead for good")
    assert store.claim(10, lease=60) == []
    clock.advance(31)
    assert [i.id for i in store.claim(10, lease=60)] == [leased]
    store.complete(leased)
    dead = store.items("dead")
    assert [i.id for i in dead] == [pending] and dead[0].last_error == "dead for good"
    assert store.revive() == 1
    revived = store.get(pending)
    assert revived is not None and revived.status == "pending" and revived.attempts == 0
    assert store.counts() == {"done": 1, "pending": 1}


def test_release_gives_rows_back_without_counting(db_url: str, clock: FakeClock) -> None:
    store = OutboxStore(db_url, clock=clock)
    item_id = accept(store, "evt:r", lease=600)
    assert item_id is not None
    store.release([item_id])
    (item,) = store.claim(5, lease=10)
    assert item.id == item_id and item.attempts == 1


def test_purge_removes_expired_keys_and_old_done_rows(db_url: str, clock: FakeClock) -> None:
    store = OutboxStore(db_url, clock=clock, dedup_ttl=10)
    item_id = accept(store, "evt:p", lease=5)
    assert item_id is not None
    store.complete(item_id)
    clock.advance(11)
    assert store.purge(done_older_than=10) == 2
    assert store.get(item_id) is None
    store.ping()


def test_the_verification_token_is_never_stored_nor_published(db_url: str) -> None:
    """The store and the message body drop it even from a payload that still carries it
    (a direct caller, or a row written by an older version)."""
    from lark_service.callbacks import OutboxItem
    from lark_service.callbacks.rabbitmq import message_body

    v2 = {"schema": "2.0", "header": {"event_id": "e1", "token": "vt-secret"}, "event": {}}
    v1 = {"uuid": "u1", "token": "vt-secret", "event": {"type": "x"}}
    legacy = {"open_id": "ou_1", "token": "c-card-token", "action": {"value": {}}}
    store = OutboxStore(db_url)
    for kind, payload in (("event", v2), ("event", v1), ("card", legacy)):
        store.accept(
            app_id="cli_s",
            kind=kind,
            dedup_keys=[f"cli_s:evt:{id(payload)}"],
            event_id=None,
            event_type=None,
            payload=payload,
        )
    rows = store.items()
    assert [r.payload for r in rows] == [
        {"schema": "2.0", "header": {"event_id": "e1"}, "event": {}},
        {"uuid": "u1", "event": {"type": "x"}},
        legacy,  # the legacy card's flat token is the c- token: kept
    ]
    assert v2["header"]["token"] == "vt-secret"  # the caller's dict is not changed
    for kind, payload in (("event", v2), ("event", v1)):
        item = OutboxItem(1, "cli_s", kind, "e1", "t", payload)
        assert b"vt-secret" not in message_body(item)
    assert b"c-card-token" in message_body(OutboxItem(2, "cli_s", "card", None, None, legacy))

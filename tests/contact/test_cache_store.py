"""``UserCache`` on its own: keys, expiry, negatives, isolation, stats, clear (SQLite and
PostgreSQL)."""

from __future__ import annotations

from lark_service.contact import User, UserCache

from .conftest import FakeClock


def _user(n: int, **extra: object) -> User:
    return User.model_validate(
        {
            "open_id": f"ou_{n}",
            "union_id": f"on_{n}",
            "user_id": f"u{n}",
            "name": f"User {n}",
            "email": f"User{n}@Example.com",
            "mobile": f"+86138{n:08d}",
            "department_ids": ["od-1"],
            "avatar": {"avatar_240": f"https://a/{n}"},
            "status": {"is_activated": True},
            "custom_field": "kept",
            **extra,
        }
    )


def test_every_key_finds_the_row(db_url: str, clock: FakeClock) -> None:
    cache = UserCache(db_url, clock=clock)
    assert cache.put_many("cli_a", [_user(1), _user(2)]) == 2
    for field, value in [
        ("open_id", "ou_1"),
        ("union_id", "on_1"),
        ("user_id", "u1"),
        ("email", "user1@example.com"),
        ("email", "USER1@example.COM"),
        ("mobile", "13800000001"),
    ]:
        found = cache.get("cli_a", field, value)  # type: ignore[arg-type]
        assert found is not None and found.open_id == "ou_1", (field, value)
        assert found.from_cache and found.email == "User1@Example.com"
        assert found.model_extra == {"custom_field": "kept"}
        assert found.avatar is not None and found.avatar.url == "https://a/1"
    assert cache.counters.hits == 6 and cache.counters.misses == 0
    many = cache.get_many("cli_a", "user_id", ["u1", "u2", "u3"])
    assert sorted(many) == ["u1", "u2"]
    assert cache.counters.misses == 1


def test_rows_are_per_app(db_url: str, clock: FakeClock) -> None:
    cache = UserCache(db_url, clock=clock)
    cache.put_many("cli_a", [_user(1)])
    cache.put_many("cli_b", [_user(1, open_id="ou_b1")])
    assert cache.get("cli_a", "union_id", "on_1").open_id == "ou_1"  # type: ignore[union-attr]
    assert cache.get("cli_b", "union_id", "on_1").open_id == "ou_b1"  # type: ignore[union-attr]
    assert cache.get("cli_b", "open_id", "ou_1") is None
    assert cache.get("cli_c", "email", "user1@example.com") is None
    stats = cache.stats()
    assert stats.apps == {
        "cli_a": {"rows": 1, "live": 1, "negative": 0},
        "cli_b": {"rows": 1, "live": 1, "negative": 0},
    }
    assert cache.clear("cli_b") == 1
    assert cache.stats().rows == 1


def test_expiry_upsert_and_purge(db_url: str, clock: FakeClock) -> None:
    cache = UserCache(db_url, ttl=100, clock=clock)
    cache.put_many("cli_a", [_user(1)])
    clock.advance(99)
    assert cache.get("cli_a", "open_id", "ou_1") is not None
    clock.advance(2)
    assert cache.get("cli_a", "open_id", "ou_1") is None
    stats = cache.stats("cli_a")
    assert (stats.rows, stats.live, stats.expired) == (1, 0, 1)

    cache.put_many("cli_a", [_user(1, name="Renamed")])  # upsert re-arms the row
    assert cache.get("cli_a", "open_id", "ou_1").name == "Renamed"  # type: ignore[union-attr]
    assert cache.stats().rows == 1
    clock.advance(101)
    cache.put_many("cli_a", [_user(2)])
    assert cache.clear(expired_only=True) == 1
    assert cache.get("cli_a", "open_id", "ou_2") is not None


def test_negative_entries(db_url: str, clock: FakeClock) -> None:
    cache = UserCache(db_url, negative_ttl=10, clock=clock)
    cache.put_negative("cli_a", "email", ["ghost@example.com"])
    assert cache.negatives("cli_a", "email", ["ghost@example.com", "x@example.com"]) == {
        "ghost@example.com"
    }
    assert cache.negatives("cli_b", "email", ["ghost@example.com"]) == set()
    assert cache.negatives("cli_a", "mobile", ["ghost@example.com"]) == set()
    cache.put_negative("cli_a", "email", ["ghost@example.com"])  # upsert, no duplicate error
    clock.advance(11)
    assert cache.negatives("cli_a", "email", ["ghost@example.com"]) == set()

    cache.put_negative("cli_a", "email", ["user1@example.com"])
    cache.put_many("cli_a", [_user(1)])  # the person appeared: the negative entry goes
    assert cache.negatives("cli_a", "email", ["user1@example.com"]) == set()
    assert cache.forget("cli_a", "email", ["USER1@example.com"]) == 1
    assert cache.get("cli_a", "open_id", "ou_1") is None


def test_disabled_cache_stores_nothing(db_url: str, clock: FakeClock) -> None:
    cache = UserCache(db_url, ttl=0, clock=clock)
    assert not cache.enabled
    assert cache.put_many("cli_a", [_user(1)]) == 0
    assert cache.get("cli_a", "open_id", "ou_1") is None

"""The five jobs against the emulator, on its clock (no sleeping: the clock is advanced)."""

from __future__ import annotations

from typing import Any

import pytest

from lark_service import instrumentation
from lark_service.testing import Emulator

from .conftest import APP

DAY = 86400.0


def _job(scheduler: Any, name: str) -> Any:
    result = scheduler.run_job(name)
    assert result.outcome == "ok", result
    return result


def test_token_sweep_refreshes_a_token_close_to_expiry(emu: Emulator, make_scheduler: Any) -> None:
    scheduler = make_scheduler()
    first = _job(scheduler, "token_sweep")
    assert first.details["refreshed"] == [APP[0]]  # none stored: fetched
    assert emu.token_fetches(APP[0], "tenant") == 1

    again = _job(scheduler, "token_sweep")
    assert again.details["fresh"] == [APP[0]]  # 2 h left: nothing to do
    assert emu.token_fetches(APP[0], "tenant") == 1

    emu.advance_clock(7200 - 600)  # 10 minutes left, under the 15-minute horizon
    late = _job(scheduler, "token_sweep")
    assert late.details["refreshed"] == [APP[0]]
    assert emu.token_fetches(APP[0], "tenant") == 2
    # the new token is what every client of the store now uses
    from lark_service import LarkClient

    with LarkClient(APP[0], clock=emu.now) as client:
        assert client.access_token() == emu.tokens(APP[0], "tenant")[-1].value
    assert emu.token_fetches(APP[0], "tenant") == 2


def test_token_sweep_reports_a_wrong_secret(emu: Emulator, make_scheduler: Any) -> None:
    from lark_service.apps import AppRegistry
    from lark_service.config import get_settings

    AppRegistry.from_settings(get_settings()).add_app("cli_wrong", "bad", domain=emu.url)
    emu.add_app("cli_wrong", "good")
    result = make_scheduler().run_job("token_sweep")
    assert result.outcome == "failed"
    assert result.details["refreshed"] == [APP[0]]
    assert "InvalidCredentialsError" in result.details["failed"]["cli_wrong"]


def test_contact_sync_fills_the_cache(emu: Emulator, make_scheduler: Any) -> None:
    from lark_service.config import get_settings
    from lark_service.contact.cache import UserCache

    emu.seed_directory(users=40, departments=4, chats=0)
    result = _job(make_scheduler(), "contact_sync")
    assert result.details["users"][APP[0]] == 40
    cache = UserCache(get_settings().resolved_database_url, clock=emu.now)
    assert cache.stats(APP[0]).rows == 40


def _store_user_token(open_id: str, refresh_in: float, now: float) -> None:
    from lark_service.config import get_settings
    from lark_service.credentials import TokenKey, TokenRecord, open_token_store
    from lark_service.storage.crypto import fingerprint

    store = open_token_store(get_settings())
    store.save(
        TokenRecord(
            key=TokenKey(APP[0], fingerprint(APP[1]), "user", open_id),
            value=f"u-{open_id}",
            expires_at=now + 7200,
            issued_at=now,
            refresh_token=f"r-{open_id}",
            refresh_expires_at=now + refresh_in,
        )
    )


def test_user_token_watch_sends_each_level_once(emu: Emulator, make_scheduler: Any) -> None:
    emu.add_user("dana", name="Dana")
    emu.add_user("eve", name="Eve")
    emu.add_user("finn", name="Finn")
    dana, eve, finn = (emu.open_id(u, APP[0]) for u in ("dana", "eve", "finn"))
    now = emu.now()
    _store_user_token(dana, 20 * DAY, now)  # inside 30 days
    _store_user_token(eve, 60 * DAY, now)  # fine
    _store_user_token(finn, -5, now)  # expired
    links: list[tuple[str, str]] = []

    def link(app_id: str, open_id: str) -> str:
        links.append((app_id, open_id))
        return f"https://ops.example.com/reauth/{app_id}"

    scheduler = make_scheduler(options={"link_builder": link})
    with instrumentation.EventRecorder(prefix="token.refresh_expiry") as events:
        first = _job(scheduler, "user_token_watch")
    assert first.details["sent"] == {"30d": 1, "expired": 1}
    sent = {m.receive_id: m.content["text"] for m in emu.messages(app_id=APP[0])}
    assert set(sent) == {dana, finn}
    assert "expires in 20 day(s)" in sent[dana]
    assert "https://ops.example.com/reauth/cli_sched" in sent[dana]
    assert "has expired" in sent[finn]
    (event,) = events.named("token.refresh_expiry")
    assert event.app_id == APP[0] and event["subject"] == "user" and event["expires_in"] < 0

    assert _job(scheduler, "user_token_watch").details["sent"] == {}  # each level once
    emu.advance_clock(14 * DAY)  # dana: 6 days left -> the 7-day level, once
    assert _job(scheduler, "user_token_watch").details["sent"] == {"7d": 1}
    assert _job(scheduler, "user_token_watch").details["sent"] == {}
    assert len(emu.messages(app_id=APP[0])) == 3
    assert all(open_id in (dana, finn) for _, open_id in links)


def test_user_token_watch_without_a_link_source(emu: Emulator, make_scheduler: Any) -> None:
    emu.add_user("gus", name="Gus")
    gus = emu.open_id("gus", APP[0])
    _store_user_token(gus, 3 * DAY, emu.now())
    result = _job(make_scheduler(), "user_token_watch")  # no LARK_OAUTH_REDIRECT_URL either
    assert result.details["sent"] == {"7d": 1} and result.details["failed"] == {}
    (message,) = emu.messages(app_id=APP[0])
    assert "Ask your administrator" in message.content["text"]


def test_user_token_watch_links_through_user_oauth(
    emu: Emulator, make_scheduler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With user OAuth configured, the link is client.auth's consent link for that user."""
    monkeypatch.setenv("LARK_OAUTH_REDIRECT_URL", "https://svc.example.com/oauth/callback")
    emu.add_user("ida", name="Ida")
    ida = emu.open_id("ida", APP[0])
    _store_user_token(ida, 10 * DAY, emu.now())
    _job(make_scheduler(), "user_token_watch")
    (message,) = emu.messages(app_id=APP[0])
    text = message.content["text"]
    assert "state=" in text and "redirect_uri=" in text and "(valid until " in text


def test_user_token_watch_template_link(
    emu: Emulator, make_scheduler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LARK_SCHEDULER_REAUTH_URL", "https://sso.example.com/{app_id}?u={open_id}")
    emu.add_user("hal", name="Hal")
    hal = emu.open_id("hal", APP[0])
    _store_user_token(hal, DAY, emu.now())
    _job(make_scheduler(), "user_token_watch")
    (message,) = emu.messages(app_id=APP[0])
    assert f"https://sso.example.com/cli_sched?u={hal}" in message.content["text"]


def test_cleanup_removes_what_expired(emu: Emulator, make_scheduler: Any) -> None:
    from sqlalchemy import func, insert, select

    from lark_service.callbacks.store import OutboxStore
    from lark_service.config import get_settings
    from lark_service.storage.migrate import ensure_schema
    from lark_service.storage.tables import (
        auth_sessions,
        callback_outbox,
        processed_events,
        tokens,
    )

    now = emu.now()
    url = get_settings().resolved_database_url
    engine = ensure_schema(url, "state")
    rows = [
        # expired app token; expired user token with a live refresh token; live token
        dict(kind="tenant", subject="", expires_at=now - 10, refresh_expires_at=None),
        dict(kind="user", subject="ou_a", expires_at=now - 10, refresh_expires_at=now + DAY),
        dict(kind="user", subject="ou_b", expires_at=now - 10, refresh_expires_at=now - 1),
        dict(kind="app", subject="", expires_at=now + 100, refresh_expires_at=None),
    ]
    with engine.begin() as conn:
        for row in rows:
            conn.execute(
                insert(tokens).values(
                    app_id=APP[0], secret_fingerprint="f", value_enc="x", updated_at=now - 20, **row
                )
            )
        conn.execute(
            insert(auth_sessions),
            [
                dict(
                    state="s1",
                    app_id=APP[0],
                    method="link",
                    created_at=now - 700,
                    expires_at=now - 100,
                ),
                dict(
                    state="s2", app_id=APP[0], method="link", created_at=now, expires_at=now + 600
                ),
            ],
        )
        conn.execute(
            insert(processed_events),
            [
                dict(
                    dedup_key="old", app_id=APP[0], processed_at=now - 2 * DAY, expires_at=now - DAY
                ),
                dict(dedup_key="new", app_id=APP[0], processed_at=now, expires_at=now + DAY),
            ],
        )
        for status, age in (("done", 8 * DAY), ("done", DAY), ("pending", 30 * DAY)):
            conn.execute(
                insert(callback_outbox).values(
                    app_id=APP[0],
                    kind="event",
                    payload="{}",
                    status=status,
                    available_at=now - age,
                    created_at=now - age,
                    updated_at=now - age,
                )
            )
    result = _job(make_scheduler(), "cleanup")
    assert result.details["removed"]["tokens"] == 2
    assert result.details["removed"]["auth_sessions"] == 1
    assert result.details["removed"]["dedup_and_outbox"] == 2
    with engine.connect() as conn:
        assert sorted(conn.execute(select(tokens.c.subject, tokens.c.kind)).all()) == [
            ("", "app"),
            ("ou_a", "user"),
        ]
        assert conn.execute(select(auth_sessions.c.state)).scalars().all() == ["s2"]
        assert conn.execute(select(processed_events.c.dedup_key)).scalars().all() == ["new"]
        assert conn.execute(select(func.count()).select_from(callback_outbox)).scalar() == 2
    assert OutboxStore(url).counts() == {"done": 1, "pending": 1}


def test_health_check(emu: Emulator, make_scheduler: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    result = _job(make_scheduler(), "health_check")
    assert result.details["checks"]["feishu"] == "ok"
    assert result.details["checks"]["state database"] == "ok"
    assert result.details["checks"]["broker"] == "skip"

    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    monkeypatch.setenv("LARK_AMQP_URL", f"amqp://guest:guest@127.0.0.1:{port}/")
    broken = make_scheduler().run_job("health_check")
    assert broken.outcome == "failed"
    assert "broker" in broken.details["failed"]


def test_scheduled_runs_on_the_emulator_clock(emu: Emulator, make_scheduler: Any) -> None:
    """The loop on the emulator's clock: advancing it 6 hours makes contact_sync due."""
    from lark_service.scheduler import SchedulerSettings

    emu.seed_directory(users=5, departments=1, chats=0)
    scheduler = make_scheduler(scheduler_settings=SchedulerSettings())
    planned = scheduler.plan()
    assert planned["contact_sync"] % (6 * 3600) == 0
    emu.advance_clock(planned["contact_sync"] - emu.now() + 1)
    with instrumentation.EventRecorder(prefix="scheduler.job_finished") as events:
        results = {r.job: r for r in scheduler.tick()}
    assert results["contact_sync"].outcome == "ok"
    assert results["contact_sync"].occurrence == planned["contact_sync"]
    assert {e["job"] for e in events.events} == set(results)
    assert scheduler.tick() == []

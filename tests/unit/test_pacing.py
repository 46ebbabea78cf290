"""The pacing table (families, limits as data, overrides) and the Pacer, on fake clocks."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from lark_service import errors, instrumentation
from lark_service._pacing import (
    DEFAULT_FAMILY,
    DEFAULT_LIMITS,
    MINUTE,
    Limits,
    Pacer,
    PacingRoute,
    PacingTable,
    RedisBudget,
    family_of,
)
from lark_service.config import get_settings

APP = "cli_pacing"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def go(pacer: Pacer, clock: FakeClock, family: str, key: str | None = None) -> float:
    """One call as the pipeline makes it (reserve, wait, admit until 0), moving the fake
    clock instead of sleeping; the time it went."""
    clock.now += pacer.reserve(APP, family, key)
    while (wait := pacer.admit(APP, family, key)) > 0:
        clock.now += wait
    return clock.now


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window - 1e-9:
            start += 1
        best = max(best, end - start + 1)
    return best


# --- the table -----------------------------------------------------------------------------

DOC = "/open-apis/docx/v1/documents/doxcn1"
TABLE = "/open-apis/bitable/v1/apps/bascn1/tables/tbl1"


@pytest.mark.parametrize(
    ("method", "path", "family", "key"),
    [
        ("POST", "/open-apis/im/v1/messages", "im.send", None),
        ("post", "/open-apis/im/v1/messages?receive_id_type=open_id", "im.send", None),
        ("POST", "/open-apis/im/v1/messages/om_1/reply", "im.send", None),
        ("POST", "/open-apis/im/v1/messages/om_1/forward", "im.send", None),
        ("POST", "/open-apis/im/v1/messages/merge_forward", "im.send", None),
        ("GET", "/open-apis/im/v1/messages", DEFAULT_FAMILY, None),
        ("PATCH", "/open-apis/im/v1/messages/om_1", "im.card_update", "om_1"),
        ("PUT", "/open-apis/im/v1/messages/om_1", DEFAULT_FAMILY, None),
        ("DELETE", "/open-apis/im/v1/messages/om_1", DEFAULT_FAMILY, None),
        ("POST", "/open-apis/im/v1/images", DEFAULT_FAMILY, None),
        ("GET", "/open-apis/im/v1/chats", "im.chat_list", None),
        ("GET", "/open-apis/im/v1/chats/search", "im.chat_list", None),
        ("POST", "/open-apis/im/v2/chats/search", "im.chat_list", None),
        ("GET", "/open-apis/im/v1/chats/oc_1", DEFAULT_FAMILY, None),
        ("GET", "/open-apis/im/v1/chats/oc_1/members", "im.chat_members", None),
        ("GET", "/open-apis/im/v1/chats/oc_1/members/is_in_chat", "im.chat_members", None),
        ("PATCH", DOC + "/blocks/blk1", "docx.edit", "doxcn1"),
        ("POST", DOC + "/blocks/blk1/children", "docx.edit", "doxcn1"),
        ("POST", DOC + "/blocks/blk1/descendant", "docx.edit", "doxcn1"),
        ("PATCH", DOC + "/blocks/batch_update", "docx.edit", "doxcn1"),
        ("DELETE", DOC + "/blocks/blk1/children/batch_delete", "docx.edit", "doxcn1"),
        ("GET", DOC + "/blocks", DEFAULT_FAMILY, None),
        ("GET", DOC + "/raw_content", DEFAULT_FAMILY, None),
        ("POST", "/open-apis/docx/v1/documents", DEFAULT_FAMILY, None),
        ("POST", "/open-apis/docx/v1/documents/blocks/convert", DEFAULT_FAMILY, None),
        ("POST", "/open-apis/drive/v1/medias/upload_all", "drive.media_upload", None),
        ("POST", "/open-apis/drive/v1/medias/upload_part", "drive.media_upload", None),
        ("GET", "/open-apis/drive/v1/medias/boxcn/download", DEFAULT_FAMILY, None),
        ("POST", "/open-apis/drive/v1/permissions/doxcn1/members", "drive.permission", None),
        ("GET", "/open-apis/drive/v1/permissions/doxcn1/members", "drive.permission", None),
        ("PUT", "/open-apis/drive/v1/permissions/doxcn1/members/ou_1", "drive.permission", None),
        (
            "POST",
            "/open-apis/drive/v1/permissions/doxcn1/members/batch_create",
            "drive.permission",
            None,
        ),
        ("PATCH", "/open-apis/drive/v1/permissions/doxcn1/public", DEFAULT_FAMILY, None),
        ("POST", TABLE + "/records", "bitable.write", "bascn1/tbl1"),
        ("PUT", TABLE + "/records/rec1", "bitable.write", "bascn1/tbl1"),
        ("DELETE", TABLE + "/records/rec1", "bitable.write", "bascn1/tbl1"),
        ("POST", TABLE + "/records/batch_create", "bitable.write", "bascn1/tbl1"),
        ("POST", TABLE + "/records/search", DEFAULT_FAMILY, None),
        ("POST", TABLE + "/records/batch_get", DEFAULT_FAMILY, None),
        ("GET", TABLE + "/records", DEFAULT_FAMILY, None),
        ("POST", "/open-apis/contact/v3/users/batch_get_id", "contact.users", None),
        ("GET", "/open-apis/contact/v3/users/find_by_department", "contact.users", None),
        ("GET", "/open-apis/contact/v3/departments/0/children", "contact.departments", None),
        ("PUT", "/open-apis/cardkit/v1/cards/c1/elements/e1/content", "cardkit.card", "c1"),
        ("POST", "/open-apis/cardkit/v1/cards/id_convert", DEFAULT_FAMILY, None),
        ("POST", "/open-apis/cardkit/v1/cards", DEFAULT_FAMILY, None),
        ("POST", "/open-apis/auth/v3/tenant_access_token/internal", DEFAULT_FAMILY, None),
        ("GET", "/open-apis/calendar/v4/calendars", DEFAULT_FAMILY, None),
    ],
)
def test_requests_are_classified_into_families(
    method: str, path: str, family: str, key: str | None
) -> None:
    assert PacingTable.default().route(method, path) == PacingRoute(family, key)
    assert family_of(method, path) == family


def test_the_pacing_key_keys_families_without_a_key_in_the_path() -> None:
    table = PacingTable.default()
    assert table.route("POST", "/open-apis/im/v1/messages", "ou_a") == ("im.send", "ou_a")
    # the path's document wins over a pacing key; unmatched paths stay unkeyed
    assert table.route("PATCH", DOC + "/blocks/b", "x") == ("docx.edit", "doxcn1")
    assert table.route("GET", "/open-apis/im/v1/messages", "x") == (DEFAULT_FAMILY, None)


def test_default_limits_are_feishus_with_headroom() -> None:
    send = DEFAULT_LIMITS["im.send"]
    assert (send.per_second, send.per_minute, send.per_key) == (45, 1000, 4.5)
    assert send.key == "receiver"
    docx = DEFAULT_LIMITS["docx.edit"]
    assert (docx.per_second, docx.per_key, docx.key) == (2.7, 2.7, "document")
    assert DEFAULT_LIMITS["drive.media_upload"].per_second == 4.5
    assert DEFAULT_LIMITS["drive.permission"].per_minute == 100
    assert DEFAULT_LIMITS["bitable.write"].exclusive
    assert DEFAULT_LIMITS["bitable.write"].per_second is None  # a writer key, not a rate
    for family in ("contact.users", "contact.departments", "im.chat_list", "im.chat_members"):
        assert (DEFAULT_LIMITS[family].per_second, DEFAULT_LIMITS[family].per_minute) == (
            45,
            1000,
        )
    assert not DEFAULT_LIMITS[DEFAULT_FAMILY].paced
    assert all(limits.source for name, limits in DEFAULT_LIMITS.items() if limits.paced)


def test_limits_are_overridable_and_none_switches_a_limit_off() -> None:
    base = PacingTable.default()
    table = base.with_limits(
        {
            "im.send": {"per_second": 20, "per_minute": None},
            "docx.edit": None,
            "drive.media_upload": Limits(per_second=1),
        }
    )
    send = table.limits("im.send")
    assert (send.per_second, send.per_minute, send.per_key) == (20, None, 4.5)
    assert not table.limits("docx.edit").paced
    assert table.limits("docx.edit").key == "document"
    assert table.limits("drive.media_upload") == Limits(per_second=1)
    # the default table is unchanged
    assert base.limits("im.send").per_second == 45 and base.limits("docx.edit").paced
    assert not PacingTable.unlimited().limits("im.send").paced


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"im.send": {"per_sec": 1}}, "unknown pacing limit per_sec"),
        ({"im.send": {"per_second": 0}}, "per_second must be positive"),
        ({"im.send": {"per_minute": -5}}, "per_minute must be positive"),
        ({"im.send": {"per_key": "5"}}, "per_key must be a number"),
        ({"im.send": 5}, "must be Limits, a mapping or None"),
    ],
)
def test_bad_overrides_are_refused(overrides: dict[str, object], match: str) -> None:
    with pytest.raises(errors.ValidationError, match=match):
        PacingTable.default().with_limits(overrides)  # type: ignore[arg-type]


def test_a_domain_of_ones_own_adds_a_family() -> None:
    table = PacingTable.default().with_family(
        "calendar.write",
        Limits(per_second=2, per_key=1, key="calendar"),
        routes=[("POST|PATCH", "/open-apis/calendar/v4/calendars/{calendar_id}/events/**")],
        key="{calendar_id}",
    )
    path = "/open-apis/calendar/v4/calendars/cal1/events"
    assert table.route("POST", path) == ("calendar.write", "cal1")
    assert table.route("GET", path) == (DEFAULT_FAMILY, None)
    clock = FakeClock()
    pacer = Pacer(table, clock=clock)
    times = [go(pacer, clock, "calendar.write", "cal1") for _ in range(4)]
    assert times == pytest.approx([1000, 1001, 1002, 1003])  # 1/s per calendar


# --- the pacer -----------------------------------------------------------------------------


def test_default_family_is_never_paced_and_keeps_no_state() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    for _ in range(10_000):
        assert pacer.reserve(APP, DEFAULT_FAMILY) == 0.0
        assert pacer.admit(APP, DEFAULT_FAMILY, "k") == 0.0
    assert pacer.reserve(APP, "no.such.family") == 0.0
    assert not pacer._second and not pacer._grid


def test_docx_edits_stay_under_3_per_second_per_app_and_per_document() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    one_doc = [go(pacer, clock, "docx.edit", "doc1") for _ in range(30)]
    assert max_in_window(one_doc, 1.0) <= 3
    assert one_doc[-1] - one_doc[0] == pytest.approx(29 / 2.7, abs=0.05)
    clock.now += 100
    many_docs = [go(pacer, clock, "docx.edit", f"doc{n % 7}") for n in range(30)]
    assert max_in_window(many_docs, 1.0) <= 3  # the app's 3/s binds across documents


def test_admit_caps_a_burst_of_woken_callers_per_document() -> None:
    clock = FakeClock()
    pacer = Pacer(
        PacingTable.default().with_limits({"docx.edit": {"per_second": None}}), clock=clock
    )
    assert [pacer.admit(APP, "docx.edit", "d") for _ in range(3)] == [0, 0, 0]
    assert pacer.admit(APP, "docx.edit", "d") == pytest.approx(1.0)
    assert pacer.admit(APP, "docx.edit", "other") == 0  # another document has room


def test_permission_calls_stay_under_100_per_minute() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    times = [go(pacer, clock, "drive.permission") for _ in range(250)]
    assert times[99] == 1000  # no per-second pace: the first 100 go at once
    assert times[100] - times[0] == pytest.approx(MINUTE)
    assert max_in_window(times, MINUTE) == 100


def test_media_uploads_are_paced_at_4_5_per_second() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    times = [go(pacer, clock, "drive.media_upload") for _ in range(20)]
    assert max_in_window(times, 1.0) <= 5
    assert times[-1] - times[0] == pytest.approx(19 / 4.5)


def test_families_and_apps_have_separate_budgets() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    for n in range(45):
        assert pacer.admit(APP, "im.send", f"u{n}") == 0
    assert pacer.admit(APP, "im.send", "u45") > 0
    assert pacer.admit(APP, "contact.users") == 0  # another family
    assert pacer.admit("cli_other", "im.send", "u45") == 0  # another app


def test_send_pace_matches_the_send_limiter() -> None:
    """The im.send family is what SendRateLimiter always did: 45/s, 4.5/s per receiver,
    1000 per 61 s."""
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    times = [go(pacer, clock, "im.send", f"u{n}") for n in range(1100)]
    assert max_in_window(times, 1.0) <= 45
    assert max_in_window(times, MINUTE) <= 1000
    assert times[999] - times[0] == pytest.approx(999 / 45, abs=0.1)
    same = [go(pacer, clock, "im.send", "same") for _ in range(10)]
    assert max_in_window(same, 1.0) <= 5


def test_without_a_shared_budget_each_process_paces_alone() -> None:
    """The arithmetic docs/pacing.md gives: N processes without Redis send N x the limit."""
    clock = FakeClock()
    first, second = Pacer(clock=clock), Pacer(clock=clock)
    admitted = sum(
        1
        for n in range(200)
        for pacer in (first, second)
        if pacer.admit(APP, "im.send", f"u{n}") == 0
    )
    assert admitted == 90  # 2 x 45 in the same second


def test_waits_are_emitted_with_the_key_kind_not_the_key() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    with instrumentation.EventRecorder(prefix="pacing.") as events:
        assert pacer.reserve(APP, "im.send", "ou_secret") == 0  # no wait, no event
        delay = pacer.reserve(APP, "im.send", "ou_secret")
        pacer.reserve(APP, DEFAULT_FAMILY)
    assert delay == pytest.approx(1 / 4.5)
    [event] = events.named("pacing.waited")
    assert event.app_id == APP
    assert event.fields == {
        "family": "im.send",
        "key": "receiver",
        "delay": delay,
        "stage": "reserve",
    }
    assert "ou_secret" not in repr(event)
    with instrumentation.EventRecorder(prefix="pacing.") as events:
        for n in range(46):
            pacer.admit(APP, "contact.users", str(n))
    [event] = events.named("pacing.waited")
    assert (event["family"], event["key"], event["stage"]) == ("contact.users", None, "admit")


# --- one writer per table ------------------------------------------------------------------


def test_non_exclusive_families_get_a_no_op_lease() -> None:
    pacer = Pacer()
    with pacer.lease(APP, "im.send", "u"), pacer.lease(APP, "im.send", "u"):
        pass  # not a lock: nested use does not deadlock

    async def main() -> None:
        async with pacer.async_lease(APP, DEFAULT_FAMILY), pacer.async_lease(APP, "im.send"):
            pass

    asyncio.run(main())


def test_one_writer_per_table_across_threads() -> None:
    pacer = Pacer()
    inside = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def writer() -> None:
        with pacer.lease(APP, "bitable.write", "app/tbl"):
            order.append("first in")
            inside.set()
            release.wait(5)
            order.append("first out")

    thread = threading.Thread(target=writer)
    thread.start()
    assert inside.wait(5)
    lock = pacer.lease(APP, "bitable.write", "app/tbl")
    assert not lock.acquire(blocking=False)  # type: ignore[attr-defined]
    # another table, another app: not held up
    with (
        pacer.lease(APP, "bitable.write", "app/other"),
        pacer.lease("cli_b", "bitable.write", "app/tbl"),
    ):
        order.append("others")
    release.set()
    with pacer.lease(APP, "bitable.write", "app/tbl"):
        order.append("second in")
    thread.join(5)
    assert order == ["first in", "others", "first out", "second in"]


def test_one_writer_per_table_across_tasks_and_threads() -> None:
    pacer = Pacer()
    order: list[str] = []

    async def write(name: str, started: asyncio.Event | None, go_on: asyncio.Event) -> None:
        async with pacer.async_lease(APP, "bitable.write", "app/tbl"):
            order.append(f"{name} in")
            if started is not None:
                started.set()
            await go_on.wait()
            order.append(f"{name} out")

    async def main() -> None:
        started, go_on = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(write("a", started, go_on))
        await started.wait()
        second = asyncio.create_task(write("b", None, go_on))
        for _ in range(5):
            await asyncio.sleep(0)
        assert order == ["a in"]  # b waits for the table
        # a sync thread sees the same lock taken
        lock = pacer.lease(APP, "bitable.write", "app/tbl")
        assert not lock.acquire(blocking=False)  # type: ignore[attr-defined]
        go_on.set()
        await asyncio.gather(first, second)

    asyncio.run(main())
    assert order == ["a in", "a out", "b in", "b out"]


def test_media_uploads_are_one_at_a_time_per_app() -> None:
    pacer = Pacer()
    lock = pacer.lease(APP, "drive.media_upload")
    with lock:
        assert not pacer.lease(APP, "drive.media_upload").acquire(blocking=False)  # type: ignore[attr-defined]
        with pacer.lease("cli_b", "drive.media_upload"):
            pass


# --- settings and fallback -----------------------------------------------------------------


def test_lark_redis_url_selects_a_shared_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Pacer.from_settings(get_settings()).shared is None
    monkeypatch.setenv("LARK_REDIS_URL", "redis://:s3cret@127.0.0.1:6379/2")
    settings = get_settings()
    assert settings.redis_url == "redis://:s3cret@127.0.0.1:6379/2"
    pacer = Pacer.from_settings(settings)
    assert isinstance(pacer.shared, RedisBudget)
    assert "s3cret" not in repr(pacer) and "127.0.0.1:6379/2" in repr(pacer)
    assert pacer.needs_io("im.send") and not pacer.needs_io(DEFAULT_FAMILY)
    pacer.shared.close()


def test_unreachable_redis_falls_back_to_local_pacing_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    shared = RedisBudget("redis://:s3cret@127.0.0.1:1/0", timeout=0.2)
    pacer = Pacer(clock=clock, shared=shared)
    with caplog.at_level(logging.WARNING, logger="lark_service.pacing"):
        admitted = [pacer.admit(APP, "im.send", f"u{n}") for n in range(50)]
    assert admitted[:45] == [0] * 45 and all(w > 0 for w in admitted[45:])  # still paced
    warnings = [r for r in caplog.records if r.name == "lark_service.pacing"]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "unreachable" in message and "127.0.0.1:1" in message and "s3cret" not in message
    shared.close()


class FlakyRedis:
    """A stand-in client whose script fails while ``down`` (as a dropped Redis would)."""

    def __init__(self) -> None:
        self.down = True
        self.calls = 0

    def register_script(self, source: str) -> FlakyRedis:
        assert "ZREMRANGEBYSCORE" in source
        return self

    def __call__(self, keys: list[str], args: list[object]) -> bytes:
        self.calls += 1
        if self.down:
            raise ConnectionError("connection refused")
        return b"0.25"  # the fleet's window is full: wait a quarter second


def test_pacer_returns_to_redis_when_it_answers_again(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    client = FlakyRedis()
    pacer = Pacer(clock=clock, shared=RedisBudget(client=client, clock=clock))
    with caplog.at_level(logging.INFO, logger="lark_service.pacing"):
        assert pacer.admit(APP, "im.send", "u1") == 0  # local fallback
        assert pacer.admit(APP, "im.send", "u2") == 0
        assert client.calls == 1  # Redis is not asked again at once
        client.down = False
        clock.now += 31  # REDIS_RETRY_AFTER
        assert pacer.admit(APP, "im.send", "u3") == 0.25  # the shared budget decides again
        client.down = True
        assert pacer.admit(APP, "im.send", "u4") == 0
    levels = [(r.levelname, r.getMessage().split(";")[0]) for r in caplog.records]
    assert [lvl for lvl, _ in levels] == ["WARNING", "INFO", "WARNING"]


def test_a_bug_is_not_mistaken_for_an_unreachable_redis() -> None:
    class Broken(FlakyRedis):
        def __call__(self, keys: list[str], args: list[object]) -> bytes:
            raise ValueError("bug")

    pacer = Pacer(shared=RedisBudget(client=Broken()))
    with pytest.raises(ValueError, match="bug"):
        pacer.admit(APP, "im.send", "u")


def test_importing_the_pacer_does_not_import_redis() -> None:
    import subprocess
    import sys

    code = "import sys, lark_service._pacing; print('redis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr

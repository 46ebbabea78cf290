"""Pacing on the hot path: a call under its family's rate goes at once (no grid wait)."""

from __future__ import annotations

from lark_service._pacing import Pacer, PacingTable

APP = "cli_pacing_hot"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def go(pacer: Pacer, clock: FakeClock, family: str, key: str | None = None) -> float:
    """Reserve, wait, admit until 0 (as the pipeline does); the seconds waited."""
    started = clock.now
    clock.now += pacer.reserve(APP, family, key)
    while (wait := pacer.admit(APP, family, key)) > 0:
        clock.now += wait
    return clock.now - started


def test_sequential_calls_under_the_rate_never_wait() -> None:
    """One IM send every 25 ms (40/s, under the 45/s budget) to different receivers: no
    call waits. Before, each one waited for the next 22.2 ms grid point (19.4 ms here)."""
    clock = FakeClock()
    pacer = Pacer(PacingTable.default(), clock=clock)
    waits = []
    for n in range(200):
        waits.append(go(pacer, clock, "im.send", f"ou_{n}"))
        clock.now += 0.025  # the round trip
    assert max(waits) == 0.0


def test_calls_over_the_rate_are_still_capped_per_second() -> None:
    """Calls arriving faster than the budget (every 5 ms, at odd offsets) are spread out:
    never more than the per-second limit in any one-second window."""
    clock = FakeClock()
    table = PacingTable.default()
    limit = table.limits("im.chat_list").per_second
    assert limit is not None
    pacer = Pacer(table, clock=clock)
    sent = []
    for _ in range(300):
        go(pacer, clock, "im.chat_list")
        sent.append(clock.now)
        clock.now += 0.005 + 0.0007
    for i in range(len(sent)):
        in_window = sum(1 for t in sent[i:] if t < sent[i] + 1.0)
        assert in_window <= limit


def test_route_lookups_are_cached_and_still_take_the_calls_key() -> None:
    table = PacingTable.default()
    path = "/open-apis/im/v1/messages"
    first = table.route("POST", path, "ou_a")
    again = table.route("POST", path, "ou_b")  # cached rule, this call's key
    assert (first.family, first.key) == ("im.send", "ou_a")
    assert (again.family, again.key) == ("im.send", "ou_b")
    assert table.route("GET", "/open-apis/nothing/v1/x").family == "default"
    assert table.route("GET", "/open-apis/nothing/v1/x").family == "default"


def test_route_cache_stays_bounded() -> None:
    from lark_service import _pacing

    table = PacingTable.default()
    for n in range(_pacing._ROUTE_CACHE + 10):
        table.route("POST", f"/open-apis/im/v1/messages/om_{n}/reply")
    assert len(table._routes) <= _pacing._ROUTE_CACHE
    assert table.route("POST", "/open-apis/im/v1/messages/om_1/reply", "oc_1").key == "oc_1"

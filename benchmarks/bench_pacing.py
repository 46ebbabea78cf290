"""Pacing: what the pacing table costs per call, and what a fleet sends with and without Redis.

    python benchmarks/bench_pacing.py [--quick]

Hot path: ``route`` + ``reserve`` + ``admit`` + ``lease`` per call, in µs, for an unpaced call
(``default``), a paced read (``im.chat_list``) and a send (``im.send``, on a fake clock so the
pacer never asks anyone to wait), and — when Redis answers at ``LARK_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``) — a send whose admit is a Redis round trip.

Fleet: 4 pacers (4 processes of one app) send as fast as their pacers let them, taking turns on
one fake clock; the busiest second and minute of the fleet, alone and sharing Redis. Prints
only (no section of docs/performance.md is written).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Callable

from lark_service._pacing import MINUTE, Pacer, RedisBudget

APP = "cli_bench"
TARGET_DEFAULT_US = 5.0
"""An unpaced call must stay within a few µs (the pipeline's own overhead is ~100 µs)."""


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def per_call(fn: Callable[[], None], calls: int) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - started) / calls)
    return best * 1e6


def paced_call(pacer: Pacer, method: str, path: str, key: str | None) -> Callable[[], None]:
    def call() -> None:
        family, k = pacer.route(method, path, key)
        pacer.reserve(APP, family, k)
        pacer.admit(APP, family, k)
        with pacer.lease(APP, family, k):
            pass

    return call


def redis_url() -> str | None:
    url = os.environ.get("LARK_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
    except Exception:
        return None
    return url


def hot_path(calls: int, url: str | None) -> list[tuple[str, float]]:
    rows = [
        (
            "default (unpaced)",
            per_call(paced_call(Pacer(), "GET", "/open-apis/auth/v3/x", None), calls),
        ),
    ]
    clock = Clock()
    pacer = Pacer(clock=clock)
    read = paced_call(pacer, "GET", "/open-apis/im/v1/chats/search", None)

    def spaced_read() -> None:
        clock.now += 1.0  # never a wait (callers that wait do not pile up on the grid)
        read()

    rows.append(("im.chat_list", per_call(spaced_read, calls)))
    send = paced_call(pacer, "POST", "/open-apis/im/v1/messages", "ou_1")

    def spaced_send() -> None:
        clock.now += 1.0  # never a wait: measures the bookkeeping only
        send()

    rows.append(("im.send (local)", per_call(spaced_send, calls)))
    if url is not None:
        budget = RedisBudget(url, clock=clock, prefix=f"lark-bench:{secrets.token_hex(4)}")
        shared = Pacer(clock=clock, shared=budget)
        shared_send = paced_call(shared, "POST", "/open-apis/im/v1/messages", "ou_1")

        def spaced_shared_send() -> None:
            clock.now += 1.0
            shared_send()

        rows.append(("im.send (Redis)", per_call(spaced_shared_send, max(1, calls // 50))))
        cleanup(budget)
    return rows


def fleet(processes: int, sends: int, url: str | None) -> tuple[int, int]:
    """The busiest second and 61 s of ``processes`` pacers each sending as fast as it is let,
    concurrently: every process has its own timeline (a wait moves only its next turn), and
    the one due first goes next on the shared fake clock."""
    clock = Clock()
    budget = None
    if url is not None:
        budget = RedisBudget(url, clock=clock, prefix=f"lark-bench:{secrets.token_hex(4)}")
    pacers = [Pacer(clock=clock, shared=budget) for _ in range(processes)]
    due = [clock.now] * processes
    admitting = [False] * processes
    sent: list[float] = []
    while len(sent) < sends:
        index = min(range(processes), key=due.__getitem__)
        clock.now = due[index]
        pacer, receiver = pacers[index], f"p{index}-{len(sent)}"
        if not admitting[index]:
            due[index] = clock.now + pacer.reserve(APP, "im.send", receiver)
            admitting[index] = True
            continue
        wait = pacer.admit(APP, "im.send", receiver)
        if wait > 0:
            due[index] = clock.now + wait
            continue
        sent.append(clock.now)
        admitting[index] = False
    if budget is not None:
        cleanup(budget)
    return busiest(sent, 1.0), busiest(sent, MINUTE)


def busiest(times: list[float], window: float) -> int:
    times = sorted(times)
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] >= window - 1e-9:
            start += 1
        best = max(best, end - start + 1)
    return best


def cleanup(budget: RedisBudget) -> None:
    keys = list(budget.client.scan_iter(match=budget.prefix + ":*"))
    if keys:
        budget.client.delete(*keys)
    budget.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    args, _ = parser.parse_known_args(argv)
    short = args.quick or os.environ.get("LARK_BENCH_QUICK", "") not in ("", "0")
    calls = 20_000 if short else 200_000
    url = redis_url()
    print(f"pacing hot path, best of 3 x {calls:,} calls (µs per call):")
    rows = hot_path(calls, url)
    for name, micros in rows:
        print(f"  {name:20s} {micros:8.2f}")
    if url is None:
        print("  (Redis not reachable: no shared-budget figures)")
    sends = 1_500 if short else 3_000
    print(f"\nfleet of 4 processes, {sends:,} sends (Feishu: 50/s and 1000/min per app):")
    alone = fleet(4, sends, None)
    print(f"  each alone:      busiest second {alone[0]:4d}, busiest 61 s {alone[1]:5d}")
    if url is not None:
        shared = fleet(4, sends, url)
        print(f"  sharing Redis:   busiest second {shared[0]:4d}, busiest 61 s {shared[1]:5d}")
    ok = rows[0][1] <= TARGET_DEFAULT_US
    print(f"\nunpaced call within {TARGET_DEFAULT_US} µs: {'PASS' if ok else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

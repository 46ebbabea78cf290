"""Gateway: the cost of going through ``/api/v1`` instead of the Python client, and 20 API
keys hammering one server.

**Overhead.** A minimal local Feishu (``_server.LocalFeishu``: tokens and ``im/v1/messages``,
answering immediately, in its own process) serves both sides:

- *direct*: ``AsyncLarkClient.messaging.send_text_message`` in this process, one at a time;
- *gateway*: ``POST /api/v1/messages`` with an API key to a gateway server in **its own
  process** (uvicorn), one at a time, over a keep-alive connection.

Reported: p50/p99 of each and the added latency (gateway - direct); the gateway server's CPU
per request (its process's user+system time / requests); and the gateway's throughput with
64 requests in flight. Feishu's pacing is switched off on both sides here (it would cap
everything at 50/s per app): this measures the gateway, not Feishu's limits. Targets: added
p50 < 2 ms, >= 500 sends/s.

**20 keys hammering.** The emulator (in this process; Feishu's send limits enforced: 50/s per
app, 5/s per receiver, 1000/min per app) behind a gateway server in its own process with the
pipeline's default pacing and the app from the registry; 20 keys on one app, rates 1.0 to
1.95/s (29.5/s in all, under Feishu's 50/s so that every key can reach its own limit) with
bursts of twice the rate (a first-second demand of about 88, above Feishu's 50/s: the pacing
underneath must hold it), each hammered by 6 concurrent senders (a 429 sends one back for
0.5/rate s) over 200 chats for ``--seconds`` (30). Reported per key: answers 200 versus
``burst + rate x seconds`` (target: within 5 %), 429s, any 5xx (must be none); Feishu
rate-limit answers from the emulator (99991400, 230020; must be none).

``--quick``: 300 sequential sends instead of 1,000 and 8 s of hammering (too short for the
5 % verdict at these rates: one answer is 5 % of the slowest key's ~18).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _harness import machine_line, quick
from _server import APP_ID, APP_SECRET, LocalFeishu

CHAT = "oc_bench"
SENDERS = 6  # per key in the hammer


# -- the gateway server process ----------------------------------------------------------


def serve(port: int, feishu_url: str) -> None:
    """Run in the child: the gateway alone under uvicorn, Feishu pacing off."""
    import uvicorn

    from lark_service import AsyncLarkClient
    from lark_service._pacing import PacingTable
    from lark_service.config import get_settings
    from lark_service.gateway.app import create_gateway

    settings = get_settings()
    if feishu_url == "registry":  # the hammer: apps from the registry, Feishu pacing on
        client = AsyncLarkClient(settings=settings)
    else:
        client = AsyncLarkClient(
            APP_ID,
            APP_SECRET,
            base_url=feishu_url,
            settings=settings,
            pacing=PacingTable.unlimited(),
        )
    app = create_gateway(settings, client=client)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=120,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(feishu_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """A gateway server process (``--serve``) and its URL, once it answers."""
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), feishu_url], env=dict(os.environ)
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "openapi.json", timeout=1)
            return child, url
        except httpx.HTTPError:
            if time.monotonic() > deadline or child.poll() is not None:
                child.kill()
                raise
            time.sleep(0.1)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def direct_latencies(feishu_url: str, n: int) -> list[float]:
    from lark_service import AsyncLarkClient
    from lark_service._pacing import PacingTable

    async with AsyncLarkClient(
        APP_ID, APP_SECRET, base_url=feishu_url, pacing=PacingTable.unlimited()
    ) as client:
        for _ in range(50):
            await client.messaging.send_text_message(CHAT, "warm")
        out = []
        for i in range(n):
            start = time.perf_counter()
            await client.messaging.send_text_message(CHAT, f"direct {i}")
            out.append(time.perf_counter() - start)
        return out


async def gateway_latencies(url: str, key: str, n: int) -> list[float]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
        for _ in range(50):
            (
                await http.post("/messages", json={"receive_id": CHAT, "content": "warm"})
            ).raise_for_status()
        out = []
        for i in range(n):
            start = time.perf_counter()
            answer = await http.post("/messages", json={"receive_id": CHAT, "content": f"gw {i}"})
            out.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.text
        return out


async def gateway_throughput(url: str, key: str, seconds: float, in_flight: int) -> float:
    """Sends/s with ``in_flight`` requests outstanding. The load comes from aiohttp: httpx's
    own pool (httpcore) collapses at this many concurrent connections in this process and
    would measure itself instead of the server."""
    import aiohttp

    done = 0
    connector = aiohttp.TCPConnector(limit=in_flight)
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                payload = {"receive_id": CHAT, "content": "t"}
                async with http.post(url + "messages", json=payload) as answer:
                    body = await answer.read()
                    assert answer.status == 200, body
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        return done / (time.perf_counter() - start)


def overhead(n: int) -> dict[str, Any]:
    from lark_service.config import get_settings
    from lark_service.gateway.keys import ApiKeyStore

    with LocalFeishu() as feishu:
        key = (
            ApiKeyStore.from_settings(get_settings())
            .create("bench", apps=[APP_ID], scopes=["messages:send"])
            .key
        )
        child, url = start_server(feishu.url)
        try:
            direct = asyncio.run(direct_latencies(feishu.url, n))
            cpu_before = cpu_seconds(child.pid)
            through = asyncio.run(gateway_latencies(url, key, n))
            cpu_per_request = (cpu_seconds(child.pid) - cpu_before) / (n + 50)
            throughput = asyncio.run(gateway_throughput(url, key, 3.0, 64))
        finally:
            child.terminate()
            child.wait(10)
    return {
        "direct_p50": pct(direct, 0.5),
        "direct_p99": pct(direct, 0.99),
        "gateway_p50": pct(through, 0.5),
        "gateway_p99": pct(through, 0.99),
        "added_p50": pct(through, 0.5) - pct(direct, 0.5),
        "added_p99": pct(through, 0.99) - pct(direct, 0.99),
        "cpu_per_request": cpu_per_request,
        "throughput": throughput,
    }


# -- 20 keys hammering ---------------------------------------------------------------------


def hammer(seconds: float) -> dict[str, Any]:
    from lark_service.apps import AppRegistry
    from lark_service.config import get_settings
    from lark_service.gateway.keys import ApiKeyStore
    from lark_service.storage.crypto import generate_key
    from lark_service.testing import Emulator
    from lark_service.testing.emulator.routes_im import im_state

    os.environ["LARK_CONFIG_ENCRYPTION_KEY"] = generate_key()
    apps = ["cli_hammer"]
    chats = [f"oc_hammer_{i}" for i in range(200)]
    with Emulator() as emu:
        registry = AppRegistry.from_settings(get_settings())
        for app_id in apps:
            emu.add_app(app_id, "s-" + app_id)
            registry.add_app(app_id, "s-" + app_id, domain=emu.url)
        for chat in chats:
            emu.add_chat(chat, chat)
        im_state(emu).set_rate_limits(per_app=50, per_receiver=5, per_app_per_minute=1000)
        store = ApiKeyStore.from_settings(get_settings())
        keys: list[tuple[str, str, float]] = []
        for i in range(20):  # 1.0/s to 1.95/s: 29.5/s in all, bursts twice the rate
            rate = round(1.0 + 0.05 * i, 2)
            made = store.create(
                f"k{i:02d}",
                apps=apps,
                scopes=["messages:send"],
                rate=rate,
                burst=round(2 * rate),
            )
            keys.append((made.key, apps[0], rate))
        child, url = start_server("registry")
        try:
            results = asyncio.run(_hammer(url, keys, chats, seconds))
        finally:
            child.terminate()
            child.wait(10)
        limited = {
            app_id: len(emu.requests(app_id=app_id, code=99991400))
            + len(emu.requests(app_id=app_id, code=230020))
            for app_id in apps
        }
        sent = {app_id: len(emu.messages(app_id=app_id)) for app_id in apps}
    return {"keys": results, "feishu_limited": limited, "sent": sent, "seconds": seconds}


async def _hammer(
    url: str, keys: list[tuple[str, str, float]], chats: list[str], seconds: float
) -> list[dict[str, Any]]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=len(keys) * SENDERS)
    async with aiohttp.ClientSession(connector=connector) as http:
        start = time.perf_counter()
        deadline = start + seconds

        async def one_key(index: int, key: str, app_id: str, rate: float) -> dict[str, Any]:
            burst = round(2 * rate)
            counts: dict[int, int] = {}
            headers = {"Authorization": f"Bearer {key}"}
            turn = 0

            async def sender() -> None:
                nonlocal turn
                while time.perf_counter() < deadline:
                    turn += 1
                    chat = chats[(index * 7 + turn) % len(chats)]
                    payload = {"receive_id": chat, "content": "hammer"}
                    try:
                        async with http.post(
                            url + "messages", json=payload, headers=headers
                        ) as answer:
                            await answer.read()
                            status = answer.status
                    except aiohttp.ClientError:
                        status = 0  # reported under "other"
                    counts[status] = counts.get(status, 0) + 1
                    if status == 429:  # come back soon, not in a busy loop
                        await asyncio.sleep(0.5 / rate)

            await asyncio.gather(*(sender() for _ in range(SENDERS)))
            # every request counted was sent before the deadline, and the bucket decides as
            # it arrives (before Feishu's pacing, which may hold it a while after)
            expected = burst + rate * seconds
            return {
                "app": app_id,
                "key": f"k{index:02d}",
                "rate": rate,
                "ok": counts.get(200, 0),
                "expected": expected,
                "ratio": counts.get(200, 0) / expected,
                "refused": counts.get(429, 0),
                "server_errors": sum(v for k, v in counts.items() if k >= 500),
                "other": {
                    ("transport error" if k == 0 else k): v
                    for k, v in counts.items()
                    if k not in (200, 429) and k < 500
                },
            }

        return await asyncio.gather(
            *(one_key(i, key, app_id, rate) for i, (key, app_id, rate) in enumerate(keys))
        )


# -- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sends", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "FEISHU_URL"))
    args, _ = parser.parse_known_args(argv)
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return 0
    short = args.quick or quick(argv)
    n = args.sends or (300 if short else 1000)
    seconds = args.seconds or (8.0 if short else 30.0)
    home = tempfile.mkdtemp(prefix="lark-bench-gateway-")
    os.environ["LARK_HOME"] = home
    print(f"# gateway benchmark ({machine_line()})")
    o = overhead(n)
    ms = 1000.0
    print(f"direct  p50 {o['direct_p50'] * ms:6.2f} ms  p99 {o['direct_p99'] * ms:6.2f} ms")
    print(f"gateway p50 {o['gateway_p50'] * ms:6.2f} ms  p99 {o['gateway_p99'] * ms:6.2f} ms")
    print(
        f"added   p50 {o['added_p50'] * ms:6.2f} ms  p99 {o['added_p99'] * ms:6.2f} ms  "
        f"(target p50 < 2 ms: {'met' if o['added_p50'] < 0.002 else 'NOT met'})"
    )
    print(f"gateway server CPU per request: {o['cpu_per_request'] * ms:.2f} ms")
    print(
        f"gateway throughput, 64 in flight: {o['throughput']:.0f} sends/s "
        f"(target >= 500: {'met' if o['throughput'] >= 500 else 'NOT met'})"
    )
    h = hammer(seconds)
    print(f"\n# 20 keys hammering for {seconds:g} s")
    worst = 0.0
    server_errors = 0
    for row in h["keys"]:
        worst = max(worst, abs(row["ratio"] - 1.0))
        server_errors += row["server_errors"]
        print(
            f"{row['key']} {row['rate']:>4g}/s burst {round(2 * row['rate']):>2d}  "
            f"200: {row['ok']:4d} of {row['expected']:6.1f} "
            f"({row['ratio'] * 100:5.1f} %)  429: {row['refused']:5d}  5xx: {row['server_errors']}"
            + (f"  other: {row['other']}" if row["other"] else "")
        )
    print(f"worst deviation from the limit: {worst * 100:.1f} % (target <= 5 %)")
    print(f"5xx answers: {server_errors} (target 0)")
    print(f"Feishu rate-limit answers per app: {h['feishu_limited']} (target all 0)")
    print(f"messages delivered per app: {h['sent']}")
    ok = worst <= 0.05 and server_errors == 0 and not any(h["feishu_limited"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

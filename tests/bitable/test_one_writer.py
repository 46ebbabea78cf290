"""One writer per table: Feishu's 1254291 for overlapping writes (the emulator), and the
client's lease that keeps its own writes to a table in sequence while tables run in parallel."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from lark_service import LarkClient
from lark_service.testing import Emulator
from lark_service.testing.emulator.bitable_state import BitableState

from .conftest import APP_ID, BASE, SECRET


def _token(http: httpx.Client) -> str:
    answer = http.post(
        "/open-apis/auth/v3/tenant_access_token/internal",
        json={"app_id": APP_ID, "app_secret": SECRET},
    ).json()
    return str(answer["tenant_access_token"])


def test_overlapping_raw_writes_get_1254291(emu: Emulator, base: BitableState, table: str) -> None:
    base.write_seconds = 0.3
    barrier = threading.Barrier(2)
    codes: list[int] = []
    with httpx.Client(base_url=emu.url, timeout=10) as http:
        headers = {"Authorization": "Bearer " + _token(http)}

        def write(name: str) -> None:
            barrier.wait()
            reply = http.post(
                f"/open-apis/bitable/v1/apps/{BASE}/tables/{table}/records",
                json={"fields": {"Name": name}},
                headers=headers,
            )
            codes.append(reply.json()["code"])

        threads = [threading.Thread(target=write, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(codes) == [0, 1254291]
    assert len(base.records(BASE, table)) == 1


def test_client_threads_on_one_table_never_conflict(
    client: LarkClient, base: BitableState, table: str
) -> None:
    base.write_seconds = 0.02
    results: list[Any] = []

    def job(prefix: str) -> None:
        rows = [{"Name": f"{prefix}{i}"} for i in range(600)]
        results.append(client.bitable.batch_create_records(BASE, table, rows))

    threads = [threading.Thread(target=job, args=(p,)) for p in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.ok for r in results)
    assert base.conflicts == 0
    assert len(base.records(BASE, table)) == 1800


def test_different_tables_are_written_in_parallel(
    client: LarkClient, base: BitableState, table: str
) -> None:
    other = base.add_table(BASE, "Other", {"Name": 1})
    base.write_seconds = 0.05
    results = client.bitable.batch_create_many(
        {
            (BASE, table): [{"Name": str(i)} for i in range(1000)],
            (BASE, other): [{"Name": str(i)} for i in range(1000)],
        }
    )
    assert all(r.ok and r.calls == 2 for r in results.values())
    assert base.conflicts == 0
    assert base.max_in_flight == 2  # one writer per table, both tables at once


def test_async_tasks_on_one_table_take_turns(emu: Emulator, base: BitableState, table: str) -> None:
    import asyncio

    from lark_service import AsyncLarkClient

    base.write_seconds = 0.02

    async def main() -> list[Any]:
        async with AsyncLarkClient(APP_ID, SECRET, base_url=emu.url) as lark:
            jobs = [
                lark.bitable.batch_create_records(
                    BASE, table, [{"Name": f"{p}{i}"} for i in range(700)]
                )
                for p in "ab"
            ]
            return list(await asyncio.gather(*jobs))

    results = asyncio.run(main())
    assert all(r.ok for r in results)
    assert base.conflicts == 0 and len(base.records(BASE, table)) == 1400


def test_write_rate_limit_is_retried(
    client: LarkClient,
    emu: Emulator,
    base: BitableState,
    table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lark_service import _concurrency

    # a retry's backoff moves the emulator's clock instead of sleeping
    monkeypatch.setattr(_concurrency, "sleep", emu.advance_clock)
    base.writes_per_second = 1
    result = client.bitable.batch_create_records(
        BASE, table, [{"Name": str(i)} for i in range(1500)]
    )
    assert result.ok and base.rate_limited >= 1  # 1254290 answered, then retried
    assert len(base.records(BASE, table)) == 1500

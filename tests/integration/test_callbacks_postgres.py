"""Exactly-once across server processes sharing PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from lark_service.callbacks import OutboxStore
from lark_service.callbacks.simulate import card_action_payload, message_event_payload
from tests.callbacks._procs import ServeProcess
from tests.callbacks._support import EK, VT, signed_request, wait_until
from tests.callbacks.sample_handlers import read_effects

pytestmark = pytest.mark.postgres

APP = "cli_cbpg"


def test_store_dedup_is_atomic_across_threads_on_postgres(postgres_schema_url: str) -> None:
    store = OutboxStore(postgres_schema_url)
    store.ping()
    barrier = threading.Barrier(8)
    results: list[int | None] = []
    lock = threading.Lock()

    def race(n: int) -> None:
        barrier.wait()
        got = store.accept(
            app_id=APP,
            kind="event",
            dedup_keys=["evt:same", f"msg:m{n % 2}"],
            event_id="same",
            event_type="t",
            payload={"n": n},
            lease=30,
        )
        with lock:
            results.append(got)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([r for r in results if r is not None]) == 1
    assert store.counts() == {"running": 1}
    # claims skip rows another transaction holds, so two claimers never share a row
    for i in range(6):
        store.accept(
            app_id=APP,
            kind="event",
            dedup_keys=[f"evt:{i}"],
            event_id=str(i),
            event_type="t",
            payload={},
            lease=None,
        )
    claimed: list[int] = []
    with ThreadPoolExecutor(3) as pool:
        for batch in pool.map(lambda _: store.claim(2, lease=60), range(3)):
            claimed.extend(item.id for item in batch)
    assert len(claimed) == len(set(claimed)) == 6


@pytest.mark.slow
def test_three_server_processes_run_each_callback_once(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    effects = tmp_path / "effects.log"
    with ExitStack() as stack:
        servers = [
            stack.enter_context(
                ServeProcess(
                    APP, tmp_path / f"home{i}", effects, LARK_DATABASE_URL=postgres_schema_url
                )
            )
            for i in range(3)
        ]
        requests: list[tuple[str, dict[str, str], bytes]] = []
        event_ids: list[str] = []
        for i in range(8):
            payload = card_action_payload(APP, value={"i": i}, verification_token=VT)
            event_ids.append(payload["header"]["event_id"])
            headers, body = signed_request(payload, encrypt_key=EK)
            requests += [(s.url + f"/callbacks/{APP}/card", headers, body) for s in servers]
        message = message_event_payload(APP, "hi", message_id="om_same", verification_token=VT)
        headers, body = signed_request(message, encrypt_key=EK)
        requests += [(s.url + f"/callbacks/{APP}/event", headers, body) for s in servers]
        # Feishu's re-push of the same message under another event id
        repush = message_event_payload(APP, "hi", message_id="om_same", verification_token=VT)
        headers, body = signed_request(repush, encrypt_key=EK)
        requests += [(s.url + f"/callbacks/{APP}/event", headers, body) for s in servers]

        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(12) as pool:
            statuses = list(
                pool.map(
                    lambda r: client.post(r[0], headers=r[1], content=r[2]).status_code, requests
                )
            )
        assert statuses == [200] * len(requests)

        def finished() -> bool:
            lines = read_effects(str(effects))
            return sum(1 for x in lines if x[0] in ("done", "message")) >= 9

        wait_until(finished, timeout=30, what="handlers done")
        for server in servers:
            assert server.terminate()
    lines = read_effects(str(effects))
    done = Counter(x[1] for x in lines if x[0] == "done")
    assert done == Counter(event_ids)  # every click handled exactly once, by one of the servers
    assert [x[2] for x in lines if x[0] == "message"] == ["om_same"]
    assert OutboxStore(postgres_schema_url).counts() == {"done": 9}

"""API keys and idempotent answers on PostgreSQL (the shared state database of several
gateway servers): state_0003 migrates, a key made by one store authenticates on another, a
stored answer replays across stores, concurrent claims of one key give one winner."""

from __future__ import annotations

import threading

import pytest

from lark_service import errors
from lark_service.gateway.idempotency import IdempotencyStore
from lark_service.gateway.keys import ApiKeyStore

SECRET = b"shared-gateway-secret"


def test_keys_and_answers_are_shared_through_postgres(postgres_schema_url: str) -> None:
    one = ApiKeyStore(postgres_schema_url, SECRET)
    other = ApiKeyStore(postgres_schema_url, SECRET)  # another host, same secret
    made = one.create("billing", apps=["cli_a1"], scopes=["messages:send"], rate=5.0)
    assert other.authenticate(made.key).name == "billing"
    with pytest.raises(errors.AuthenticationError):
        ApiKeyStore(postgres_schema_url, b"another-secret").authenticate(made.key)
    one.revoke("billing")
    other._cache.clear()
    with pytest.raises(errors.AuthenticationError, match="revoked"):
        other.authenticate(made.key)

    first = IdempotencyStore(postgres_schema_url)
    second = IdempotencyStore(postgres_schema_url)
    assert first.begin(made.record.id, "k", "print") is None
    with pytest.raises(errors.IdempotencyConflictError, match="still running"):
        second.begin(made.record.id, "k", "print")
    first.finish(made.record.id, "k", 200, {"code": 0, "data": {"message_id": "om_1"}})
    replay = second.begin(made.record.id, "k", "print")
    assert replay is not None and replay.body["data"] == {"message_id": "om_1"}


def test_concurrent_claims_have_one_winner(postgres_schema_url: str) -> None:
    store = IdempotencyStore(postgres_schema_url)
    assert store.engine is not None  # migrate once before the race
    outcomes: list[str] = []
    lock = threading.Lock()

    def claim() -> None:
        try:
            result = IdempotencyStore(postgres_schema_url).begin(1, "race", "p")
            outcome = "won" if result is None else "replay"
        except errors.IdempotencyConflictError:
            outcome = "conflict"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("won") == 1 and outcomes.count("conflict") == 7

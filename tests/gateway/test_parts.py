"""Gateway parts on their own: token buckets (local and Redis-shared), the operation registry,
internal errors, the apikey CLI."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from lark_service import errors
from lark_service.cli import cli
from lark_service.gateway import GatewayBody, expose, operations, register_operation
from lark_service.gateway.keys import parse_rate
from lark_service.gateway.ratelimit import Bucket, LocalBuckets, RedisBuckets

from .conftest import APP_A, FakeClock, bearer

if TYPE_CHECKING:
    from lark_service.testing import Emulator


def test_local_bucket_allows_burst_then_the_rate() -> None:
    clock = FakeClock(0.0)
    buckets = LocalBuckets(clock=clock)
    bucket = Bucket(rate=10.0, burst=5)
    allowed = sum(buckets.take("k", bucket).allowed for _ in range(20))
    assert allowed == 5
    refused = buckets.take("k", bucket)
    assert not refused.allowed and refused.retry_after == pytest.approx(0.1)
    assert refused.headers()["Retry-After"] == "1"
    clock.advance(1.0)  # 10 tokens at 10/s, but the bucket holds 5
    assert sum(buckets.take("k", bucket).allowed for _ in range(20)) == 5
    # over a long run the count is burst + rate x time
    total = 0
    for _ in range(1000):
        clock.advance(0.01)
        total += buckets.take("k", bucket).allowed
    assert total == pytest.approx(100, abs=1)


def test_parse_rate() -> None:
    assert parse_rate("20/s") == 20.0
    assert parse_rate("600/min") == 10.0
    assert parse_rate("3600/h") == 1.0
    assert parse_rate("5") == 5.0
    with pytest.raises(errors.ValidationError):
        parse_rate("fast")


@pytest.fixture
def redis_url() -> Iterator[str]:
    import os

    import redis

    url = os.environ.get("LARK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {url} is unreachable (CI=true: Redis tests must run)")
        pytest.skip(f"Redis at {url} is unreachable: {exc}")
    yield url


def test_redis_buckets_are_shared_by_every_process(redis_url: str) -> None:
    clock = FakeClock(1000.0)
    prefix = f"lark:test:gateway:{secrets.token_hex(4)}"
    first = RedisBuckets(redis_url, clock=clock, prefix=prefix)
    second = RedisBuckets(redis_url, clock=clock, prefix=prefix)  # another server process
    bucket = Bucket(rate=2.0, burst=4)
    try:
        answers = [(first if i % 2 else second).take("7", bucket) for i in range(6)]
        assert [a.allowed for a in answers] == [True] * 4 + [False] * 2
        assert answers[3].remaining == 0 and answers[0].limit == 4
        clock.advance(1.0)  # two tokens for both
        assert first.take("7", bucket).allowed and second.take("7", bucket).allowed
        assert not first.take("7", bucket).allowed
        assert first.take("8", bucket).allowed  # another key, another bucket
    finally:
        first.client.delete(f"{prefix}:7", f"{prefix}:8")
        first.close()
        second.close()


def test_redis_down_falls_back_to_local_buckets(caplog: pytest.LogCaptureFixture) -> None:
    buckets = RedisBuckets("redis://127.0.0.1:1/0", timeout=0.2)
    bucket = Bucket(rate=1.0, burst=2)
    assert [buckets.take("k", bucket).allowed for _ in range(3)] == [True, True, False]
    assert "Redis unreachable" in caplog.text
    buckets.close()


class NoteBody(GatewayBody):
    text: str


def test_a_registered_operation_of_your_own_becomes_an_endpoint(
    emu: Emulator, keys: Any, make_key: Callable[..., str], clock: FakeClock
) -> None:
    import warnings

    from lark_service import AsyncLarkClient
    from lark_service.config import get_settings
    from lark_service.gateway.app import create_gateway
    from lark_service.gateway.ratelimit import LocalBuckets as Local

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    async def note(client: Any, *, text: str, app_id: str) -> dict[str, str]:
        if text == "boom":
            raise RuntimeError("secret internals")
        return {"app_id": app_id, "echo": text}

    op = expose("POST", "/notes-test", note, scopes=["notes:write"], body=NoteBody, domain="")
    with pytest.raises(errors.ValidationError):
        expose("TRACE", "/x", note, scopes=["a"])
    settings = get_settings()
    app = create_gateway(
        settings,
        client=AsyncLarkClient(settings=settings),
        keys=keys,
        buckets=Local(clock=clock),
        ops=[*operations(), op],
    )
    key = bearer(make_key(scopes=("notes:write",)))
    with TestClient(app, raise_server_exceptions=False) as http:
        answer = http.post("/notes-test", json={"text": "hi"}, headers=key)
        assert answer.json()["data"] == {"app_id": APP_A[0], "echo": "hi"}
        crash = http.post(
            "/notes-test", json={"text": "boom"}, headers={**key, "X-Request-Id": "r-500"}
        )
        assert crash.status_code == 500
        assert crash.headers["X-Request-Id"] == "r-500" == crash.json()["request_id"]
        assert crash.json()["error"]["type"] == "InternalError"
        assert "secret internals" not in crash.text and "Traceback" not in crash.text
        http.portal.call(app.state.gateway.aclose)


def test_register_operation_refuses_a_taken_route() -> None:
    async def other(client: Any) -> None:
        return None

    with pytest.raises(errors.ValidationError, match="already a gateway operation"):
        register_operation(expose("POST", "/messages", other, scopes=["x"]), domain="messaging")


def test_every_builtin_domain_with_a_client_has_operations() -> None:
    domains = {op.domain for op in operations()}
    assert {
        "messaging",
        "cards",
        "contact",
        "chats",
        "docs",
        "bitable",
        "drive",
        "sheets",
        "apaas",
    } <= domains


def test_apikey_cli_prints_the_key_once_and_lists_without_it() -> None:
    runner = CliRunner()
    made = runner.invoke(
        cli,
        ["apikey", "create", "--name", "billing", "--apps", "cli_a1,cli_b2",
         "--scopes", "messages:send,contact:read", "--rate", "20/s", "--burst", "40",
         "--expires", "30d"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert key.startswith("lsk_")
    listed = runner.invoke(cli, ["apikey", "list"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0
    assert "billing" in listed.output and "20/s burst 40" in listed.output
    assert key not in listed.output and key[len("lsk_") + 13 :] not in listed.output
    as_json = runner.invoke(cli, ["apikey", "list", "--json"])
    (entry,) = json.loads(as_json.output)
    assert key.startswith(entry["id"] + "_") and entry["rate"] == 20 and entry["burst"] == 40
    assert key not in as_json.output and entry["status"] == "active"
    revoked = runner.invoke(cli, ["apikey", "revoke", "billing"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert "no API keys" in runner.invoke(cli, ["apikey", "list"]).output
    again = runner.invoke(cli, ["apikey", "revoke", "billing"])
    assert again.exit_code != 0 and "Traceback" not in again.output


def test_apikey_cli_errors_speak_cli_terms() -> None:
    runner = CliRunner()
    bad_rate = runner.invoke(
        cli, ["apikey", "create", "--name", "x", "--apps", "a", "--scopes", "s", "--rate", "lots"]
    )
    assert bad_rate.exit_code == 2 and "--rate" in bad_rate.output
    burst_alone = runner.invoke(
        cli, ["apikey", "create", "--name", "x", "--apps", "a", "--scopes", "s", "--burst", "3"]
    )
    assert burst_alone.exit_code == 2 and "--burst" in burst_alone.output


def test_apikey_help_says_it_is_not_the_encryption_key() -> None:
    runner = CliRunner()
    text = runner.invoke(cli, ["apikey", "--help"]).output
    assert "gateway" in text and "key rotate" in text and "LARK_CONFIG_ENCRYPTION_KEY" in text
    serve = runner.invoke(cli, ["serve", "--help"]).output
    assert "--gateway" in serve


def test_an_abandoned_claim_can_be_claimed_again(clock: FakeClock) -> None:
    from lark_service.config import get_settings
    from lark_service.gateway.idempotency import IdempotencyStore

    store = IdempotencyStore(get_settings().resolved_database_url, clock=clock)
    assert store.begin(1, "k", "p") is None  # this server dies before finish()
    with pytest.raises(errors.IdempotencyConflictError, match="still running"):
        store.begin(1, "k", "p")
    clock.advance(601)
    assert store.begin(1, "k", "p") is None
    store.finish(1, "k", 200, {"code": 0})
    replay = store.begin(1, "k", "p")
    assert replay is not None and replay.body == {"code": 0}

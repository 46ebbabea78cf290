"""The foundation slice against the emulator: send, tokens over time, faults, retries."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from lark_service import AsyncLarkClient, LarkClient, RetryPolicy, errors
from lark_service.testing.emulator.server import Emulator

SEND = "/open-apis/im/v1/messages"
APP, SECRET = "cli_slice", "slice-secret"


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    lark_emulator.add_app(APP, SECRET)
    lark_emulator.add_user(
        user_id="u_alice", union_id="on_alice", name="Alice", email="alice@example.com"
    )
    lark_emulator.add_chat(chat_id="oc_ops", name="Ops Alerts", members=["u_alice"])
    return lark_emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[LarkClient]:
    with LarkClient(APP, SECRET, base_url=emu.url, clock=emu.now) as c:
        yield c


def test_send_reaches_the_emulator(client: LarkClient, emu: Emulator) -> None:
    message = client.messaging.send_text_message("alice@example.com", "hello")
    (stored,) = emu.messages()
    assert stored.message_id == message.message_id
    assert stored.content == {"text": "hello"}
    assert stored.request_id == message.request_id
    assert message.chat_id == stored.chat_id
    assert message.log_id


def test_unknown_receiver_is_a_typed_error(client: LarkClient, emu: Emulator) -> None:
    with pytest.raises(errors.APIError) as info:
        client.messaging.send_text_message("ou_nobody", "x")
    assert info.value.code and info.value.log_id
    assert emu.messages() == []


def test_expired_token_is_refetched_after_the_clock_moves(
    emu: Emulator, sleeps: list[float]
) -> None:
    # The client keeps real time while Feishu's clock jumps past the token's life: Feishu
    # rejects the token, the pool evicts it and fetches once more.
    with LarkClient(APP, SECRET, base_url=emu.url) as client:
        client.messaging.send_text_message("oc_ops", "one")
        emu.advance_clock(7300)
        client.messaging.send_text_message("oc_ops", "two")
    assert emu.token_fetches(APP, "tenant") == 2
    assert len(emu.messages()) == 2
    assert sleeps == []


def test_callers_in_the_refresh_window_never_wait_on_the_fetch(
    client: LarkClient, emu: Emulator, sleeps: list[float]
) -> None:
    client.messaging.send_text_message("oc_ops", "one")
    emu.advance_clock(7200 - 600)  # 600 s left: inside the last 10 %
    # With the token endpoint down, callers still succeed: they never wait on the refresh.
    emu.inject_fault("/open-apis/auth/v3/*", "status", count=100, status=503)
    client.messaging.send_text_message("oc_ops", "two")
    client.credentials.background.wait()
    assert len(emu.tokens(APP, "tenant")) == 1
    assert len(emu.messages()) == 2


def test_token_is_refreshed_once_ahead_of_expiry(client: LarkClient, emu: Emulator) -> None:
    client.messaging.send_text_message("oc_ops", "one")
    emu.advance_clock(7200 - 600)
    for n in range(5):
        client.messaging.send_text_message("oc_ops", f"in window {n}")
    client.credentials.background.wait()
    assert emu.token_fetches(APP, "tenant") == 2
    emu.advance_clock(700)  # the first token has expired; only the refreshed one works
    client.messaging.send_text_message("oc_ops", "after")
    assert {r.code for r in emu.requests(path=SEND)} == {0}
    assert emu.token_fetches(APP, "tenant") == 2


def test_revoked_token_means_one_refetch_and_success(
    client: LarkClient, emu: Emulator, sleeps: list[float]
) -> None:
    client.messaging.send_text_message("oc_ops", "one")
    emu.revoke_tokens(APP)
    client.messaging.send_text_message("oc_ops", "two")
    assert emu.token_fetches(APP, "tenant") == 2
    assert [r.code for r in emu.requests(path=SEND)] == [0, 99991663, 0]
    assert sleeps == []


def test_rate_limit_is_honoured(client: LarkClient, emu: Emulator, sleeps: list[float]) -> None:
    emu.inject_fault(SEND, "rate_limit", count=1, reset=3)
    client.messaging.send_text_message("oc_ops", "x")
    assert sleeps == [3.0]
    assert [r.status for r in emu.requests(path=SEND)] == [429, 200]


def test_5xx_retried_then_success(client: LarkClient, emu: Emulator, sleeps: list[float]) -> None:
    emu.inject_fault(SEND, "status", count=2, status=503)
    client.messaging.send_text_message("oc_ops", "x")
    assert len(sleeps) == 2
    assert len(emu.messages()) == 1


def test_5xx_forever_is_a_server_error_after_three_retries(
    client: LarkClient, emu: Emulator, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lark_service")
    emu.inject_fault(SEND, "status", count=100, status=502)
    with pytest.raises(errors.ServerError) as info:
        client.messaging.send_text_message("oc_ops", "x")
    assert info.value.http_status == 502
    assert len(emu.requests(path=SEND)) == 4
    assert len(sleeps) == 3
    attempts = [r.lark_attempt for r in caplog.records if getattr(r, "lark_path", None) == SEND]
    assert attempts == [1, 2, 3, 4]
    assert sum("retry " in r.getMessage() for r in caplog.records) == 3


def test_timeout_then_success_sends_once(emu: Emulator, sleeps: list[float]) -> None:
    emu.inject_fault(SEND, "timeout", count=1, max_seconds=5)
    with LarkClient(APP, SECRET, base_url=emu.url, timeout=0.3) as client:
        client.messaging.send_text_message("oc_ops", "exactly once")
    assert len(emu.messages()) == 1
    assert len(sleeps) == 1


def test_connection_reset_is_retried(
    client: LarkClient, emu: Emulator, sleeps: list[float]
) -> None:
    emu.inject_fault(SEND, "reset", count=1)
    client.messaging.send_text_message("oc_ops", "x")
    assert len(sleeps) == 1 and len(emu.messages()) == 1


def test_wrong_secret_is_a_config_error_without_retries(emu: Emulator, sleeps: list[float]) -> None:
    with LarkClient(APP, "wrong", base_url=emu.url) as client:
        with pytest.raises(errors.InvalidCredentialsError):
            client.messaging.send_text_message("oc_ops", "x")
    assert emu.token_fetches(APP, "tenant") == 1
    assert sleeps == []


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
async def test_async_slice(emu: Emulator, sleeps: list[float], backend: str) -> None:
    async with AsyncLarkClient(
        APP, SECRET, base_url=emu.url, retry=RetryPolicy(), http_backend=backend
    ) as client:
        emu.inject_fault(SEND, "status", count=1, status=500)
        message = await client.messaging.send_text_message("oc_ops", "async")
        emu.revoke_tokens(APP)
        await client.messaging.send_text_message("alice@example.com", "again")
    assert message.message_id == emu.messages()[0].message_id
    assert len(sleeps) == 1
    assert emu.token_fetches(APP, "tenant") == 2


def test_access_token_comes_from_the_pool(client: LarkClient, emu: Emulator) -> None:
    token = client.access_token()
    assert token == emu.tokens(APP, "tenant")[-1].value
    client.messaging.send_text_message("oc_ops", "x")
    assert client.access_token() == token
    assert emu.token_fetches(APP, "tenant") == 1
    assert client.access_token("app").startswith("a-")
    with pytest.raises(errors.ValidationError):
        client.access_token("user")


def test_check_credentials_fetches_now(emu: Emulator) -> None:
    with LarkClient(APP, SECRET, base_url=emu.url) as client:
        client.messaging.send_text_message("oc_ops", "x")
        record = client.check_credentials()
        assert record.lifetime > 7000
        assert emu.token_fetches(APP, "tenant") == 2
    with LarkClient(APP, "wrong", base_url=emu.url) as client:
        with pytest.raises(errors.InvalidCredentialsError):
            client.check_credentials()


@pytest.mark.anyio
async def test_aiohttp_backend_survives_faults(emu: Emulator, sleeps: list[float]) -> None:
    emu.inject_fault(SEND, "reset", count=1)
    emu.inject_fault(SEND, "timeout", count=1, max_seconds=5)
    async with AsyncLarkClient(
        APP, SECRET, base_url=emu.url, timeout=0.3, http_backend="aiohttp"
    ) as client:
        await client.messaging.send_text_message("oc_ops", "once")
    assert len(emu.messages()) == 1
    assert len(sleeps) == 2


def test_backend_settings_are_checked(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(errors.ConfigError, match="unknown http_backend"):
        AsyncLarkClient(APP, SECRET, base_url=emu.url, http_backend="curl")
    with pytest.raises(errors.ConfigError, match="HTTP/2"):
        AsyncLarkClient(APP, SECRET, base_url=emu.url, http_backend="aiohttp", http2=True)
    monkeypatch.setenv("LARK_HTTP_BACKEND", "aiohttp")  # sync clients keep httpx's own
    with LarkClient(APP, SECRET, base_url=emu.url) as client:
        client.messaging.send_text_message("oc_ops", "sync")
    assert len(emu.messages()) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
async def test_a_dropped_write_is_not_repeated(
    emu: Emulator, sleeps: list[float], backend: str
) -> None:
    async with AsyncLarkClient(APP, SECRET, base_url=emu.url, http_backend=backend) as client:
        await client.access_token()
        emu.inject_fault(SEND, "reset", count=1)
        with pytest.raises(errors.ConnectionError) as info:
            await client.request(
                "POST", SEND, params={"receive_id_type": "chat_id"}, json={}, idempotent=False
            )
    assert info.value.request_sent
    assert len(emu.requests(path=SEND)) == 1 and sleeps == []


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
async def test_a_refused_connection_is_known_unsent(sleeps: list[float], backend: str) -> None:
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with AsyncLarkClient(
        APP, SECRET, base_url=f"http://127.0.0.1:{port}", http_backend=backend
    ) as client:
        with pytest.raises(errors.ConnectionError) as info:
            await client.request("GET", "/open-apis/x", token=None, idempotent=False)
    assert not info.value.request_sent
    assert len(sleeps) == 3  # never sent, so even a write is retried

"""The request pipeline through the public client, on a scripted Feishu (httpx.MockTransport)."""

from __future__ import annotations

import json
import logging
import threading
import uuid

import httpx
import pytest

from lark_service import AsyncLarkClient, LarkClient, RetryPolicy, errors
from lark_service._app import AppCredentials
from lark_service._retry import NO_RETRY
from lark_service.logging import get_logger

from ._mock import SEND_PATH, TOKEN_PATH, ScriptedFeishu, feishu_error


def html_502() -> httpx.Response:
    return httpx.Response(
        502, headers={"content-type": "text/html"}, text="<html><body>502 Bad Gateway</body></html>"
    )


@pytest.fixture
def feishu() -> ScriptedFeishu:
    return ScriptedFeishu()


def make_client(feishu: ScriptedFeishu, **kw: object) -> LarkClient:
    return LarkClient(
        "cli_test",
        "secret-value",
        base_url="https://feishu.test",
        transport=feishu.transport(),
        **kw,
    )


def test_send_text_sets_ids_token_and_receiver_type(feishu: ScriptedFeishu) -> None:
    client = make_client(feishu)
    message = client.messaging.send_text_message("alice@example.com", "hello")

    (send,) = feishu.calls(SEND_PATH)
    assert send.url.params["receive_id_type"] == "email"
    assert send.headers["Authorization"] == "Bearer t-token0001xxxxxxxxxxxxxxxx"
    assert str(uuid.UUID(send.headers["X-Request-Id"])) == message.request_id
    assert message.log_id == "log-om_1"
    assert message.message_id == "om_1"
    body = json.loads(send.content)
    assert json.loads(body["content"]) == {"text": "hello"}
    assert uuid.UUID(body["uuid"])
    assert feishu.calls(TOKEN_PATH)[0].read() and json.loads(
        feishu.calls(TOKEN_PATH)[0].content
    ) == {
        "app_id": "cli_test",
        "app_secret": "secret-value",
    }


@pytest.mark.parametrize(
    ("receive_id", "expected"),
    [
        ("ou_1", "open_id"),
        ("on_1", "union_id"),
        ("oc_1", "chat_id"),
        ("a@b.c", "email"),
        ("u123", "user_id"),
    ],
)
def test_receive_id_type_is_inferred(
    feishu: ScriptedFeishu, receive_id: str, expected: str
) -> None:
    make_client(feishu).messaging.send_text_message(receive_id, "x")
    assert feishu.calls(SEND_PATH)[0].url.params["receive_id_type"] == expected


def test_token_is_fetched_once_and_reused(feishu: ScriptedFeishu) -> None:
    client = make_client(feishu)
    for _ in range(5):
        client.messaging.send_text_message("ou_1", "x")
    assert len(feishu.calls(TOKEN_PATH)) == 1


def test_cold_start_of_many_threads_makes_one_token_fetch(feishu: ScriptedFeishu) -> None:
    client = make_client(feishu)
    barrier = threading.Barrier(16)

    def send() -> None:
        barrier.wait()
        client.messaging.send_text_message("ou_1", "x")

    threads = [threading.Thread(target=send) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(feishu.calls(TOKEN_PATH)) == 1
    assert len(feishu.calls(SEND_PATH)) == 16


@pytest.mark.parametrize(
    ("text", "receive_id", "field"),
    [
        ("", "ou_1", "text"),
        ("   ", "ou_1", "text"),
        ("x" * (150 * 1024 + 1), "ou_1", "content"),
        ("hi", "", "receive_id"),
        ("hi", " ou_1", "receive_id"),
    ],
)
def test_bad_input_raises_before_any_request(
    feishu: ScriptedFeishu, text: str, receive_id: str, field: str
) -> None:
    with pytest.raises(errors.ValidationError) as info:
        make_client(feishu).messaging.send_text_message(receive_id, text)
    assert info.value.field == field
    assert feishu.requests == []


def test_bad_receive_id_type_is_rejected_locally(feishu: ScriptedFeishu) -> None:
    with pytest.raises(errors.ValidationError, match="receive_id_type"):
        make_client(feishu).messaging.send_text_message("ou_1", "x", receive_id_type="phone")  # type: ignore[arg-type]
    assert feishu.requests == []


def test_text_of_exactly_the_limit_is_sent(feishu: ScriptedFeishu) -> None:
    # 150 KB is measured on the JSON-encoded content object, as Feishu measures the body.
    overhead = len(json.dumps({"text": ""}, separators=(",", ":")))
    make_client(feishu).messaging.send_text_message("ou_1", "x" * (150 * 1024 - overhead))
    assert len(feishu.calls(SEND_PATH)) == 1


def test_business_error_with_http_200_is_raised(
    feishu: ScriptedFeishu, sleeps: list[float]
) -> None:
    feishu.push(SEND_PATH, feishu_error(230002, status=200, msg="Bot is not in the chat"))
    with pytest.raises(errors.PermissionDeniedError) as info:
        make_client(feishu).messaging.send_text_message("oc_1", "x")
    err = info.value
    assert (err.code, err.http_status, err.log_id) == (230002, 200, "log-err")
    assert err.request_id == feishu.calls(SEND_PATH)[0].headers["X-Request-Id"]
    assert "Add the bot" in (err.hint or "")
    assert sleeps == []


def test_error_string_names_code_request_id_and_log_id(feishu: ScriptedFeishu) -> None:
    feishu.push(SEND_PATH, feishu_error(230001, msg="invalid param"))
    with pytest.raises(errors.InvalidParameterError) as info:
        make_client(feishu).messaging.send_text_message("oc_1", "x")
    text = str(info.value)
    assert "[230001] invalid param" in text
    assert f"request_id={info.value.request_id}" in text
    assert "log_id=log-err" in text


def test_html_502_pages_become_server_errors_after_three_retries(
    feishu: ScriptedFeishu, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    feishu.push(SEND_PATH, *([html_502() for _ in range(4)]))
    caplog.set_level(logging.INFO, logger="lark_service")
    with pytest.raises(errors.ServerError) as info:
        make_client(feishu).messaging.send_text_message("ou_1", "x")
    assert info.value.http_status == 502
    assert "502 Bad Gateway" in info.value.msg
    assert len(feishu.calls(SEND_PATH)) == 4
    assert [round(s) for s in sleeps] == [1, 2, 4]
    for expected, got in zip([1, 2, 4], sleeps, strict=True):
        assert expected <= got <= expected * 1.1
    retry_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retry ")]
    assert [line.split(" of ")[0] for line in retry_lines] == [
        "retry 1/3",
        "retry 2/3",
        "retry 3/3",
    ]
    assert all("ServerError" in line for line in retry_lines)
    send_records = [r for r in caplog.records if getattr(r, "lark_path", None) == SEND_PATH]
    assert [r.lark_attempt for r in send_records] == [1, 2, 3, 4]
    assert {r.lark_request_id for r in send_records} == {info.value.request_id}


def test_5xx_then_success_returns_the_message(feishu: ScriptedFeishu, sleeps: list[float]) -> None:
    feishu.push(SEND_PATH, html_502(), feishu_error(1500, status=500, msg="internal"))
    message = make_client(feishu).messaging.send_text_message("ou_1", "x")
    assert message.message_id == "om_1"
    assert len(sleeps) == 2


def test_timeout_then_success_reuses_uuid_and_request_id(
    feishu: ScriptedFeishu, sleeps: list[float]
) -> None:
    feishu.push(SEND_PATH, httpx.ReadTimeout("slow"), httpx.ConnectError("reset"))
    make_client(feishu).messaging.send_text_message("ou_1", "x")
    sends = feishu.calls(SEND_PATH)
    assert len(sends) == 3
    assert len({json.loads(r.content)["uuid"] for r in sends}) == 1
    assert len({r.headers["X-Request-Id"] for r in sends}) == 1
    # separate logical calls get separate uuids
    make_client(feishu).messaging.send_text_message("ou_1", "x")
    assert len({b["uuid"] for b in feishu.bodies(SEND_PATH)}) == 2


def test_transport_errors_are_typed_after_retries(
    feishu: ScriptedFeishu, sleeps: list[float]
) -> None:
    feishu.push(SEND_PATH, *[httpx.ReadTimeout("slow")] * 4)
    with pytest.raises(errors.TimeoutError) as info:
        make_client(feishu).messaging.send_text_message("ou_1", "x")
    assert info.value.retryable and info.value.request_id
    feishu.push(SEND_PATH, *[httpx.ConnectError("refused")] * 4)
    with pytest.raises(errors.ConnectionError):
        make_client(feishu).messaging.send_text_message("ou_1", "x")


def test_rate_limit_waits_the_reset_header(feishu: ScriptedFeishu, sleeps: list[float]) -> None:
    limited = feishu_error(99991400, status=429, msg="request trigger frequency limit")
    limited.headers["x-ogw-ratelimit-reset"] = "7"
    feishu.push(SEND_PATH, limited)
    make_client(feishu).messaging.send_text_message("ou_1", "x")
    assert sleeps == [7.0]


def test_rate_limit_without_header_waits_30s(feishu: ScriptedFeishu, sleeps: list[float]) -> None:
    feishu.push(SEND_PATH, feishu_error(99991400, status=400, msg="frequency limit"))
    make_client(feishu).messaging.send_text_message("ou_1", "x")
    assert sleeps == [30.0]


def test_per_receiver_limit_waits_the_receivers_window(
    feishu: ScriptedFeishu, sleeps: list[float]
) -> None:
    # 230020 (5/s per receiver) comes without x-ogw-ratelimit-reset: wait the receiver's 1 s
    # window, not 30 s
    feishu.push(SEND_PATH, feishu_error(230020, status=400, msg="frequency limit"))
    make_client(feishu).messaging.send_text_message("ou_1", "x")
    assert sleeps == [1.0]


def test_total_wait_budget_stops_retries(feishu: ScriptedFeishu, sleeps: list[float]) -> None:
    feishu.push(SEND_PATH, *([html_502() for _ in range(4)]))
    client = make_client(feishu, retry=RetryPolicy(total_budget=2.5, jitter=0))
    with pytest.raises(errors.ServerError):
        client.messaging.send_text_message("ou_1", "x")
    assert sleeps == [1.0]  # 1 + 2 would exceed 2.5
    assert len(feishu.calls(SEND_PATH)) == 2


def test_retry_policy_can_be_overridden_per_call(
    feishu: ScriptedFeishu, sleeps: list[float]
) -> None:
    feishu.push(SEND_PATH, html_502())
    client = make_client(feishu)
    with pytest.raises(errors.ServerError):
        client.request(
            "POST", SEND_PATH, params={"receive_id_type": "open_id"}, json={}, retry=NO_RETRY
        )
    assert sleeps == []


def test_rejected_token_is_refetched_once(feishu: ScriptedFeishu, sleeps: list[float]) -> None:
    feishu.push(SEND_PATH, feishu_error(99991663, msg="Invalid access token for authorization"))
    message = make_client(feishu).messaging.send_text_message("ou_1", "x")
    assert message.message_id == "om_1"
    tokens = [r.headers["Authorization"] for r in feishu.calls(SEND_PATH)]
    assert tokens == ["Bearer t-token0001xxxxxxxxxxxxxxxx", "Bearer t-token0002xxxxxxxxxxxxxxxx"]
    assert sleeps == []  # a refresh is not a retry


def test_second_token_rejection_is_final(feishu: ScriptedFeishu, sleeps: list[float]) -> None:
    feishu.push(SEND_PATH, feishu_error(99991663), feishu_error(99991663))
    with pytest.raises(errors.TokenInvalidError):
        make_client(feishu).messaging.send_text_message("ou_1", "x")
    assert len(feishu.calls(TOKEN_PATH)) == 2
    assert len(feishu.calls(SEND_PATH)) == 2


def test_wrong_secret_is_not_retried(feishu: ScriptedFeishu, sleeps: list[float]) -> None:
    feishu.push(TOKEN_PATH, feishu_error(10014, msg="app secret invalid"))
    with pytest.raises(errors.InvalidCredentialsError) as info:
        make_client(feishu).messaging.send_text_message("ou_1", "x")
    assert "secret" in (info.value.hint or "")
    assert len(feishu.calls(TOKEN_PATH)) == 1
    assert feishu.calls(SEND_PATH) == []
    assert sleeps == []


def test_token_endpoint_5xx_is_retried(feishu: ScriptedFeishu, sleeps: list[float]) -> None:
    feishu.push(TOKEN_PATH, html_502())
    make_client(feishu).messaging.send_text_message("ou_1", "x")
    assert len(feishu.calls(TOKEN_PATH)) == 2


def test_non_json_success_is_a_server_error(feishu: ScriptedFeishu, sleeps: list[float]) -> None:
    feishu.push(SEND_PATH, *[httpx.Response(200, text="oops") for _ in range(4)])
    with pytest.raises(errors.ServerError):
        make_client(feishu).messaging.send_text_message("ou_1", "x")


def test_request_escape_hatch_returns_data_and_ids(feishu: ScriptedFeishu) -> None:
    feishu.push(
        "/open-apis/contact/v3/users/ou_1",
        httpx.Response(200, json={"code": 0, "data": {"user": {"name": "A"}}}),
    )
    response = make_client(feishu).request(
        "GET", "/open-apis/contact/v3/users/ou_1", params={"user_id_type": "open_id"}
    )
    assert response.data == {"user": {"name": "A"}}
    assert response.request_id and response.code == 0


def test_request_rejects_relative_paths(feishu: ScriptedFeishu) -> None:
    with pytest.raises(errors.ValidationError):
        make_client(feishu).request("GET", "open-apis/x")


def test_request_without_token(feishu: ScriptedFeishu) -> None:
    make_client(feishu).request("GET", "/open-apis/public", token=None)
    (call,) = feishu.calls("/open-apis/public")
    assert "Authorization" not in call.headers
    assert feishu.calls(TOKEN_PATH) == []


# --- app resolution ----------------------------------------------------------------------


def test_use_app_and_per_call_app_id(
    feishu: ScriptedFeishu, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LARK_APP_ID", "cli_env")
    monkeypatch.setenv("LARK_APP_SECRET", "env-secret")
    client = make_client(feishu)
    client.messaging.send_text_message("ou_1", "x")
    with client.use_app("cli_env"):
        client.messaging.send_text_message("ou_1", "x")
        client.messaging.send_text_message("ou_1", "x", app_id="cli_test")
    apps = [json.loads(r.content)["app_id"] for r in feishu.calls(TOKEN_PATH)]
    assert apps == ["cli_test", "cli_env"]
    auth = [r.headers["Authorization"] for r in feishu.calls(SEND_PATH)]
    assert auth[0] == auth[2] != auth[1]


def test_env_app_is_the_default(feishu: ScriptedFeishu, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LARK_APP_ID", "cli_env")
    monkeypatch.setenv("LARK_APP_SECRET", "env-secret")
    LarkClient(
        base_url="https://feishu.test", transport=feishu.transport()
    ).messaging.send_text_message("ou_1", "x")
    assert json.loads(feishu.calls(TOKEN_PATH)[0].content)["app_id"] == "cli_env"


def test_no_app_anywhere_is_a_clear_error(feishu: ScriptedFeishu) -> None:
    client = LarkClient(base_url="https://feishu.test", transport=feishu.transport())
    with pytest.raises(errors.AppNotSpecifiedError) as info:
        client.messaging.send_text_message("ou_1", "x")
    assert "LARK_APP_ID" in (info.value.hint or "")
    assert feishu.requests == []


def test_unknown_app_is_a_clear_error(feishu: ScriptedFeishu) -> None:
    with pytest.raises(errors.AppNotFoundError, match="cli_other"):
        make_client(feishu).messaging.send_text_message("ou_1", "x", app_id="cli_other")
    assert feishu.requests == []


def test_wrong_secret_never_reads_a_valid_token(feishu: ScriptedFeishu) -> None:
    make_client(feishu).messaging.send_text_message("ou_1", "x")
    feishu.push(TOKEN_PATH, feishu_error(10014, msg="app secret invalid"))
    wrong = LarkClient(
        "cli_test", "WRONG", base_url="https://feishu.test", transport=feishu.transport()
    )
    with pytest.raises(errors.InvalidCredentialsError):
        wrong.messaging.send_text_message("ou_1", "x")


# --- masking -------------------------------------------------------------------------------


def test_logs_never_show_tokens_or_secrets(
    feishu: ScriptedFeishu, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lark_service")
    get_logger("lark_service.test").warning(
        "Authorization: Bearer t-token0001xxxxxxxxxxxxxxxx app_secret=secret-value %s",
        {"tenant_access_token": "t-abcdefabcdefabcdef"},
    )
    feishu.push(SEND_PATH, feishu_error(99991663))
    make_client(feishu).messaging.send_text_message("ou_1", "x")
    text = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert "t-token0001" not in text
    assert "t-token0002" not in text
    assert "secret-value" not in text
    assert "t-abcdefabcdef" not in text
    assert "***" in text


@pytest.mark.parametrize(
    "raw",
    [
        "Authorization: Bearer u-abcdefghijklmnop",
        '{"app_secret": "s3cr3t-value"}',
        "encrypt_key=k3y-value&x=1",
        "verification_token: v-tok-value",
        "token t-1234567890abcdefgh in text",
        "refresh_token='ur-1234567890abcdef'",
        "card token c-1234567890abcdefgh expired",
    ],
)
def test_mask_hides_secret_values(raw: str) -> None:
    from lark_service.logging import mask

    masked = mask(raw)
    for secret in (
        "abcdefghijklmnop",
        "s3cr3t-value",
        "k3y-value",
        "v-tok-value",
        "1234567890abcdef",
    ):
        assert secret not in masked


def test_repr_of_credentials_hides_the_secret(feishu: ScriptedFeishu) -> None:
    app = make_client(feishu).resolve_app()
    assert "secret-value" not in repr(app)


# --- async twin ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_send_and_retry(feishu: ScriptedFeishu, sleeps: list[float]) -> None:
    feishu.push(SEND_PATH, html_502(), httpx.ReadTimeout("slow"))
    async with AsyncLarkClient(
        "cli_test",
        "secret-value",
        base_url="https://feishu.test",
        transport=feishu.async_transport(),
    ) as client:
        message = await client.messaging.send_text_message("oc_1", "x")
    assert message.message_id == "om_1"
    assert [round(s) for s in sleeps] == [1, 2]
    assert len({b["uuid"] for b in feishu.bodies(SEND_PATH)}) == 1


@pytest.mark.anyio
async def test_async_cold_start_of_many_tasks_makes_one_fetch(feishu: ScriptedFeishu) -> None:
    import asyncio

    async with AsyncLarkClient(
        "cli_test",
        "secret-value",
        base_url="https://feishu.test",
        transport=feishu.async_transport(),
    ) as client:
        await asyncio.gather(*(client.messaging.send_text_message("ou_1", "x") for _ in range(20)))
    assert len(feishu.calls(TOKEN_PATH)) == 1


@pytest.mark.anyio
async def test_async_token_rejection_and_errors(
    feishu: ScriptedFeishu, sleeps: list[float]
) -> None:
    feishu.push(SEND_PATH, feishu_error(99991663), feishu_error(230002))
    async with AsyncLarkClient(
        "cli_test",
        "secret-value",
        base_url="https://feishu.test",
        transport=feishu.async_transport(),
    ) as client:
        with pytest.raises(errors.PermissionDeniedError):
            await client.messaging.send_text_message("oc_1", "x")
    assert len(feishu.calls(TOKEN_PATH)) == 2


class _RecordingRegistry:
    """An AppSource that records which thread reads it."""

    def __init__(self, *, fresh: bool) -> None:
        self.fresh = fresh
        self.threads: list[int] = []

    def get_app(self, app_id: str) -> AppCredentials | None:
        self.threads.append(threading.get_ident())
        return AppCredentials(app_id, "reg-secret", "https://feishu.test", "registry")

    def active_app_ids(self) -> list[str]:
        self.threads.append(threading.get_ident())
        return ["cli_reg"]

    def is_fresh(self) -> bool:
        return self.fresh


@pytest.mark.anyio
@pytest.mark.parametrize("fresh", [False, True])
async def test_async_registry_reads_stay_off_the_event_loop(
    feishu: ScriptedFeishu, fresh: bool
) -> None:
    registry = _RecordingRegistry(fresh=fresh)
    async with AsyncLarkClient(registry=registry, transport=feishu.async_transport()) as client:
        await client.messaging.send_text_message("ou_1", "x")
    loop_thread = threading.get_ident()
    assert registry.threads
    if fresh:  # answered from memory: no thread hop needed
        assert set(registry.threads) == {loop_thread}
    else:  # may touch the database: never on the loop's thread
        assert loop_thread not in registry.threads
    assert json.loads(feishu.calls(TOKEN_PATH)[0].content)["app_id"] == "cli_reg"


# --- writes that must not run twice ------------------------------------------------------

EDIT = "/open-apis/im/v1/messages/om_1"


def test_non_idempotent_write_is_not_retried_after_a_read_timeout(
    feishu: ScriptedFeishu, sleeps: list[float]
) -> None:
    feishu.push(EDIT, httpx.ReadTimeout("slow"))
    with pytest.raises(errors.TimeoutError) as info:
        make_client(feishu).request("PUT", EDIT, json={}, idempotent=False)
    assert info.value.request_sent
    assert len(feishu.calls(EDIT)) == 1 and sleeps == []


@pytest.mark.parametrize("failure", ["dropped", "502"])
def test_non_idempotent_write_is_not_retried_when_feishu_may_have_run_it(
    feishu: ScriptedFeishu, sleeps: list[float], failure: str
) -> None:
    answer = (
        httpx.RemoteProtocolError("server disconnected") if failure == "dropped" else html_502()
    )
    feishu.push(EDIT, answer)
    with pytest.raises((errors.ConnectionError, errors.ServerError)):
        make_client(feishu).request("PUT", EDIT, json={}, idempotent=False)
    assert len(feishu.calls(EDIT)) == 1


@pytest.mark.parametrize(
    "answer",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("no route"),
        feishu_error(99991400, status=429, msg="rate limited"),
    ],
    ids=["connect-error", "connect-timeout", "rate-limit"],
)
def test_non_idempotent_write_is_retried_when_feishu_surely_did_not_run_it(
    feishu: ScriptedFeishu, sleeps: list[float], answer: object
) -> None:
    feishu.push(EDIT, answer)  # type: ignore[arg-type]
    make_client(feishu).request("PUT", EDIT, json={}, idempotent=False)
    assert len(feishu.calls(EDIT)) == 2 and len(sleeps) == 1


def test_idempotent_calls_still_retry_read_timeouts(
    feishu: ScriptedFeishu, sleeps: list[float]
) -> None:
    feishu.push(EDIT, httpx.ReadTimeout("slow"))
    make_client(feishu).request("GET", EDIT)
    assert len(feishu.calls(EDIT)) == 2


def test_undecodable_answers_are_server_errors(feishu: ScriptedFeishu, sleeps: list[float]) -> None:
    feishu.push(SEND_PATH, *[httpx.DecodingError("bad gzip") for _ in range(4)])
    with pytest.raises(errors.ServerError, match="unusable answer"):
        make_client(feishu).messaging.send_text_message("ou_1", "x")


def test_an_answer_of_the_wrong_shape_is_a_server_error(feishu: ScriptedFeishu) -> None:
    feishu.push(SEND_PATH, httpx.Response(200, json={"code": 0, "data": {"chat_id": "oc_1"}}))
    with pytest.raises(errors.ServerError, match="Message") as info:
        make_client(feishu).messaging.send_text_message("ou_1", "x")
    assert "message_id" in info.value.msg and info.value.request_id


def test_with_options_overrides_retries_for_domain_methods(
    feishu: ScriptedFeishu, sleeps: list[float]
) -> None:
    client = make_client(feishu)
    client.messaging.send_text_message("ou_1", "warm")  # token fetched once, shared below
    feishu.push(SEND_PATH, html_502())
    with pytest.raises(errors.ServerError):
        client.with_options(retry=NO_RETRY).messaging.send_text_message("ou_1", "x")
    assert sleeps == []
    feishu.push(SEND_PATH, html_502())
    client.messaging.send_text_message("ou_1", "x")  # the original keeps its retries
    assert len(sleeps) == 1
    assert len(feishu.calls(TOKEN_PATH)) == 1
    quick = client.with_options(timeout=2.5)
    assert quick.messaging.limiter is client.messaging.limiter
    quick.messaging.send_text_message("ou_1", "x")
    assert feishu.calls(SEND_PATH)[-1].extensions["timeout"]["read"] == 2.5

"""Feishu's codes per endpoint family (issue 9.10, library side), on a scripted Feishu: the
same code means different things on different endpoints, and only the token kind Feishu
rejected is thrown away."""

from __future__ import annotations

import pytest

from lark_service import NO_RETRY, LarkClient, errors
from lark_service.errors import endpoint_family

from ..unit._mock import SEND_PATH, TOKEN_PATH, ScriptedFeishu, feishu_error

MESSAGE = SEND_PATH + "/om_1"


def send(c: LarkClient) -> object:
    return c.messaging.send_text_message("oc_1", "x")


REPLY = MESSAGE + "/reply"


@pytest.mark.parametrize(
    ("code", "path", "call", "expected"),
    [
        (230071, MESSAGE, lambda c: c.messaging.edit_message("om_1", "x"), "PermissionDeniedError"),
        (230072, MESSAGE, lambda c: c.messaging.edit_message("om_1", "x"), "ConflictError"),
        (230075, MESSAGE, lambda c: c.messaging.edit_message("om_1", "x"), "ConflictError"),
        (230071, REPLY, lambda c: c.messaging.reply_message("om_1", "x"), "InvalidParameterError"),
        (230026, MESSAGE, lambda c: c.messaging.recall_message("om_1"), "PermissionDeniedError"),
        (230009, MESSAGE, lambda c: c.messaging.recall_message("om_1"), "ConflictError"),
        (230110, MESSAGE, lambda c: c.messaging.recall_message("om_1"), "NotFoundError"),
        (10003, SEND_PATH, send, "InvalidParameterError"),
        (232019, SEND_PATH, send, "RateLimitedError"),
    ],
)  # fmt: skip
def test_a_code_maps_by_the_endpoint_it_came_from(
    feishu: ScriptedFeishu,
    scripted: LarkClient,
    code: int,
    path: str,
    call: object,
    expected: str,
) -> None:
    feishu.push(path, *[feishu_error(code) for _ in range(5)])
    with pytest.raises(errors.LarkError) as info:
        call(scripted.with_options(retry=NO_RETRY))  # type: ignore[operator]
    assert type(info.value).__name__ == expected
    assert info.value.code == code
    assert info.value.hint


def test_10003_on_the_token_endpoint_is_a_credentials_error(
    feishu: ScriptedFeishu, scripted: LarkClient
) -> None:
    feishu.push(TOKEN_PATH, feishu_error(10003, msg="invalid param"))
    with pytest.raises(errors.InvalidCredentialsError) as info:
        scripted.messaging.send_text_message("ou_1", "x")
    assert "app_id" in (info.value.hint or "")
    assert feishu.calls(SEND_PATH) == []


def test_99991668_about_a_user_token_keeps_the_tenant_token(
    feishu: ScriptedFeishu, scripted: LarkClient
) -> None:
    feishu.push(SEND_PATH, feishu_error(99991668, 401, "user access token invalid"))
    with pytest.raises(errors.TokenInvalidError):
        scripted.messaging.send_text_message("ou_1", "x")
    assert len(feishu.calls(TOKEN_PATH)) == 1
    assert len(feishu.calls(SEND_PATH)) == 1
    # the tenant token is still the cached one
    scripted.messaging.send_text_message("ou_1", "x")
    assert len(feishu.calls(TOKEN_PATH)) == 1
    assert {r.headers["Authorization"] for r in feishu.calls(SEND_PATH)} == {
        "Bearer t-token0001xxxxxxxxxxxxxxxx"
    }


def test_99991663_refetches_the_tenant_token_once(
    feishu: ScriptedFeishu, scripted: LarkClient
) -> None:
    feishu.push(SEND_PATH, feishu_error(99991663, 401, "tenant access token invalid"))
    message = scripted.messaging.send_text_message("ou_1", "x")
    assert message.message_id == "om_1"
    assert len(feishu.calls(TOKEN_PATH)) == 2
    first, second = feishu.calls(SEND_PATH)
    assert first.headers["Authorization"] != second.headers["Authorization"]


def test_a_second_99991663_is_not_refetched_again(
    feishu: ScriptedFeishu, scripted: LarkClient
) -> None:
    feishu.push(SEND_PATH, *[feishu_error(99991663, 401, "invalid") for _ in range(3)])
    with pytest.raises(errors.TokenInvalidError):
        scripted.messaging.send_text_message("ou_1", "x")
    assert len(feishu.calls(TOKEN_PATH)) == 2
    assert len(feishu.calls(SEND_PATH)) == 2


@pytest.mark.parametrize(
    ("method", "path", "family"),
    [
        ("POST", "/open-apis/auth/v3/tenant_access_token/internal", "auth"),
        ("PUT", "/open-apis/im/v1/messages/om_1", "im.edit"),
        ("DELETE", "/open-apis/im/v1/messages/om_1", "im.recall"),
        ("POST", "/open-apis/im/v1/messages/om_1/reply", "im.reply"),
        ("GET", "/open-apis/im/v1/messages/om_1", "im"),
        ("POST", "/open-apis/im/v1/messages", "im"),
        ("GET", "/open-apis/contact/v3/users/ou_1", "contact"),
        ("GET", "/healthz", ""),
    ],
)
def test_endpoint_family(method: str, path: str, family: str) -> None:
    assert endpoint_family(method, path) == family


def test_a_garbled_exchange_is_a_transport_error_not_a_parameter_error(
    feishu: ScriptedFeishu, scripted: LarkClient
) -> None:
    """A bare (non-JSON) HTTP 400 comes from a server that could not parse our request (e.g.
    a connection shared across fork()): Feishu answers every 400 with its JSON envelope."""
    import httpx

    feishu.push(
        SEND_PATH,
        *[httpx.Response(400, text="Invalid HTTP request received.") for _ in range(5)],
    )
    with pytest.raises(errors.TransportError) as info:
        scripted.with_options(retry=NO_RETRY).messaging.send_text_message("ou_1", "x")
    assert not isinstance(info.value, errors.InvalidParameterError)
    assert info.value.http_status == 400

"""The one mapping from Feishu answers to error classes."""

from __future__ import annotations

import random

import pytest

from lark_service import errors
from lark_service._retry import RetryPolicy
from lark_service.errors import CODE_TABLE, error_from_response


@pytest.mark.parametrize("code", sorted(CODE_TABLE))
def test_every_mapped_code_lands_in_its_class(code: int) -> None:
    rule = CODE_TABLE[code]
    err = error_from_response(
        http_status=400, body={"code": code, "msg": "m"}, request_id="r", log_id="l"
    )
    assert type(err) is rule.cls
    assert err.code == code
    assert err.retryable is rule.retryable
    assert err.hint
    assert (err.request_id, err.log_id, err.http_status) == ("r", "l", 400)


def test_unknown_code_is_a_plain_api_error() -> None:
    err = error_from_response(http_status=400, body={"code": 123456789, "msg": "new thing"})
    assert type(err) is errors.APIError
    assert err.code == 123456789 and not err.retryable


def test_business_code_decides_before_status() -> None:
    err = error_from_response(http_status=500, body={"code": 230002, "msg": "bot not in chat"})
    assert type(err) is errors.PermissionDeniedError


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, errors.TokenInvalidError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (429, errors.RateLimitedError),
        (500, errors.ServerError),
        (503, errors.ServerError),
    ],
)
def test_status_decides_without_a_code(status: int, cls: type[errors.LarkError]) -> None:
    assert type(error_from_response(http_status=status, body={"msg": "x"})) is cls
    assert type(error_from_response(http_status=status, body=None, text="<html/>")) is cls


def test_missing_scopes_come_from_permission_violations() -> None:
    body = {
        "code": 99991672,
        "msg": "Access denied",
        "error": {
            "permission_violations": [
                {"type": "action_privilege_required", "subject": "im:message:send_as_bot"},
                {"type": "action_privilege_required", "subject": "im:message"},
            ]
        },
    }
    err = error_from_response(http_status=400, body=body)
    assert isinstance(err, errors.PermissionDeniedError)
    assert err.missing_scopes == ["im:message:send_as_bot", "im:message"]
    assert "im:message:send_as_bot" in (err.hint or "")


def test_field_violations_become_the_hint() -> None:
    body = {
        "code": 230001,
        "msg": "invalid",
        "error": {"field_violations": [{"field": "receive_id", "description": "bad id"}]},
    }
    assert error_from_response(http_status=400, body=body).hint == "receive_id: bad id"


def test_rate_limit_carries_retry_after() -> None:
    err = error_from_response(http_status=429, body={"code": 99991400}, retry_after=12.0)
    assert isinstance(err, errors.RateLimitedError) and err.retry_after == 12.0


def test_error_classes_form_the_documented_tree() -> None:
    assert issubclass(errors.TimeoutError, errors.TransportError)
    assert issubclass(errors.TimeoutError, TimeoutError)  # builtins still catch it
    assert issubclass(errors.ValidationError, ValueError)
    for cls in (errors.TokenInvalidError, errors.RateLimitedError, errors.ServerError):
        assert issubclass(cls, errors.APIError)
    for cls in (errors.AppDisabledError, errors.InvalidCredentialsError, errors.EncryptionKeyError):
        assert issubclass(cls, errors.ConfigError)
    for cls in (errors.SignatureError, errors.ReplayError, errors.DecryptError):
        assert issubclass(cls, errors.CallbackError)


def test_backoff_doubles_with_bounded_jitter() -> None:
    policy = RetryPolicy(jitter=0.1)
    rng = random.Random(7)
    for n, base in enumerate([1.0, 2.0, 4.0, 8.0, 8.0]):
        delay = policy.backoff(n, rng)
        assert base <= delay <= base * 1.1


def test_decide_respects_max_retries_and_retryability() -> None:
    policy = RetryPolicy(max_retries=2, jitter=0)
    busy = errors.ServerError("busy")
    assert policy.decide(busy, retry_number=0, waited=0) is not None
    assert policy.decide(busy, retry_number=2, waited=0) is None
    assert policy.decide(errors.InvalidParameterError("no"), retry_number=0, waited=0) is None
    assert (
        policy.decide(errors.TokenInvalidError("t", retryable=True), retry_number=0, waited=0)
        is None
    )

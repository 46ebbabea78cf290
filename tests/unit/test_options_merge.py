"""RequestOptions.merge on the per-call path: the same value and the same refusals as a
full rebuild, checking only the changed fields."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from lark_service import errors
from lark_service._options import RequestOptions
from lark_service._retry import NO_RETRY


def test_merge_equals_a_full_rebuild() -> None:
    base = RequestOptions(app_id="cli_a", headers=(("X-A", "1"),), timeout=3.0)
    merged = base.merge(app_id="cli_b", pacing_key="ou_1", idempotent=False, headers={"X-B": "2"})
    rebuilt = dataclasses.replace(
        base, app_id="cli_b", pacing_key="ou_1", idempotent=False,
        headers=(("X-A", "1"), ("X-B", "2")),
    )  # fmt: skip
    assert merged == rebuilt and type(merged) is RequestOptions
    assert hash(merged) == hash(rebuilt)
    assert base.app_id == "cli_a"  # the original is untouched
    assert base.merge() is base and base.merge(app_id=None) is base
    assert base.merge(user="ou_x").token_kind == "user"
    with pytest.raises(dataclasses.FrozenInstanceError):
        merged.app_id = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes",
    [{"app_id": ""}, {"app_id": 5}, {"pacing_key": " "}, {"token": "bot"},
     {"retry": 3}, {"timeout": 0}, {"timeout": True}, {"idempotent": "no"},
     {"headers": {"Bad Name": "x"}}, {"headers": {"X-A": "a\r\nb"}}, {"error_context": 1}],
)  # fmt: skip
def test_merge_refuses_what_the_constructor_refuses(changes: dict[str, object]) -> None:
    with pytest.raises(errors.ValidationError):
        RequestOptions().merge(**changes)


def test_merge_keeps_valid_values_of_every_kind() -> None:
    merged = RequestOptions().merge(retry=NO_RETRY, timeout=httpx.Timeout(2.0), pace=False)
    assert merged.retry is NO_RETRY and merged.pace is False
    with pytest.raises(TypeError):
        RequestOptions().merge(no_such_option=1)

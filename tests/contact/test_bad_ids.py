"""Ids that cannot be one URL path segment are refused before the cache or Feishu is asked
(``.``/``..`` would rewrite the endpoint; a lone surrogate used to escape from the cache as a
UnicodeEncodeError)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lark_service import LarkClient
from lark_service.errors import ValidationError
from lark_service.testing import Emulator

BAD = [".", "..", "a/b", "a/../b", "a\\b", "ok\nnext", "\ud800", "x" * 10_000]

CALLS: list[Any] = [
    pytest.param(lambda c, v: c.contact.get_user(v), id="get_user"),
    pytest.param(lambda c, v: c.contact.get_user(v, refresh=True), id="get_user-refresh"),
    pytest.param(lambda c, v: c.contact.resolve(v, id_type="user_id"), id="resolve"),
    pytest.param(lambda c, v: c.contact.get_department(v), id="get_department"),
    pytest.param(lambda c, v: c.contact.get_department_users(v), id="get_department_users"),
    pytest.param(lambda c, v: c.contact.get_department_tree(v), id="get_department_tree"),
    pytest.param(lambda c, v: c.contact.list_department_users(v), id="list_department_users"),
    pytest.param(lambda c, v: c.contact.list_child_departments(v), id="list_child_departments"),
]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("call", CALLS)
def test_bad_ids_are_refused_before_anything(
    emu: Emulator, client: LarkClient, call: Callable[[LarkClient, str], Any], bad: str
) -> None:
    with pytest.raises(ValidationError):
        call(client, bad)
    assert emu.requests() == []


def test_an_email_with_a_lone_surrogate_is_not_an_address(
    emu: Emulator, client: LarkClient
) -> None:
    for call in (
        lambda: client.contact.get_user_by_email("\ud800@example.com"),
        lambda: client.contact.get_users_by_emails(["alice@example.com", "a\ud800@example.com"]),
        lambda: client.contact.resolve("\ud800@example.com"),
    ):
        with pytest.raises(ValidationError):
            call()
    assert emu.requests() == []


def test_batch_lookups_refuse_what_is_not_a_list_of_strings(
    emu: Emulator, client: LarkClient
) -> None:
    bad: list[Any] = [None, 5, b"alice@example.com", [None], [["alice@example.com"]]]
    for value in bad:
        with pytest.raises(ValidationError):
            client.contact.get_users_by_emails(value)
        with pytest.raises(ValidationError):
            client.contact.get_users_by_mobiles(value)
    assert emu.requests() == []


def test_on_progress_must_be_callable(emu: Emulator, client: LarkClient) -> None:
    with pytest.raises(ValidationError):
        client.contact.get_department_users("be", on_progress=5)  # type: ignore[arg-type]
    assert emu.requests() == []

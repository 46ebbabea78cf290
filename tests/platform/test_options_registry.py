"""``with_options`` / ``as_user`` rebuild every registered domain (issue 9.1), whatever
domains exist: a domain added later is covered by these tests without editing them."""

from __future__ import annotations

import pytest

from lark_service import (
    AsyncLarkClient,
    AsyncResource,
    LarkClient,
    RequestOptions,
    Resource,
    RetryPolicy,
    errors,
)
from lark_service.domains import registered_domains
from lark_service.testing import FAST_RETRY, Emulator

from ..unit._mock import ScriptedFeishu
from .conftest import APP_A, APP_B

NEW_RETRY = RetryPolicy(max_retries=7, base_delay=0.0, max_delay=0.0, jitter=0.0)
DOMAINS = sorted(registered_domains())


def test_the_built_in_domains_are_discovered() -> None:
    assert {"messaging", "cards", "contact", "chats"} <= set(DOMAINS)


@pytest.mark.parametrize("name", DOMAINS)
def test_with_options_rebuilds_every_registered_domain(
    name: str, feishu: ScriptedFeishu, scripted: LarkClient
) -> None:
    before = getattr(scripted, name)  # made (and cached) with the default options first
    view = scripted.with_options(app_id="cli_other", retry=NEW_RETRY, headers={"X-Trace": "1"})
    domain = getattr(view, name)

    assert isinstance(domain, Resource), f"domain {name!r} does not subclass Resource"
    assert domain is not before
    assert domain._options == view.options
    assert domain._options.app_id == "cli_other"
    assert domain._options.retry is NEW_RETRY
    assert ("X-Trace", "1") in domain._options.headers
    # the original client keeps its own options
    assert getattr(scripted, name) is before
    assert before._options == RequestOptions()


@pytest.mark.anyio
@pytest.mark.parametrize("name", DOMAINS)
async def test_async_with_options_rebuilds_every_registered_domain(
    name: str, feishu: ScriptedFeishu
) -> None:
    async with AsyncLarkClient(
        APP_A[0], APP_A[1], base_url="https://feishu.test", transport=feishu.async_transport()
    ) as client:
        domain = getattr(client.with_options(app_id="cli_other", retry=NEW_RETRY), name)
        assert isinstance(domain, AsyncResource), f"domain {name!r} is not an AsyncResource"
        assert domain._options.app_id == "cli_other"
        assert domain._options.retry is NEW_RETRY


@pytest.mark.parametrize("name", DOMAINS)
def test_as_user_reaches_every_registered_domain(name: str, scripted: LarkClient) -> None:
    domain = getattr(scripted.as_user("ou_x"), name)
    assert domain._options.user == "ou_x"
    assert domain._options.token_kind == "user"


def test_with_options_app_id_sends_as_that_app_and_per_call_app_id_wins(
    emu: Emulator, registered_b: str
) -> None:
    with LarkClient(APP_A[0], APP_A[1], base_url=emu.url, retry=FAST_RETRY) as client:
        as_b = client.with_options(app_id=registered_b)
        as_b.messaging.send_text_message("oc_platform", "as b")
        as_b.messaging.send_text_message("oc_platform", "as a", app_id=APP_A[0])
        as_b.chats.get_chat("oc_platform")
        client.messaging.send_text_message("oc_platform", "default a")

    assert [m.app_id for m in emu.messages()] == [APP_B[0], APP_A[0], APP_A[0]]
    (get_chat,) = emu.requests(method="GET", path="/open-apis/im/v1/chats/oc_platform")
    assert get_chat.app_id == APP_B[0]


def test_with_options_retry_is_used_by_domain_calls(emu: Emulator, client: LarkClient) -> None:
    emu.inject_fault("/open-apis/im/v1/messages", "status", count=2, status=500)
    with pytest.raises(errors.ServerError):
        client.with_options(retry=RetryPolicy(max_retries=0)).messaging.send_text_message(
            "oc_platform", "no retry"
        )
    assert len(emu.requests(method="POST", path="/open-apis/im/v1/messages")) == 1
    # the client's own policy (FAST_RETRY, three retries) still applies without the view
    client.messaging.send_text_message("oc_platform", "retried")
    assert len(emu.requests(method="POST", path="/open-apis/im/v1/messages")) == 3


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.messaging.send_text_message("ou_alice", "hi"),
        lambda c: c.chats.get_chat("oc_platform"),
        lambda c: c.chats.list_chats().to_list(),
        lambda c: c.contact.get_user("ou_alice"),
        lambda c: c.request("GET", "/open-apis/im/v1/chats"),
    ],
    ids=["messaging", "chats.get", "chats.list", "contact", "request"],
)
def test_as_user_without_a_stored_token_names_the_user_before_any_request(
    emu: Emulator, client: LarkClient, call: object
) -> None:
    with pytest.raises(errors.UserTokenMissingError) as info:
        call(client.as_user("ou_x"))  # type: ignore[operator]
    assert "no user token stored for" in str(info.value)
    assert "ou_x" in str(info.value)
    assert [r for r in emu.requests() if not r.path.startswith("/open-apis/auth/")] == []


def test_with_options_user_is_as_user(emu: Emulator, client: LarkClient) -> None:
    with pytest.raises(errors.UserTokenMissingError, match="no user token stored for ou_y"):
        client.with_options(user="ou_y").messaging.send_text_message("ou_alice", "hi")
    assert emu.requests(path="/open-apis/im/*") == []


@pytest.mark.parametrize("bad", ["", "   ", None, 5])
def test_as_user_needs_an_open_id(scripted: LarkClient, bad: object) -> None:
    with pytest.raises(errors.ValidationError):
        scripted.as_user(bad)  # type: ignore[arg-type]


def test_with_options_shares_the_token_and_connections(emu: Emulator, client: LarkClient) -> None:
    for _ in range(3):
        client.with_options(retry=NEW_RETRY).messaging.send_text_message("oc_platform", "x")
    assert emu.token_fetches(APP_A[0]) == 1

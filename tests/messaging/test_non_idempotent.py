"""Writes that must not be repeated blindly (edits, recalls, uploads, card updates by token):
after a failure Feishu may have processed — the answer lost after the write was applied, a
5xx — they raise instead of being retried; a rate limit is still waited out and retried."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from lark_service import AsyncLarkClient, LarkClient, errors
from lark_service.cards import Card
from lark_service.testing import Emulator
from lark_service.testing.emulator.routes_im import im_state

from .conftest import APP_ID, CHAT, PNG, SECRET

MESSAGES = "/open-apis/im/v1/messages"
TIMEOUT = 0.3
LATE = 0.6  # the write is applied at once; its answer comes after the client gave up


class Twin:
    """A client of either kind with a short timeout; ``call(fn)`` runs ``fn(messaging)`` and
    awaits it for the async one."""

    def __init__(self, kind: str, emu: Emulator) -> None:
        self.kind = kind
        self.emu = emu
        self.loop: asyncio.AbstractEventLoop | None = None
        if kind == "sync":
            self.client: Any = LarkClient(APP_ID, SECRET, base_url=emu.url, timeout=TIMEOUT)
        else:
            self.loop = asyncio.new_event_loop()

            async def make() -> AsyncLarkClient:
                return AsyncLarkClient(APP_ID, SECRET, base_url=emu.url, timeout=TIMEOUT)

            self.client = self.loop.run_until_complete(make())

    def call(self, fn: Callable[[Any], Any]) -> Any:
        result = fn(self.client.messaging)
        if self.loop is not None:
            return self.loop.run_until_complete(result)
        return result

    def close(self) -> None:
        if self.loop is None:
            self.client.close()
            return
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@pytest.fixture(params=["sync", "async"])
def twin(request: pytest.FixtureRequest, emu: Emulator) -> Iterator[Twin]:
    client = Twin(request.param, emu)
    try:
        yield client
    finally:
        client.close()


def settle(emu: Emulator, method: str, path: str, count: int) -> None:
    """Wait until the emulator has answered ``count`` such calls (a late answer finishes after
    the client gave up), so it cannot leak into the next test."""
    deadline = time.monotonic() + 10
    while len(emu.requests(method=method, path=path)) < count:
        assert time.monotonic() < deadline, "the late answer never completed"
        time.sleep(0.02)


def test_an_edit_whose_answer_is_lost_is_applied_once_and_raises(twin: Twin, emu: Emulator) -> None:
    sent = twin.call(lambda m: m.send_text_message(CHAT, "draft"))
    path = f"{MESSAGES}/{sent.message_id}"
    im_state(emu).answer_late(LATE)

    with pytest.raises(errors.TransportError) as info:
        twin.call(lambda m: m.edit_message(sent.message_id, "final"))

    assert isinstance(info.value, errors.TimeoutError) and info.value.request_sent
    settle(emu, "PUT", path, 1)
    assert len(emu.requests(method="PUT", path=path)) == 1  # not retried
    stored = emu.state.get_message(sent.message_id)
    assert stored is not None
    assert stored.attrs["edit_count"] == 1  # one of the 20 edits, not two
    assert stored.content == {"text": "final"}


def test_a_recall_whose_answer_is_lost_raises_a_transport_error(twin: Twin, emu: Emulator) -> None:
    """Retried, the recall would answer 230011 (NotFoundError) for a recall that worked."""
    sent = twin.call(lambda m: m.send_text_message(CHAT, "oops"))
    path = f"{MESSAGES}/{sent.message_id}"
    im_state(emu).answer_late(LATE)

    with pytest.raises(errors.TransportError):
        twin.call(lambda m: m.recall_message(sent.message_id))

    settle(emu, "DELETE", path, 1)
    assert len(emu.requests(method="DELETE", path=path)) == 1
    assert twin.call(lambda m: m.get_message(sent.message_id)).deleted is True


def test_an_upload_whose_answer_is_lost_is_stored_once(twin: Twin, emu: Emulator) -> None:
    im_state(emu).answer_late(LATE)

    with pytest.raises(errors.TransportError):
        twin.call(lambda m: m.send_image_message(CHAT, PNG))  # uploads first

    settle(emu, "POST", "/open-apis/im/v1/images", 1)
    assert len(im_state(emu).uploads) == 1  # not uploaded twice
    assert emu.messages() == []  # and nothing sent with an unknown key

    im_state(emu).answer_late(LATE)
    with pytest.raises(errors.TransportError):
        twin.call(lambda m: m.upload_file(b"%PDF-1.7 x", file_name="a.pdf"))
    settle(emu, "POST", "/open-apis/im/v1/files", 1)
    assert len(im_state(emu).uploads) == 2


def test_a_5xx_on_an_edit_is_not_retried(twin: Twin, emu: Emulator) -> None:
    sent = twin.call(lambda m: m.send_text_message(CHAT, "draft"))
    path = f"{MESSAGES}/{sent.message_id}"
    emu.inject_fault(path, "status", method="PUT", status=502)

    with pytest.raises(errors.ServerError):
        twin.call(lambda m: m.edit_message(sent.message_id, "final"))

    assert len(emu.requests(method="PUT", path=path)) == 1


def test_rate_limits_are_still_waited_out(twin: Twin, emu: Emulator, sleeps: list[float]) -> None:
    """A throttled write was surely not applied: it is retried after the reset header."""
    sent = twin.call(lambda m: m.send_text_message(CHAT, "draft"))
    path = f"{MESSAGES}/{sent.message_id}"
    emu.inject_fault(path, "rate_limit", method="PUT", reset=2)
    emu.inject_fault(path, "rate_limit", method="DELETE", reset=3)

    twin.call(lambda m: m.edit_message(sent.message_id, "final"))
    twin.call(lambda m: m.recall_message(sent.message_id))

    assert [r.fault for r in emu.requests(method="PUT", path=path)] == ["rate_limit", None]
    assert [r.fault for r in emu.requests(method="DELETE", path=path)] == ["rate_limit", None]
    assert 2 in sleeps and 3 in sleeps
    stored = emu.state.get_message(sent.message_id)
    assert stored is not None and stored.attrs["edit_count"] == 1 and stored.deleted


# -- update_card_by_token: its token works twice, so a blind retry could use it up ----------

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
UPDATE_PATH = "/open-apis/interactive/v1/card/update"


class LosingFeishu:
    """Applies every card update, then fails the answer as told: ``"timeout"`` (the answer
    never comes), ``"drop"`` (the connection closes) or ``"502"``."""

    def __init__(self, failure: str) -> None:
        self.failure = failure
        self.applied: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            return httpx.Response(
                200, json={"code": 0, "msg": "ok", "tenant_access_token": "t-x", "expire": 7200}
            )
        assert request.url.path == UPDATE_PATH
        self.applied.append(json.loads(request.content))
        if self.failure == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if self.failure == "drop":
            raise httpx.RemoteProtocolError("Server disconnected", request=request)
        return httpx.Response(502, text="<html><body>502 Bad Gateway</body></html>")


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        ("timeout", errors.TimeoutError),
        ("drop", errors.TransportError),
        ("502", errors.ServerError),
    ],
)
def test_update_card_by_token_is_not_retried(
    failure: str, error: type[errors.LarkError], sleeps: list[float]
) -> None:
    feishu = LosingFeishu(failure)
    with (
        LarkClient(
            "cli_x",
            "s",
            base_url="https://feishu.test",
            transport=httpx.MockTransport(feishu.handle),
        ) as client,
        pytest.raises(error),
    ):
        client.cards.update_card_by_token("c-1", Card("Done").markdown("ok"))
    assert len(feishu.applied) == 1  # one use of the token, not two
    assert sleeps == []


@pytest.mark.anyio
async def test_async_update_card_by_token_is_not_retried() -> None:
    feishu = LosingFeishu("timeout")

    async def handle(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return feishu.handle(request)

    async with AsyncLarkClient(
        "cli_x", "s", base_url="https://feishu.test", transport=httpx.MockTransport(handle)
    ) as client:
        with pytest.raises(errors.TimeoutError):
            await client.cards.update_card_by_token("c-1", {"elements": []})
    assert len(feishu.applied) == 1

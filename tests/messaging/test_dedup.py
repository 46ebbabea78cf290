"""A send whose first attempt times out is retried with the same uuid: one message, never two."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from lark_service import AsyncLarkClient, LarkClient
from lark_service.testing import Emulator
from lark_service.testing.emulator.routes_im import im_state

from .conftest import APP_ID, CHAT, SECRET

MESSAGES = "/open-apis/im/v1/messages"


class Recording(httpx.BaseTransport):
    """A real HTTP transport that keeps the JSON bodies sent to the messages endpoint."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.bodies: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == MESSAGES:
            self.bodies.append(json.loads(request.read()))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class AsyncRecording(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.bodies: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == MESSAGES:
            self.bodies.append(json.loads(await request.aread()))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def send_with_short_timeout(emu: Emulator, kind: str) -> tuple[Any, list[dict[str, Any]]]:
    """Send one text with a 0.3 s read timeout, through the sync or the async client."""
    if kind == "sync":
        transport = Recording()
        with LarkClient(APP_ID, SECRET, base_url=emu.url, timeout=0.3, transport=transport) as c:
            return c.messaging.send_text_message(CHAT, "exactly once"), transport.bodies

    async def run() -> tuple[Any, list[dict[str, Any]]]:
        atransport = AsyncRecording()
        async with AsyncLarkClient(
            APP_ID, SECRET, base_url=emu.url, timeout=0.3, transport=atransport
        ) as c:
            return await c.messaging.send_text_message(CHAT, "exactly once"), atransport.bodies

    return asyncio.run(run())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_timeout_then_success_sends_one_message(
    emu: Emulator, kind: str, sleeps: list[float]
) -> None:
    emu.inject_fault(MESSAGES, "timeout", count=1, max_seconds=10)

    message, bodies = send_with_short_timeout(emu, kind)

    assert len(bodies) == 2  # the timed-out attempt and the retry
    assert bodies[0]["uuid"] == bodies[1]["uuid"]  # one uuid per logical send
    (stored,) = emu.messages()
    assert stored.message_id == message.message_id
    assert stored.uuid == bodies[0]["uuid"]
    attempts = emu.requests(path=MESSAGES)
    assert [r.fault for r in attempts] == ["timeout", None]
    assert attempts[0].request_id == attempts[1].request_id
    assert len(sleeps) == 1  # one backoff before the retry (patched, not slept)


def settle(emu: Emulator, path: str, count: int) -> None:
    """Wait until the emulator has finished answering ``count`` calls to ``path`` (the late
    answer keeps running after the client gave up), so it cannot leak into the next test."""
    deadline = time.monotonic() + 10
    while len(emu.requests(path=path)) < count:
        assert time.monotonic() < deadline, "the late answer never completed"
        time.sleep(0.02)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_stored_but_answered_late_is_deduplicated(emu: Emulator, kind: str) -> None:
    """The first attempt *is* stored, its answer comes too late; the retry's uuid finds it."""
    im_state(emu).answer_late(0.6)

    message, bodies = send_with_short_timeout(emu, kind)

    assert len(bodies) == 2 and bodies[0]["uuid"] == bodies[1]["uuid"]
    (stored,) = emu.messages()
    assert stored.message_id == message.message_id
    settle(emu, MESSAGES, 2)


def test_separate_sends_get_separate_uuids(client: LarkClient, emu: Emulator) -> None:
    client.messaging.send_text_message(CHAT, "same text")
    client.messaging.send_text_message(CHAT, "same text")
    uuids = [m.uuid for m in emu.messages()]
    assert len(uuids) == 2 and len(set(uuids)) == 2
    assert all(u and len(u) <= 50 for u in uuids)


def test_reply_answered_late_is_deduplicated(emu: Emulator) -> None:
    with LarkClient(APP_ID, SECRET, base_url=emu.url, timeout=0.3) as client:
        root = client.messaging.send_text_message(CHAT, "root")
        im_state(emu).answer_late(0.6)
        reply = client.messaging.reply_message(root.message_id, "only once")
    replies = [m for m in emu.messages() if m.parent_id == root.message_id]
    assert [m.message_id for m in replies] == [reply.message_id]
    settle(emu, f"{MESSAGES}/{root.message_id}/reply", 2)

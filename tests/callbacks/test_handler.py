"""The framework-neutral callback core: ``CallbackHandler.handle`` / ``ahandle``, its events,
and the key cache noticing a disabled app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from lark_service import instrumentation
from lark_service.callbacks import (
    CallbackHandler,
    CallbackRouter,
    CardResponse,
    StaticKeys,
    Toast,
    crypto,
)
from lark_service.callbacks.simulate import card_action_payload, message_event_payload

from ._support import APP, EK, VT, FakeClock, sign, wait_until


@pytest.fixture
def handlers() -> Iterator[list[CallbackHandler]]:
    made: list[CallbackHandler] = []
    yield made
    for handler in made:
        handler.close()


def make(
    handlers: list[CallbackHandler],
    router: CallbackRouter,
    keys: StaticKeys,
    db_url: str,
    clock: FakeClock,
) -> CallbackHandler:
    handler = CallbackHandler(router, keys=keys, database_url=db_url, clock=clock)
    handlers.append(handler)
    return handler


def test_handle_from_sync_code_verifies_stores_dispatches_and_answers(
    handlers: list[CallbackHandler],
    router: CallbackRouter,
    keys: StaticKeys,
    db_url: str,
    clock: FakeClock,
) -> None:
    texts: list[str] = []
    router.event("im.message.receive_v1")(lambda e: texts.append(e.message.text))
    router.card_action()(lambda e: CardResponse(toast=Toast("ok")))
    handler = make(handlers, router, keys, db_url, clock)
    headers, body = sign(message_event_payload(APP, "hi", verification_token=VT), clock)
    assert handler.handle("event", APP, headers, body) == (200, {"msg": "success"})
    assert handler.handle("event", None, headers, body) == (200, {"msg": "success"})  # replay
    wait_until(lambda: texts == ["hi"], what="the handler")
    headers, body = sign(card_action_payload(APP, value={}, verification_token=VT), clock)
    status, answer = handler.handle("card", APP, headers, body)
    assert status == 200 and answer == {"toast": {"type": "info", "content": "ok"}}
    status, answer = handler.handle("card", APP, {**headers, "X-Lark-Signature": "0" * 64}, body)
    assert status == 401 and "signature" in answer["msg"]
    assert handler.running
    handler.close()
    assert not handler.running
    assert texts == ["hi"]


@pytest.mark.anyio
async def test_ahandle_from_async_code_on_its_own_loop_or_started_lazily(
    handlers: list[CallbackHandler],
    router: CallbackRouter,
    keys: StaticKeys,
    db_url: str,
    clock: FakeClock,
) -> None:
    texts: list[str] = []
    router.event("im.message.receive_v1")(lambda e: texts.append(e.message.text))
    lazy = make(handlers, router, keys, db_url, clock)
    headers, body = sign(message_event_payload(APP, "lazy", verification_token=VT), clock)
    assert await lazy.ahandle("event", APP, headers, body) == (200, {"msg": "success"})
    lazy.close()

    started = make(handlers, router, keys, db_url, clock)
    async with started.lifespan():
        assert started.running
        headers, body = sign(message_event_payload(APP, "own", verification_token=VT), clock)
        assert await started.ahandle("event", APP, headers, body) == (200, {"msg": "success"})
        with pytest.raises(RuntimeError, match="ahandle"):
            started.handle("event", APP, headers, body)  # would block its own loop
        # another thread's sync call is run on the handler's loop
        assert await asyncio.to_thread(started.handle, "event", APP, headers, body) == (
            200,
            {"msg": "success"},
        )
        await started.dispatcher.join()  # type: ignore[attr-defined]
    assert await started.ahandle("event", APP, headers, body) == (
        503,
        {"code": 503, "msg": "server is shutting down"},
    )
    assert sorted(texts) == ["lazy", "own"]


def test_the_handler_emits_received_verified_stored_duplicate_rejected(
    handlers: list[CallbackHandler],
    router: CallbackRouter,
    keys: StaticKeys,
    db_url: str,
    clock: FakeClock,
) -> None:
    handler = make(handlers, router, keys, db_url, clock)
    headers, body = sign(message_event_payload(APP, "x", verification_token=VT), clock)
    with instrumentation.EventRecorder(prefix="callback.") as events:
        handler.handle("event", APP, headers, body)
        handler.handle("event", APP, headers, body)
        handler.handle("event", "cli_nobody", headers, body)
        handler.handle("event", APP, headers, body[:-3])
    mine = [
        (e.name, e.app_id)
        for e in events.events
        if e.name
        in {
            "callback.received",
            "callback.verified",
            "callback.stored",
            "callback.duplicate",
            "callback.rejected",
        }
    ]
    assert mine == [
        ("callback.received", APP),
        ("callback.verified", APP),
        ("callback.stored", APP),
        ("callback.received", APP),
        ("callback.verified", APP),
        ("callback.duplicate", APP),
        ("callback.received", "cli_nobody"),
        ("callback.rejected", "cli_nobody"),
        ("callback.received", APP),
        ("callback.rejected", APP),
    ]
    stored = events.named("callback.stored")[0]
    assert stored["kind"] == "event" and stored["event_type"] == "im.message.receive_v1"
    rejected = [(e["reason"], e["status"]) for e in events.named("callback.rejected")]
    assert rejected == [("unknown_app", 404), ("malformed", 400)]


def test_one_handler_or_a_router_with_options_not_both(router: CallbackRouter) -> None:
    from lark_service.integrations._common import build_handler

    with pytest.raises(TypeError):
        build_handler(router, object(), {})
    assert build_handler(None, "h", {}) == "h"


def test_a_disabled_app_is_refused_within_two_seconds() -> None:
    """The key cache follows the registry's live snapshot (re-checked every second), not a
    30 s lifetime of its own."""
    from click.testing import CliRunner

    from lark_service.apps import AppRegistry
    from lark_service.callbacks import RegistryKeys
    from lark_service.cli import cli
    from lark_service.config import get_settings

    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    args = [
        "app",
        "add",
        "cli_live",
        "--secret",
        "s3",
        "--encrypt-key",
        "ek",
        "--verification-token",
        "vt",
    ]
    assert runner.invoke(cli, args).exit_code == 0
    clock = FakeClock(1000.0)
    registry = AppRegistry.from_settings(get_settings(), clock=clock)
    lookup = RegistryKeys(registry, ttl=30, clock=clock)
    found = lookup.get("cli_live")
    assert found is not None and found.encrypt_key == "ek"
    clock.advance(1.5)
    assert lookup.peek("cli_live") is None  # the snapshot is stale: ask in a thread
    assert lookup.get("cli_live") is not None  # still active: from the key cache
    assert lookup.peek("cli_live") is not None  # fresh snapshot: answered from memory
    assert runner.invoke(cli, ["app", "disable", "cli_live"]).exit_code == 0  # another process
    clock.advance(1.5)
    assert lookup.get("cli_live") is None  # refused well within 2 s, not 30
    assert lookup.default_app_id() is None and lookup.peek(None) is None
    assert runner.invoke(cli, ["app", "enable", "cli_live"]).exit_code == 0
    clock.advance(1.5)
    again = lookup.get("cli_live")
    assert again is not None and again.verification_token == "vt"
    assert lookup.default_app_id() == "cli_live"


@pytest.mark.anyio
async def test_a_disabled_apps_callbacks_are_answered_404_within_two_seconds(
    router: CallbackRouter, db_url: str
) -> None:
    from click.testing import CliRunner

    from lark_service.apps import AppRegistry
    from lark_service.callbacks import RegistryKeys
    from lark_service.cli import cli
    from lark_service.config import get_settings

    from ._support import EK

    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    add = ["app", "add", APP, "--secret", "s3", "--encrypt-key", EK, "--verification-token", VT]
    assert runner.invoke(cli, add).exit_code == 0
    clock = FakeClock()
    registry = AppRegistry.from_settings(get_settings(), clock=clock)
    handler = CallbackHandler(
        router, keys=RegistryKeys(registry, clock=clock), database_url=db_url, clock=clock
    )
    async with handler.lifespan():
        for path_app in (APP, None):
            headers, body = sign(message_event_payload(APP, "a", verification_token=VT), clock)
            assert (await handler.ahandle("event", path_app, headers, body))[0] == 200
        assert runner.invoke(cli, ["app", "disable", APP]).exit_code == 0
        clock.advance(1.5)
        for path_app in (APP, None):
            headers, body = sign(message_event_payload(APP, "b", verification_token=VT), clock)
            assert (await handler.ahandle("event", path_app, headers, body))[0] == 404


def test_a_poison_callback_is_answered_400_and_the_next_one_is_stored(
    handlers: list[CallbackHandler],
    router: CallbackRouter,
    keys: StaticKeys,
    db_url: str,
    clock: FakeClock,
) -> None:
    # a signed, well-formed payload whose text holds a lone surrogate cannot be stored: it is
    # refused alone (400, so Feishu does not push it forever), and callbacks after it commit
    texts: list[str] = []
    router.event("im.message.receive_v1")(lambda e: texts.append(e.message.text))
    handler = make(handlers, router, keys, db_url, clock)
    with instrumentation.EventRecorder(prefix="callback.rejected") as rejected:
        poison = message_event_payload(APP, "bad \ud800", verification_token=VT)
        raw = json.dumps({"encrypt": crypto.encrypt(EK, json.dumps(poison).encode("ascii"))})
        ts, nonce = str(int(clock())), "n1"
        headers = {
            "X-Lark-Request-Timestamp": ts,
            "X-Lark-Request-Nonce": nonce,
            "X-Lark-Signature": crypto.event_signature(ts, nonce, EK, raw.encode()),
        }
        status, answer = handler.handle("event", APP, headers, raw.encode())
    assert status == 400, answer
    assert [e["reason"] for e in rejected.events] == ["malformed"]
    headers, body = sign(message_event_payload(APP, "fine", verification_token=VT), clock)
    assert handler.handle("event", APP, headers, body) == (200, {"msg": "success"})
    wait_until(lambda: texts == ["fine"], what="the handler")

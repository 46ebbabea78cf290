"""The FastAPI callback server over the ASGI transport: answers, dedup, errors, lifecycle."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from lark_service.callbacks import (
    CallbackKeys,
    CallbackRouter,
    CardResponse,
    Dispatcher,
    StaticKeys,
    Toast,
)
from lark_service.callbacks.dispatch import StorageUnavailableError, Submission
from lark_service.callbacks.simulate import (
    card_action_payload,
    legacy_card_payload,
    message_event_payload,
    signed_request,
    url_verification_payload,
)
from lark_service.callbacks.store import OutboxStore
from lark_service.server import ServerConfig, create_app

from ._support import APP, EK, VT, FakeClock, serve, sign

pytestmark = pytest.mark.anyio


def app_for(
    router: CallbackRouter, keys: StaticKeys, db_url: str, clock: FakeClock, **kw: Any
) -> Any:
    return create_app(router, keys=keys, database_url=db_url, clock=clock, **kw)


async def test_url_verification(
    router: CallbackRouter, keys: StaticKeys, db_url: str, clock: FakeClock
) -> None:
    async with serve(app_for(router, keys, db_url, clock)) as http:
        _, body = signed_request(url_verification_payload("abc", VT), encrypt_key=EK)
        for path in (f"/callbacks/{APP}/event", f"/callbacks/{APP}/card", "/callbacks/event"):
            r = await http.post(path, content=body)
            assert r.status_code == 200 and r.json() == {"challenge": "abc"}


async def test_card_click_answers_the_handlers_toast_and_card(
    router: CallbackRouter, keys: StaticKeys, db_url: str, clock: FakeClock
) -> None:
    seen: list[Any] = []

    @router.card_action(value_key="action", value="approve")
    def approve(event: Any) -> CardResponse:
        seen.append((event.action.value, event.operator.open_id, event.context.open_message_id))
        return CardResponse(toast=Toast("Approved", type="success"), card={"elements": ["ok"]})

    async with serve(app_for(router, keys, db_url, clock)) as http:
        payload = card_action_payload(
            APP,
            value={"action": "approve"},
            open_id="ou_a",
            open_message_id="om_a",
            verification_token=VT,
        )
        headers, body = sign(payload, clock)
        r = await http.post("/callbacks/card", headers=headers, content=body)
        assert r.status_code == 200
        assert r.json() == {
            "toast": {"type": "success", "content": "Approved"},
            "card": {"type": "raw", "data": {"elements": ["ok"]}},
        }
        # replaying the captured request: acknowledged, not run again
        again = await http.post("/callbacks/card", headers=headers, content=body)
        assert again.status_code == 200 and again.json() == {}
    assert seen == [({"action": "approve"}, "ou_a", "om_a")]
    assert OutboxStore(db_url).counts() == {"done": 1}


async def test_legacy_card_answer_is_the_card(
    router: CallbackRouter, keys: StaticKeys, db_url: str, clock: FakeClock
) -> None:
    router.card_action()(lambda e: {"elements": ["new"]})
    async with serve(app_for(router, keys, db_url, clock)) as http:
        headers, body = signed_request(
            legacy_card_payload(value={"x": 1}),
            verification_token=VT,
            legacy=True,
            timestamp=str(int(clock())),
        )
        r = await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
        assert r.status_code == 200 and r.json() == {"elements": ["new"]}


async def test_events_are_acknowledged_at_once_and_run_once(
    router: CallbackRouter, keys: StaticKeys, db_url: str, clock: FakeClock
) -> None:
    texts: list[str] = []
    router.event("im.message.receive_v1")(lambda e: texts.append(e.message.text))
    app = app_for(router, keys, db_url, clock)
    async with serve(app) as http:
        payload = message_event_payload(APP, "hello", message_id="om_x", verification_token=VT)
        headers, body = sign(payload, clock)
        r = await http.post(f"/callbacks/{APP}/event", headers=headers, content=body)
        assert r.status_code == 200 and r.json() == {"msg": "success"}
        # Feishu re-pushes the same message under a new event id: still a duplicate
        repush = message_event_payload(APP, "hello", message_id="om_x", verification_token=VT)
        headers2, body2 = sign(repush, clock)
        r2 = await http.post(f"/callbacks/{APP}/event", headers=headers2, content=body2)
        assert r2.status_code == 200
        await app.state.callbacks.dispatcher.join()
    assert texts == ["hello"]


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda h, b: (h, b[:-5]), 400),
        (lambda h, b: ({**h, "X-Lark-Signature": "f" * 64}, b), 401),
        (lambda h, b: ({k: v for k, v in h.items() if k != "X-Lark-Signature"}, b), 401),
        (lambda h, b: ({**h, "X-Lark-Request-Timestamp": "1"}, b), 401),
        (lambda h, b: (h, b"[]"), 400),
        (lambda h, b: (h, b"{" + b" " * 5000 + b"}"), 413),
    ],
)
async def test_rejections_have_the_right_status_and_no_trace(
    router: CallbackRouter,
    keys: StaticKeys,
    db_url: str,
    clock: FakeClock,
    mutate: Any,
    status: int,
) -> None:
    ran: list[int] = []
    router.card_action()(lambda e: ran.append(1))
    app = app_for(router, keys, db_url, clock, config=ServerConfig(max_body=4096))
    async with serve(app) as http:
        headers, body = mutate(
            *sign(card_action_payload(APP, value={}, verification_token=VT), clock)
        )
        r = await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
    assert r.status_code == status
    assert set(r.json()) == {"code", "msg"} and "Traceback" not in r.text
    assert EK not in r.text and VT not in r.text
    assert ran == []


async def test_unknown_app_is_404(
    router: CallbackRouter, keys: StaticKeys, db_url: str, clock: FakeClock
) -> None:
    async with serve(app_for(router, keys, db_url, clock)) as http:
        r = await http.post("/callbacks/cli_unknown/event", content=b"{}")
    assert r.status_code == 404


async def test_default_routes_need_a_default_app(
    router: CallbackRouter, db_url: str, clock: FakeClock
) -> None:
    two = StaticKeys(CallbackKeys("cli_1", encrypt_key=EK), CallbackKeys("cli_2", encrypt_key=EK))
    async with serve(app_for(router, two, db_url, clock)) as http:
        r = await http.post("/callbacks/event", content=b"{}")
    assert r.status_code == 404 and "default app" in r.json()["msg"]


class BrokenStoreDispatcher(Dispatcher):
    def __init__(self, db_url: str) -> None:
        self.store = OutboxStore(db_url)

    async def submit(self, verified: Any) -> Submission:
        raise StorageUnavailableError("database down")


async def test_not_stored_means_no_success(keys: StaticKeys, db_url: str, clock: FakeClock) -> None:
    app = create_app(keys=keys, dispatcher=BrokenStoreDispatcher(db_url), clock=clock)
    async with serve(app) as http:
        headers, body = sign(card_action_payload(APP, value={}, verification_token=VT), clock)
        r = await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
    assert r.status_code == 503


async def test_health_readiness_and_shutdown(
    router: CallbackRouter, keys: StaticKeys, db_url: str, clock: FakeClock
) -> None:
    import httpx

    app = app_for(router, keys, db_url, clock)
    async with serve(app) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["database"] == "ok"
    # after shutdown the app refuses new callbacks instead of acknowledging them
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        headers, body = sign(card_action_payload(APP, value={}, verification_token=VT), clock)
        r = await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
        assert r.status_code == 503
        assert (await http.get("/readyz")).status_code == 503


async def test_unknown_dispatcher_is_a_config_error(keys: StaticKeys, db_url: str) -> None:
    from lark_service.errors import ConfigError

    with pytest.raises(ConfigError):
        create_app(keys=keys, database_url=db_url, dispatcher="kafka")
    with pytest.raises(ConfigError):
        create_app(keys=keys, database_url=db_url, dispatcher="rabbitmq")


def test_single_app_mode_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from lark_service.callbacks import keys_from_settings
    from lark_service.config import get_settings

    monkeypatch.setenv("LARK_APP_ID", "cli_env")
    monkeypatch.setenv("LARK_ENCRYPT_KEY", "ek-env")
    monkeypatch.setenv("LARK_VERIFICATION_TOKEN", "vt-env")
    lookup = keys_from_settings(get_settings())
    found = lookup.get("cli_env")
    assert (
        found is not None and found.encrypt_key == "ek-env" and found.verification_token == "vt-env"
    )
    assert lookup.default_app_id() == "cli_env"
    assert "ek-env" not in repr(found) and "vt-env" not in repr(found)
    assert lookup.get("cli_other") is None  # no keys invented for other apps


def test_keys_come_from_the_app_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from lark_service.callbacks import keys_from_settings
    from lark_service.cli import cli
    from lark_service.config import get_settings

    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    added = runner.invoke(
        cli,
        [
            "app",
            "add",
            "cli_reg",
            "--secret",
            "s3",
            "--encrypt-key",
            "ek-reg",
            "--verification-token",
            "vt-reg",
        ],
    )
    assert added.exit_code == 0, added.output
    lookup = keys_from_settings(get_settings())
    found = lookup.get("cli_reg")
    assert found is not None and (found.encrypt_key, found.verification_token) == (
        "ek-reg",
        "vt-reg",
    )
    assert lookup.get("cli_missing") is None
    assert lookup.default_app_id() == "cli_reg"
    assert runner.invoke(cli, ["app", "disable", "cli_reg"]).exit_code == 0
    assert keys_from_settings(get_settings()).get("cli_reg") is None


# --- secrets never stored -------------------------------------------------------------------


def _registry_app(app_id: str, ek: str, vt: str) -> None:
    from click.testing import CliRunner

    from lark_service.cli import cli

    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    args = ["app", "add", app_id, "--secret", "s3cret-value"]
    added = runner.invoke(cli, [*args, "--encrypt-key", ek, "--verification-token", vt])
    assert added.exit_code == 0, added.output


async def test_no_verification_token_or_encrypt_key_in_any_database_file(
    router: CallbackRouter, clock: FakeClock
) -> None:
    """Callbacks of every shape through a registry-backed server: the app's verification
    token and encrypt key are in no byte of the state or config database (WAL included)."""
    from lark_service.config import get_settings
    from lark_service.storage import dispose_all

    ek, vt = "ek-never-stored-7f3a9c", "vt-never-stored-5b1e2d"
    _registry_app("cli_plain", ek, vt)
    home = get_settings().home
    ran: list[str] = []
    router.card_action()(lambda e: ran.append(e.event_type))
    router.event("*")(lambda e: ran.append(e.event_type))
    app = create_app(router, clock=clock)  # keys from the registry, state DB in LARK_HOME
    ts = str(int(clock()))
    async with serve(app) as http:
        requests = [
            (
                "card",
                signed_request(
                    card_action_payload("cli_plain", verification_token=vt),
                    encrypt_key=ek,
                    timestamp=ts,
                ),
            ),
            (
                "event",
                signed_request(
                    message_event_payload("cli_plain", "hi", verification_token=vt),
                    encrypt_key=ek,
                    timestamp=ts,
                ),
            ),
            (
                "event",
                signed_request(
                    {
                        "uuid": "u-1",
                        "token": vt,
                        "ts": ts,
                        "type": "event_callback",
                        "event": {"type": "x.y"},
                    },
                    encrypt_key=ek,
                    timestamp=ts,
                ),
            ),
            (
                "card",
                signed_request(
                    legacy_card_payload(), verification_token=vt, legacy=True, timestamp=ts
                ),
            ),
        ]
        for kind, (headers, body) in requests:
            r = await http.post(f"/callbacks/cli_plain/{kind}", headers=headers, content=body)
            assert r.status_code == 200, r.text
        await app.state.callbacks.dispatcher.join()
    assert len(ran) == 4
    dispose_all()
    files = [p for p in home.rglob("*.db*") if p.is_file()]
    assert {p.name for p in files} >= {"state.db", "config.db"}
    raw = b"".join(p.read_bytes() for p in files)
    assert b"cli_plain" in raw  # the callbacks are there...
    for secret in (ek, vt):  # ...their secrets are not
        assert secret.encode() not in raw


# --- several apps, one server ----------------------------------------------------------------


async def test_two_apps_receiving_the_same_group_message_both_handle_it(
    router: CallbackRouter, db_url: str, clock: FakeClock
) -> None:
    two = StaticKeys(
        CallbackKeys("cli_a", encrypt_key=EK, verification_token=VT),
        CallbackKeys("cli_b", encrypt_key=EK, verification_token=VT),
    )
    seen: list[tuple[str, str, str | None]] = []
    keys_seen: list[str | None] = []

    @router.event("im.message.receive_v1")
    def on_message(event: Any, ctx: Any) -> None:
        seen.append((ctx.app_id, event.message.message_id, event.message.text))
        keys_seen.append(ctx.dedup_key)

    app = app_for(router, two, db_url, clock)
    async with serve(app) as http:
        for app_id in ("cli_a", "cli_b", "cli_a"):  # the last one: cli_a's re-push
            payload = message_event_payload(
                app_id, "hello group", message_id="om_group", verification_token=VT
            )
            headers, body = sign(payload, clock)
            r = await http.post(f"/callbacks/{app_id}/event", headers=headers, content=body)
            assert r.status_code == 200
        await app.state.callbacks.dispatcher.join()
    assert sorted(seen) == [
        ("cli_a", "om_group", "hello group"),
        ("cli_b", "om_group", "hello group"),
    ]
    assert sorted(k.split(":evt:")[0] for k in keys_seen if k) == ["cli_a", "cli_b"]
    store = OutboxStore(db_url, clock=clock)
    assert store.is_processed("cli_a:msg:om_group") and store.is_processed("cli_b:msg:om_group")
    assert store.counts() == {"done": 2}


# --- the key source: off the event loop, 503 when unreadable, /readyz ---------------------


class FakeRegistry:
    """An app registry whose reads record whether they ran on the event loop's thread."""

    def __init__(self, apps: dict[str, tuple[str, str]]) -> None:
        self.apps = apps
        self.on_loop: list[bool] = []
        self.fail: Exception | None = None

    def _read(self) -> None:
        try:
            asyncio.get_running_loop()
            self.on_loop.append(True)
        except RuntimeError:
            self.on_loop.append(False)
        if self.fail is not None:
            raise self.fail

    def get_app(self, app_id: str) -> Any:
        self._read()
        return dataclasses_ns(status="active") if app_id in self.apps else None

    def get_secrets(self, app_id: str) -> Any:
        self._read()
        ek, vt = self.apps[app_id]
        return dataclasses_ns(encrypt_key=ek, verification_token=vt)

    def active_app_ids(self) -> list[str]:
        self._read()
        return sorted(self.apps)

    def check_key(self) -> None:
        self._read()


def dataclasses_ns(**kw: Any) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(**kw)


def registry_keys(registry: FakeRegistry, clock: FakeClock) -> Any:
    from lark_service.callbacks import RegistryKeys

    return RegistryKeys(registry, ttl=30, clock=clock)


async def test_registry_lookups_run_off_the_event_loop(
    router: CallbackRouter, db_url: str, clock: FakeClock
) -> None:
    registry = FakeRegistry({APP: (EK, VT)})
    app = app_for(router, registry_keys(registry, clock), db_url, clock)
    async with serve(app) as http:
        for path in (f"/callbacks/{APP}/card", "/callbacks/card"):
            headers, body = sign(card_action_payload(APP, value={}, verification_token=VT), clock)
            assert (await http.post(path, headers=headers, content=body)).status_code == 200
        assert registry.on_loop and not any(registry.on_loop)
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["config_database"] == "ok"
    assert not any(registry.on_loop)


async def test_single_app_mode_never_reads_the_registry_for_its_app(
    router: CallbackRouter, keys: StaticKeys, db_url: str, clock: FakeClock
) -> None:
    from lark_service.callbacks import RegistryKeys

    registry = FakeRegistry({"cli_other": (EK, VT)})
    lookup = RegistryKeys(registry, fallback=keys, clock=clock)
    async with serve(app_for(router, lookup, db_url, clock)) as http:
        for path in (f"/callbacks/{APP}/card", "/callbacks/card"):
            headers, body = sign(card_action_payload(APP, value={}, verification_token=VT), clock)
            assert (await http.post(path, headers=headers, content=body)).status_code == 200
        assert registry.on_loop == []  # LARK_APP_ID's keys come from memory, on the loop
        headers, body = sign(
            card_action_payload("cli_other", value={}, verification_token=VT), clock
        )
        r = await http.post("/callbacks/cli_other/card", headers=headers, content=body)
        assert r.status_code == 200 and registry.on_loop == [False, False]  # in a thread


@pytest.mark.parametrize("error", ["ConfigError", "EncryptionKeyError"])
async def test_an_unreadable_registry_answers_503_and_is_not_ready(
    router: CallbackRouter, db_url: str, clock: FakeClock, error: str
) -> None:
    from lark_service import errors

    ran: list[int] = []
    router.card_action()(lambda e: ran.append(1))
    registry = FakeRegistry({APP: (EK, VT)})
    registry.fail = getattr(errors, error)("registry at postgresql://u:pw@h/db failed")
    app = app_for(router, registry_keys(registry, clock), db_url, clock)
    async with serve(app) as http:
        for path in (f"/callbacks/{APP}/card", "/callbacks/card"):
            headers, body = sign(card_action_payload(APP, value={}, verification_token=VT), clock)
            r = await http.post(path, headers=headers, content=body)
            assert r.status_code == 503, r.text
            assert "pw" not in r.text and "Traceback" not in r.text
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["config_database"] == f"unavailable: {error}"
        registry.fail = None  # back: the same callback is accepted (Feishu pushes again)
        assert (
            await http.post(f"/callbacks/{APP}/card", headers=headers, content=body)
        ).status_code == 200
        assert (await http.get("/readyz")).status_code == 200
        await app.state.callbacks.dispatcher.join()
    assert ran == [1]
    assert OutboxStore(db_url).counts() == {"done": 1}


async def test_static_keys_have_no_config_database_check(
    router: CallbackRouter, keys: StaticKeys, db_url: str, clock: FakeClock
) -> None:
    async with serve(app_for(router, keys, db_url, clock)) as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 200 and "config_database" not in ready.json()


def test_registry_keys_cache_the_default_app_and_ping_the_database(clock: FakeClock) -> None:
    registry = FakeRegistry({APP: (EK, VT)})
    lookup = registry_keys(registry, clock)
    assert lookup.peek(APP) is None and lookup.peek(None) is None  # nothing in memory yet
    assert lookup.default_app_id() == APP and lookup.default_app_id() == APP
    assert len(registry.on_loop) == 1  # cached: not a query per request
    assert lookup.peek(None) is None  # the default is known, its keys not yet
    assert lookup.get(APP) is not None
    calls = len(registry.on_loop)
    peeked = lookup.peek(None)
    assert peeked is not None and peeked.encrypt_key == EK and lookup.peek(APP) == peeked
    assert len(registry.on_loop) == calls  # peek never reads the registry
    clock.advance(31)
    assert lookup.peek(APP) is None and lookup.peek(None) is None  # expired
    assert lookup.default_app_id() == APP and len(registry.on_loop) == calls + 1
    lookup.ping()
    registry.fail = OSError("down")
    with pytest.raises(OSError):
        lookup.ping()
    with pytest.raises(OSError):  # failures are not cached
        lookup.get(APP)
    registry.fail = None
    found = lookup.get(APP)
    assert found is not None and found.encrypt_key == EK

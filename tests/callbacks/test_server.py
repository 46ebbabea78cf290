"""The FastAPI callback server over the ASGI transport: answers, dedup, errors, lifecycle."""

from __future__ import annotations

import json
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
    assert json.dumps({"ok": True})


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

"""Card clicks and messages from the emulator, through a real callback server and back."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from lark_service import AsyncLarkClient, LarkClient
from lark_service.callbacks import (
    CallbackKeys,
    CallbackRouter,
    CardResponse,
    Dispatcher,
    InProcessDispatcher,
    OutboxStore,
    StaticKeys,
    Toast,
)
from lark_service.callbacks.dispatch import CardUpdater, StorageUnavailableError, Submission
from lark_service.server import ServerConfig, create_app
from tests.callbacks._support import ServerThread, free_port, wait_until

APP_ID, SECRET, EK, VT = "cli_cbemu", "emu-secret", "emu-encrypt-key", "emu-verify-token"

APPROVAL_CARD = {
    "header": {"title": {"tag": "plain_text", "content": "Expense #42"}},
    "elements": [
        {
            "tag": "action",
            "actions": [
                {
                    "tag": "button",
                    "text": {"tag": "plain_text", "content": "Approve"},
                    "value": {"action": "approve", "request": 42},
                },
            ],
        }
    ],
}


def approved_card(who: str) -> dict[str, Any]:
    return {"elements": [{"tag": "markdown", "content": f"Approved by {who}"}]}


@pytest.fixture
def setup(lark_emulator: Any, tmp_path: Path) -> dict[str, Any]:
    port = free_port()
    lark_emulator.add_app(
        APP_ID,
        SECRET,
        callback_url=f"http://127.0.0.1:{port}/callbacks/{APP_ID}/card",
        encrypt_key=EK,
        verification_token=VT,
    )
    lark_emulator.add_user("alice", name="Alice")
    with LarkClient(APP_ID, SECRET, base_url=lark_emulator.url) as client:
        sent = client.request(
            "POST",
            "/open-apis/im/v1/messages",
            params={"receive_id_type": "open_id"},
            json={
                "receive_id": lark_emulator.open_id("alice", APP_ID),
                "msg_type": "interactive",
                "content": json.dumps(APPROVAL_CARD),
            },
        )
    return {
        "port": port,
        "message_id": sent.data["message_id"],
        "db": f"sqlite:///{tmp_path / 'state.db'}",
        "keys": StaticKeys(CallbackKeys(APP_ID, encrypt_key=EK, verification_token=VT)),
        "updater": CardUpdater(lambda: AsyncLarkClient(APP_ID, SECRET, base_url=lark_emulator.url)),
    }


def click(emu: Any, message_id: str, **body: Any) -> dict[str, Any]:
    r = httpx.post(f"{emu.url}/_emulator/cards/{message_id}/click", json=body, timeout=30)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def test_approval_click_runs_once_and_updates_the_card_inline(
    lark_emulator: Any, setup: dict[str, Any]
) -> None:
    router = CallbackRouter()
    calls: list[tuple[Any, ...]] = []

    @router.card_action(value_key="action", value="approve")
    def approve(event: Any) -> CardResponse:
        calls.append(
            (event.action.value["request"], event.operator.open_id, event.context.open_message_id)
        )
        return CardResponse(toast=Toast("Approved", type="success"), card=approved_card("alice"))

    app = create_app(router, keys=setup["keys"], database_url=setup["db"], updater=setup["updater"])
    with ServerThread(app, port=setup["port"]):
        result = click(
            lark_emulator,
            setup["message_id"],
            user_id="alice",
            value={"action": "approve", "request": 42},
        )
    assert result["status"] == 200
    assert result["answer"]["toast"] == {"type": "success", "content": "Approved"}
    assert calls == [(42, lark_emulator.open_id("alice", APP_ID), setup["message_id"])]
    message = lark_emulator.state.get_message(setup["message_id"])
    assert message.content == approved_card("alice") and message.updated


def test_slow_handler_card_arrives_through_the_delayed_update(
    lark_emulator: Any, setup: dict[str, Any]
) -> None:
    router = CallbackRouter()
    calls: list[str] = []
    release = threading.Event()

    @router.card_action()
    def approve(event: Any) -> dict[str, Any]:
        release.wait(10)  # still working when the answer goes out
        calls.append(event.token)
        return approved_card("a slow approver")

    app = create_app(
        router,
        keys=setup["keys"],
        database_url=setup["db"],
        updater=setup["updater"],
        config=ServerConfig(reply_wait=0.0),
    )
    with ServerThread(app, port=setup["port"]):
        result = click(lark_emulator, setup["message_id"], value={"action": "approve"})
        assert result["status"] == 200 and result["answer"] == {}
        release.set()
        wait_until(
            lambda: (
                lark_emulator.state.get_message(setup["message_id"]).content
                == approved_card("a slow approver")
            ),
            what="delayed card update",
        )
    assert len(calls) == 1
    updates = lark_emulator.requests(path="/open-apis/interactive/v1/card/update")
    assert [r.code for r in updates] == [0]


def test_card_update_token_rules(lark_emulator: Any, setup: dict[str, Any]) -> None:
    router = CallbackRouter()
    tokens: list[str] = []
    router.card_action()(lambda e: tokens.append(e.token))
    app = create_app(router, keys=setup["keys"], database_url=setup["db"])
    with ServerThread(app, port=setup["port"]):
        click(lark_emulator, setup["message_id"], value={"action": "approve"})
    (token,) = tokens
    from lark_service.errors import APIError

    with LarkClient(APP_ID, SECRET, base_url=lark_emulator.url) as client:
        for n in range(2):
            client.request(
                "POST",
                "/open-apis/interactive/v1/card/update",
                json={"token": token, "card": approved_card(f"update {n}")},
            )
        with pytest.raises(APIError, match="twice"):
            client.request(
                "POST",
                "/open-apis/interactive/v1/card/update",
                json={"token": token, "card": approved_card("third")},
            )
        with pytest.raises(APIError, match="invalid"):
            client.request(
                "POST",
                "/open-apis/interactive/v1/card/update",
                json={"token": "c-unknown", "card": approved_card("x")},
            )
    assert lark_emulator.state.get_message(setup["message_id"]).content == approved_card("update 1")


def test_expired_card_token(lark_emulator: Any, setup: dict[str, Any]) -> None:
    router = CallbackRouter()
    tokens: list[str] = []
    router.card_action()(lambda e: tokens.append(e.token))
    with ServerThread(
        create_app(router, keys=setup["keys"], database_url=setup["db"]), port=setup["port"]
    ):
        click(lark_emulator, setup["message_id"], value={"action": "approve"})
    lark_emulator.advance_clock(30 * 60 + 1)
    from lark_service.errors import APIError

    with (
        LarkClient(APP_ID, SECRET, base_url=lark_emulator.url) as client,
        pytest.raises(APIError, match="expired"),
    ):
        client.request(
            "POST",
            "/open-apis/interactive/v1/card/update",
            json={"token": tokens[0], "card": approved_card("late")},
        )


class FlakyDispatcher(Dispatcher):
    """Cannot store the first callback (so the server answers 503), then works."""

    def __init__(self, inner: InProcessDispatcher) -> None:
        self.inner = inner
        self.store = inner.store
        self.failures = 1

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self, timeout: float = 10.0) -> None:
        await self.inner.stop(timeout)

    async def submit(self, verified: Any) -> Submission:
        if self.failures:
            self.failures -= 1
            raise StorageUnavailableError("disk full")
        return await self.inner.submit(verified)


def test_feishu_repushes_after_a_non_200_answer(lark_emulator: Any, setup: dict[str, Any]) -> None:
    router = CallbackRouter()
    runs: list[str] = []
    router.card_action()(lambda e: runs.append(e.event_id))
    inner = InProcessDispatcher(router, OutboxStore(setup["db"]))
    app = create_app(router, keys=setup["keys"], dispatcher=FlakyDispatcher(inner))
    emu = lark_emulator.url
    with ServerThread(app, port=setup["port"]):
        first = click(lark_emulator, setup["message_id"], value={"action": "approve"})
        assert first["status"] == 503 and runs == []
        assert httpx.post(f"{emu}/_emulator/callbacks/repush", json={}).json() == {"pushed": []}
        lark_emulator.advance_clock(15)
        pushed = httpx.post(f"{emu}/_emulator/callbacks/repush", json={}).json()["pushed"]
        assert [p["status"] for p in pushed] == [200]
        wait_until(lambda: runs, what="handler run")
    assert runs == [first["event_id"]]
    (delivery,) = httpx.get(f"{emu}/_emulator/callbacks").json()["items"]
    assert [a["status"] for a in delivery["attempts"]] == [503, 200] and delivery["delivered"]


def test_repush_gives_up_after_the_schedule(lark_emulator: Any, setup: dict[str, Any]) -> None:
    # nobody listens on the callback port: every push fails
    emu = lark_emulator.url
    first = click(lark_emulator, setup["message_id"], value={"action": "approve"})
    assert first["status"] is None
    for seconds in (15, 300, 3600, 6 * 3600):
        lark_emulator.advance_clock(seconds)
        assert len(httpx.post(f"{emu}/_emulator/callbacks/repush", json={}).json()["pushed"]) == 1
    lark_emulator.advance_clock(86400)
    assert httpx.post(f"{emu}/_emulator/callbacks/repush", json={}).json()["pushed"] == []
    (delivery,) = httpx.get(f"{emu}/_emulator/callbacks").json()["items"]
    assert len(delivery["attempts"]) == 5 and delivery["next_at"] is None


def test_a_user_message_reaches_the_event_handler(
    lark_emulator: Any, setup: dict[str, Any]
) -> None:
    router = CallbackRouter()
    got: list[tuple[Any, ...]] = []
    router.event("im.message.receive_v1")(
        lambda e: got.append((e.message.text, e.sender.sender_id.open_id, e.message.chat_type))
    )
    app = create_app(router, keys=setup["keys"], database_url=setup["db"])
    with ServerThread(app, port=setup["port"]):
        r = httpx.post(
            f"{lark_emulator.url}/_emulator/users/alice/say", json={"text": "status?"}, timeout=30
        )
        assert r.status_code == 200 and r.json()["status"] == 200
        assert r.json()["url"].endswith(f"/callbacks/{APP_ID}/event")
        wait_until(lambda: got, what="message handler")
    assert got == [("status?", lark_emulator.open_id("alice", APP_ID), "p2p")]


def test_click_errors(lark_emulator: Any, setup: dict[str, Any]) -> None:
    emu = lark_emulator.url
    assert httpx.post(f"{emu}/_emulator/cards/om_nope/click", json={}).status_code == 404
    assert httpx.post(f"{emu}/_emulator/users/nobody/say", json={"text": "x"}).status_code == 404
    bad = httpx.post(f"{emu}/_emulator/cards/{setup['message_id']}/click", json={"value": "str"})
    assert bad.status_code == 400

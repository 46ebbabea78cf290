"""Emulator lifecycle, the ASGI app on its own, imports, and concurrency."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from lark_service.testing import Emulator, EmulatorState
from lark_service.testing.emulator import DEMO_APP_ID, DEMO_APP_SECRET, create_app

from ._helpers import MESSAGES_PATH, TENANT_TOKEN_PATH, send, tenant_token


def _python(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_importing_the_testing_package_does_not_import_starlette_or_uvicorn() -> None:
    result = _python(
        "import sys\n"
        "import lark_service.testing\n"
        "from lark_service.testing import Emulator\n"
        "import lark_service.testing.emulator\n"
        "import lark_service.testing.pytest_plugin\n"
        "Emulator().add_app('cli_a', 's')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('starlette', 'uvicorn', 'lark_oapi')))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_context_manager_picks_a_free_port_and_stops() -> None:
    with Emulator() as emu:
        assert emu.running and emu.port > 0
        assert emu.url == f"http://127.0.0.1:{emu.port}"
        assert httpx.get(emu.url + "/_emulator/health").json() == {"ok": True}
        url = emu.url
    assert not emu.running
    with pytest.raises(RuntimeError):
        _ = emu.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/_emulator/health")
    emu.stop()  # stopping twice is harmless


def test_two_emulators_have_separate_state() -> None:
    with Emulator() as one, Emulator() as two:
        one.add_app("cli_one", "s1")
        assert one.port != two.port
        with httpx.Client(base_url=one.url) as http:
            assert tenant_token(http, "cli_one", "s1").startswith("t-")
        with httpx.Client(base_url=two.url) as http:
            assert (
                http.post(TENANT_TOKEN_PATH, json={"app_id": "cli_one", "app_secret": "s1"}).json()[
                    "code"
                ]
                == 10003
            )


def test_busy_port_raises() -> None:
    with Emulator() as emu, pytest.raises(OSError):
        Emulator(port=emu.port).start()


def test_data_api_works_without_a_server() -> None:
    emu = Emulator()
    emu.seed_demo()
    assert emu.state.get_app(DEMO_APP_ID).app_secret == DEMO_APP_SECRET  # type: ignore[union-attr]
    assert {u.user_id for u in emu.state.users()} >= {"alice", "bob"}
    assert emu.state.get_user("alice").email == "alice@example.com"  # type: ignore[union-attr]
    chat = emu.state.get_chat("oc_demo")
    assert chat is not None and chat.name == "Ops Alerts" and chat.bot_app_ids is None
    assert not emu.running


@pytest.mark.anyio
async def test_create_app_serves_in_process() -> None:
    state = EmulatorState()
    state.seed_demo()
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        token = (
            await client.post(
                TENANT_TOKEN_PATH, json={"app_id": DEMO_APP_ID, "app_secret": DEMO_APP_SECRET}
            )
        ).json()["tenant_access_token"]
        response = await client.post(
            MESSAGES_PATH,
            params={"receive_id_type": "chat_id"},
            json={"receive_id": "oc_demo", "msg_type": "text", "content": '{"text":"hi"}'},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.json()["code"] == 0
        assert response.headers["x-tt-logid"]
        assert [m.chat_id for m in state.messages()] == ["oc_demo"]

        # Without a socket to drop, a reset fault surfaces as ConnectionResetError.
        state.faults.add(MESSAGES_PATH, "reset")
        with pytest.raises(ConnectionResetError):
            await client.post(MESSAGES_PATH, content=b"{}")


def test_state_domains_are_dropped_on_reset() -> None:
    state = EmulatorState()
    docs = state.domain("docs", dict)
    docs["doc_1"] = {"title": "x"}
    assert state.domain("docs", dict) is docs
    state.reset()
    assert state.domain("docs", dict) == {}


def test_run_serves_the_demo_in_the_foreground() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from lark_service.testing.emulator import run\n"
            f"run('127.0.0.1', {port}, log_level='warning')\n",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # Connection retries (with httpx's own backoff) wait for the server to come up.
        transport = httpx.HTTPTransport(retries=12)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", transport=transport) as http:
            token = tenant_token(http)
            assert send(http, token, "oc_demo", "chat_id").json()["code"] == 0
            assert len(http.get("/_emulator/messages").json()["items"]) == 1
    finally:
        proc.terminate()
        proc.wait(10)
        assert proc.stderr is not None
        proc.stderr.close()


def test_concurrent_sends_and_pokes(emu: Emulator) -> None:
    with httpx.Client(base_url=emu.url, limits=httpx.Limits(max_connections=20)) as http:
        tokens: set[str] = set()

        def fetch(_: int) -> None:
            tokens.add(tenant_token(http))

        with ThreadPoolExecutor(10) as pool:
            list(pool.map(fetch, range(10)))
        assert len(tokens) == 1
        token = tokens.pop()

        stop = threading.Event()

        def poke() -> None:
            n = 0
            while not stop.is_set():
                emu.add_user(f"extra-{n % 50}")
                emu.messages()
                emu.requests()
                n += 1

        poker = threading.Thread(target=poke)
        poker.start()
        try:

            def burst(i: int) -> list[str]:
                ids = []
                for j in range(20):
                    content = json.dumps({"text": f"{i}-{j}"})
                    body = send(http, token, "oc_demo", "chat_id", content=content).json()
                    assert body["code"] == 0, body
                    ids.append(body["data"]["message_id"])
                return ids

            with ThreadPoolExecutor(8) as pool:
                ids = [m for batch in pool.map(burst, range(8)) for m in batch]
        finally:
            stop.set()
            poker.join()

    assert len(ids) == len(set(ids)) == 160
    assert len(emu.messages(chat_id="oc_demo")) == 160
    assert emu.token_fetches("cli_demo", "tenant") == 10
    assert len(emu.requests(path=MESSAGES_PATH)) == 160


def test_stopping_releases_a_call_hung_by_a_timeout_fault() -> None:
    emu = Emulator().start()
    emu.inject_fault("/open-apis/*", "timeout")
    outcome: list[BaseException | int] = []

    def call() -> None:
        try:
            outcome.append(httpx.post(emu.url + "/open-apis/x", timeout=30).status_code)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 10
    while emu.faults() and time.monotonic() < deadline:  # wait until the call has arrived
        threading.Event().wait(0.01)
    emu.stop()
    caller.join(10)

    assert not caller.is_alive()
    [result] = outcome
    assert isinstance(result, httpx.TransportError)

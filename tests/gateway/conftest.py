"""Fixtures for the gateway tests: the emulator with two registered apps, a gateway app on a
fake clock (rate limits, key expiry), and a helper that makes API keys."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lark_service import AsyncLarkClient
from lark_service.config import get_settings
from lark_service.gateway.app import create_gateway
from lark_service.gateway.idempotency import IdempotencyStore
from lark_service.gateway.keys import ApiKeyStore, server_secret
from lark_service.gateway.ratelimit import LocalBuckets
from lark_service.testing import FAST_RETRY, Emulator

with warnings.catch_warnings():  # FastAPI's TestClient still warns about plain httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

APP_A = ("cli_gw_a", "secret-a")
APP_B = ("cli_gw_b", "secret-b")
APP_C = ("cli_gw_c", "secret-c")
CHAT = "oc_gateway"


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _no_real_sleeps(sleeps: list[float]) -> list[float]:
    return sleeps


@pytest.fixture
def emu(lark_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Apps A, B and C on the emulator and in the registry; alice; a chat with every bot."""
    from lark_service.apps import AppRegistry
    from lark_service.storage.crypto import generate_key

    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", generate_key())
    registry = AppRegistry.from_settings(get_settings())
    for app_id, secret in (APP_A, APP_B, APP_C):
        lark_emulator.add_app(app_id, secret)
        registry.add_app(app_id, secret, domain=lark_emulator.url)
    lark_emulator.add_user("alice", name="Alice", email="alice@example.com")
    lark_emulator.add_chat(CHAT, "Gateway team", members=["alice"])
    return lark_emulator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keys(clock: FakeClock) -> ApiKeyStore:
    settings = get_settings()
    return ApiKeyStore(settings.resolved_database_url, server_secret(settings), clock=clock)


@pytest.fixture
def make_key(keys: ApiKeyStore) -> Callable[..., str]:
    def make(
        apps: tuple[str, ...] = (APP_A[0],),
        scopes: tuple[str, ...] = ("*",),
        name: str = "test",
        **kw: Any,
    ) -> str:
        return keys.create(name, apps=list(apps), scopes=list(scopes), **kw).key

    return make


@pytest.fixture
def gateway(emu: Emulator, keys: ApiKeyStore, clock: FakeClock) -> Iterator[TestClient]:
    """The gateway app alone (routes at /...), on the emulator, through a TestClient."""
    settings = get_settings()
    app = create_gateway(
        settings,
        client=AsyncLarkClient(settings=settings, retry=FAST_RETRY),
        keys=keys,
        buckets=LocalBuckets(clock=clock),
        idempotency=IdempotencyStore(settings.resolved_database_url, clock=clock),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
        client.portal.call(app.state.gateway.aclose)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class LiveServer:
    """The callback server with the gateway (``create_app(gateway=True)``) under uvicorn in a
    thread, on a free port."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> LiveServer:
        import time

        import httpx

        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def live(emu: Emulator) -> Iterator[LiveServer]:
    """``serve --gateway`` as a live server on the emulator (apps from the registry)."""
    from lark_service.server import create_app

    server = LiveServer(create_app(gateway=True, dispatcher="inprocess")).start()
    try:
        yield server
    finally:
        server.stop()

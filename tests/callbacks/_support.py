"""Helpers shared by the callback tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from lark_service.callbacks.simulate import signed_request

APP = "cli_cbtest"
EK = "test-encrypt-key"
VT = "test-verification-token"


class FakeClock:
    """Epoch seconds that tests move by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def sign(
    payload: dict[str, Any], clock: Callable[[], float], **kw: Any
) -> tuple[dict[str, str], bytes]:
    """Encrypted and signed with the test app's keys, timestamped by ``clock``."""
    kw.setdefault("encrypt_key", EK)
    kw.setdefault("verification_token", VT)
    return signed_request(payload, timestamp=str(int(clock())), **kw)


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and give an httpx client talking to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerThread:
    """Runs an ASGI app under uvicorn in a daemon thread (a real HTTP server for the emulator).

    ``with ServerThread(app) as url: ...``; leaving the block shuts it down gracefully.
    """

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self._server: Any = None
        self._thread: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> str:
        import threading

        import uvicorn

        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            log_config=None,
            lifespan="on",
            loop="asyncio",
            ws="none",
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        wait_until(lambda: self._server.started, timeout=20, what="server start")
        return self.url

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(30)


def wait_until(
    predicate: Callable[[], Any], *, timeout: float = 10.0, what: str = "condition"
) -> Any:
    """Poll ``predicate`` until it is truthy (bounded); for work finishing in other threads or
    processes, not for timing."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class FlakyClient:
    """A client whose delayed card updates fail ``failures`` times; the error quotes the token
    (as a careless server might) to prove it never reaches a log line or the outbox."""

    def __init__(self, failures: int, error: Callable[[str], Exception] | None = None) -> None:
        self.failures = failures
        self.error = error
        self.updates: list[dict[str, Any]] = []
        self.calls = 0
        self.cards = _FlakyCards(self)

    async def request(self, method: str, path: str, *, json: Any, app_id: str) -> None:
        from lark_service.errors import ServerError

        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            if self.error is not None:
                raise self.error(json["token"])
            raise ServerError(f"card update failed for token {json['token']}", code=200000)
        self.updates.append(json)

    async def aclose(self) -> None:
        pass


class _FlakyCards:
    """``client.cards`` of a :class:`FlakyClient`: the delayed update the dispatchers use."""

    def __init__(self, client: FlakyClient) -> None:
        self._client = client

    async def update_card_by_token(
        self, token: str, card: Any, *, open_ids: Any = None, app_id: str | None = None
    ) -> None:
        await self._client.request(
            "POST",
            "/open-apis/interactive/v1/card/update",
            json={"token": token, "card": card},
            app_id=app_id or "",
        )

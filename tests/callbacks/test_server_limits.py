"""`lark-service serve` bounds slow and huge requests (issue 10.13) and logs a client that
disconnects mid-body as one WARNING line (10.14). Loopback only, bounded in time and count."""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from typing import Any

import httpx
import pytest

from lark_service.callbacks import CallbackRouter, StaticKeys
from lark_service.server import create_app
from lark_service.server.limits import ServerLimits, uvicorn_config

from ._support import APP, FakeClock, free_port, wait_until


class LimitedServer:
    """``create_app`` under uvicorn with :func:`uvicorn_config`, in a thread."""

    def __init__(self, app: Any, limits: ServerLimits) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn_config(
            app,
            limits=limits,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            log_config=None,
            lifespan="on",
            loop="asyncio",
            ws="none",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LimitedServer:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=20, what="server start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def healthz(self) -> int:
        return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=5).status_code


@pytest.fixture
def app(router: CallbackRouter, keys: StaticKeys, db_url: str, clock: FakeClock) -> Any:
    return create_app(router, keys=keys, database_url=db_url, clock=clock)


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(65536) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except BlockingIOError:
        return False


def test_fifty_slow_clients_are_dropped_at_the_header_deadline_while_healthz_answers(
    app: Any,
) -> None:
    limits = ServerLimits(header_timeout=1.0)
    with LimitedServer(app, limits) as server:
        socks = [server.connect() for _ in range(50)]
        for s in socks:
            s.sendall(b"POST /callbacks/event HTTP/1.1\r\nHost: x\r\n")
            s.setblocking(False)
        start = time.monotonic()
        open_socks = set(socks)
        health: list[int] = []
        while open_socks and time.monotonic() - start < 6.0:  # bounded: the deadline is 1 s
            for s in list(open_socks):
                with contextlib.suppress(BlockingIOError, BrokenPipeError, ConnectionResetError):
                    s.send(b"X-Slow: 1\r\n")  # trickle: never the blank line ending headers
            readable, _, _ = select.select(list(open_socks), [], [], 0.1)
            for s in readable:
                if _closed(s):
                    open_socks.discard(s)
            if not health and open_socks:
                health.append(server.healthz())  # answered while 50 slow clients are held
        elapsed = time.monotonic() - start
        for s in socks:
            s.close()
        assert not open_socks, f"{len(open_socks)} slow clients still connected"
        assert elapsed < 4.0
        assert health == [200] and server.healthz() == 200


def test_an_oversized_header_is_refused_within_a_second(app: Any) -> None:
    with LimitedServer(app, ServerLimits()) as server:
        sock = server.connect()
        start = time.monotonic()
        answer = b""
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
            chunk = b"a" * 65536
            for _ in range(16):  # 1 MB, never finished
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(1.0)
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, BrokenPipeError):
            pass
        except TimeoutError:
            pytest.fail("the server kept reading a 1 MB header")
        finally:
            sock.close()
        assert time.monotonic() - start < 1.0
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400")
        assert server.healthz() == 200


def test_idle_keep_alive_connections_are_closed(app: Any) -> None:
    with LimitedServer(app, ServerLimits(keep_alive_timeout=1)) as server, server.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while not answer.endswith(b'{"status":"ok"}'):
            data = sock.recv(65536)
            assert data, answer
            answer += data
        assert answer.startswith(b"HTTP/1.1 200")
        sock.settimeout(4.0)
        start = time.monotonic()
        assert sock.recv(65536) == b""  # closed by the server, not by the timeout
        assert time.monotonic() - start < 3.0


def test_connections_beyond_the_cap_get_503(app: Any) -> None:
    with LimitedServer(app, ServerLimits(max_connections=3)) as server:
        held = [server.connect() for _ in range(3)]
        wait_until(lambda: len(server.server.server_state.connections) >= 3, what="connections")
        assert server.healthz() == 503
        for s in held:
            s.close()
        wait_until(lambda: len(server.server.server_state.connections) < 3, what="closed")
        assert server.healthz() == 200


def test_limits_are_validated() -> None:
    from lark_service.errors import ValidationError

    with pytest.raises(ValidationError):
        ServerLimits(header_timeout=61)
    with pytest.raises(ValidationError):
        ServerLimits(max_header_bytes=10)


# --- 10.14: a client going away mid-body ---------------------------------------------------


@pytest.mark.anyio
async def test_a_client_disconnecting_mid_body_is_one_warning_without_traceback(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sent: list[dict[str, Any]] = []
    messages = iter(
        [
            {"type": "http.request", "body": b'{"encrypt": "abc', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> Any:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/callbacks/{APP}/event",
        "raw_path": f"/callbacks/{APP}/event".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"400")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    async with app.router.lifespan_context(app):
        caplog.clear()
        await app(scope, receive, send)
    mine = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelno for r in mine] == [logging.WARNING], [r.getMessage() for r in mine]
    assert mine[0].exc_info is None and "disconnected" in mine[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

"""`lark-service serve` as a process bounds slow and oversized requests (issue 10.13)."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.callbacks._procs import ServeProcess

APP = "cli_limits"


@pytest.mark.slow
def test_serve_drops_slow_clients_and_refuses_huge_headers(tmp_path: Path) -> None:
    with ServeProcess(
        APP, tmp_path / "home", tmp_path / "effects.log", "--header-timeout", "1"
    ) as server:
        socks = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(20)]
        try:
            for s in socks:
                s.sendall(b"POST /callbacks/event HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
            assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
            start = time.monotonic()
            pending = set(socks)
            while pending and time.monotonic() - start < 6:  # bounded; the deadline is 1 s
                readable, _, _ = select.select(list(pending), [], [], 0.2)
                for s in readable:
                    if s.recv(1024) == b"":
                        pending.discard(s)
            assert not pending and time.monotonic() - start < 4
        finally:
            for s in socks:
                s.close()

        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as big:
            start = time.monotonic()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                big.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20))
            big.settimeout(1.0)
            try:
                answer = big.recv(1024)
            except ConnectionResetError:
                answer = b""
            assert answer == b"" or answer.startswith(b"HTTP/1.1 400")
            assert time.monotonic() - start < 1.0
        assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
        assert server.terminate()

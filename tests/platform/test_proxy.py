"""Proxies (issue 10.17): both clients, on their default backends, honour ``proxy=`` and
``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY``. A tiny local proxy records each request line and
answers plain-http targets with canned Feishu JSON."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from lark_service import NO_RETRY, AsyncLarkClient, LarkClient

from .conftest import APP_A

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def _answer(path: str) -> bytes:
    if path.endswith("/tenant_access_token/internal"):
        body = {"code": 0, "msg": "ok", "tenant_access_token": "t-proxied", "expire": 7200}
    else:
        body = {"code": 0, "msg": "success", "data": {"message_id": "om_proxied"}}
    raw = json.dumps(body).encode()
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(raw)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + raw


class RecordingProxy(socketserver.ThreadingTCPServer):
    """Records request lines; answers any plain-http request (absolute-URI through the proxy,
    or origin-form when a client connected to it directly) and refuses CONNECT with 502."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lines: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def proxied(self) -> list[str]:
        """Request lines that came as a proxy request (absolute URI or CONNECT)."""
        with self.lock:
            return [
                line
                for line in self.lines
                if line.startswith("CONNECT ") or line.split(" ")[1].startswith("http://")
            ]

    def direct(self) -> list[str]:
        with self.lock:
            return [line for line in self.lines if line.split(" ")[1].startswith("/")]


class _Handler(socketserver.StreamRequestHandler):
    server: RecordingProxy

    def handle(self) -> None:
        line = self.rfile.readline(65536).decode("latin-1").strip()
        if not line:
            return
        length = 0
        while True:
            header = self.rfile.readline(65536).decode("latin-1")
            if header in ("\r\n", "\n", ""):
                break
            name, _, value = header.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length:
            self.rfile.read(length)
        with self.server.lock:
            self.server.lines.append(line)
        if line.startswith("CONNECT "):
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        target = line.split(" ")[1]
        path = "/" + target.split("/", 3)[3] if target.startswith("http://") else target
        self.wfile.write(_answer(path.split("?", 1)[0]))


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    server = RecordingProxy()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def unused_host() -> str:
    """A base URL that only a proxy can reach (nothing listens there)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://feishu.invalid:{port}"


def send_sync(base_url: str, **kw: object) -> str:
    with LarkClient(APP_A[0], APP_A[1], base_url=base_url, **kw) as client:  # type: ignore[arg-type]
        return client.messaging.send_text_message("ou_1", "via proxy").message_id


async def send_async(base_url: str, **kw: object) -> str:
    async with AsyncLarkClient(APP_A[0], APP_A[1], base_url=base_url, **kw) as client:  # type: ignore[arg-type]
        message = await client.messaging.send_text_message("ou_1", "via proxy")
        return message.message_id


def test_sync_client_proxy_argument(proxy: RecordingProxy) -> None:
    base = unused_host()
    assert send_sync(base, proxy=proxy.url) == "om_proxied"
    assert proxy.proxied() == [
        f"POST {base}/open-apis/auth/v3/tenant_access_token/internal HTTP/1.1",
        f"POST {base}/open-apis/im/v1/messages?receive_id_type=open_id HTTP/1.1",
    ]


def test_sync_client_http_proxy_from_the_environment(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    base = unused_host()
    assert send_sync(base) == "om_proxied"
    assert len(proxy.proxied()) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("backend", [None, "aiohttp", "httpx"])
async def test_async_client_proxy_argument(proxy: RecordingProxy, backend: str | None) -> None:
    base = unused_host()
    assert await send_async(base, proxy=proxy.url, http_backend=backend) == "om_proxied"
    assert len(proxy.proxied()) == 2
    assert all(line.split(" ")[1].startswith(base) for line in proxy.proxied())


@pytest.mark.anyio
@pytest.mark.parametrize("backend", [None, "aiohttp", "httpx"])
async def test_async_client_http_proxy_from_the_environment(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch, backend: str | None
) -> None:
    """The report: AsyncLarkClient's default (aiohttp) transport ignored HTTP_PROXY."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    base = unused_host()
    assert await send_async(base, http_backend=backend) == "om_proxied"
    assert len(proxy.proxied()) == 2


def test_sync_client_https_proxy_is_used_for_https_targets(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with pytest.raises(Exception):  # noqa: B017 - the proxy refuses the tunnel
        send_sync("https://open.feishu.invalid", retry=NO_RETRY)
    assert proxy.proxied()[0].startswith("CONNECT open.feishu.invalid:443 ")


@pytest.mark.anyio
@pytest.mark.parametrize("backend", [None, "httpx"])
async def test_async_client_https_proxy_is_used_for_https_targets(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch, backend: str | None
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with pytest.raises(Exception):  # noqa: B017
        await send_async("https://open.feishu.invalid", retry=NO_RETRY, http_backend=backend)
    assert proxy.proxied()[0].startswith("CONNECT open.feishu.invalid:443 ")


def test_sync_client_no_proxy_bypasses(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens: must not be used
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert send_sync(proxy.url) == "om_proxied"  # the recorder, reached directly
    assert proxy.proxied() == []
    assert len(proxy.direct()) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("backend", [None, "aiohttp", "httpx"])
async def test_async_client_no_proxy_bypasses(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch, backend: str | None
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert await send_async(proxy.url, http_backend=backend) == "om_proxied"
    assert proxy.proxied() == []
    assert len(proxy.direct()) == 2

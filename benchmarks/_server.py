"""A minimal, fast local Feishu for benchmarks: tokens and ``im/v1/messages`` only.

It runs as a raw ASGI app under uvicorn (uvloop + httptools when installed) in a **separate
process**, so the client's CPU time measured in the benchmark process is the client's alone.

    with LocalFeishu(tls=True) as feishu:      # https://127.0.0.1:<free port>
        feishu.url, feishu.ca_file              # trust ca_file (see trust_env()): certifi's
                                                # bundle plus the test CA (certifi's for HTTP)
        feishu.stats()                          # {"tokens": 1, "messages": 2000, "connections": 3}

The listening socket is bound in the parent (port 0, no race) and inherited by the child.
Run ``python benchmarks/_server.py --port 8901 [--tls]`` to serve one by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

__all__ = [
    "APP_ID",
    "APP_SECRET",
    "TOKEN",
    "LocalFeishu",
    "default_ca_bundle",
    "restore_env",
    "trust_env",
]

APP_ID = "cli_bench0000000001"
APP_SECRET = "bench-secret-0000000000000001"
TOKEN = "t-bench00000000000000000000000001"

_TOKEN_PATHS = {
    "/open-apis/auth/v3/tenant_access_token/internal": "tenant_access_token",
    "/open-apis/auth/v3/app_access_token/internal": "app_access_token",
}
_MESSAGES = "/open-apis/im/v1/messages"
_JSON_HEADERS = [
    (b"content-type", b"application/json; charset=utf-8"),
]


# -- the ASGI app (runs in the child process) -------------------------------------------------


class _State:
    def __init__(self) -> None:
        self.tokens = 0
        self.messages = 0
        self.rejected = 0
        self.clients: set[tuple[str, int]] = set()
        self.next_id = 0

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


_STATE = _State()


async def _read_body(receive: Any) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _answer(send: Any, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    _STATE.next_id += 1
    headers = [
        *_JSON_HEADERS,
        (b"content-length", str(len(body)).encode()),
        (b"x-tt-logid", b"bench%014d" % _STATE.next_id),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _message(body: bytes) -> dict[str, Any]:
    try:
        sent = json.loads(body)
    except ValueError:
        sent = {}
    now = str(int(time.time() * 1000))
    number = _STATE.messages
    return {
        "message_id": f"om_bench{number:024d}",
        "root_id": "",
        "parent_id": "",
        "msg_type": sent.get("msg_type", "text"),
        "create_time": now,
        "update_time": now,
        "deleted": False,
        "updated": False,
        "chat_id": "oc_bench000000000000000000000001",
        "sender": {
            "id": APP_ID,
            "id_type": "app_id",
            "sender_type": "app",
            "tenant_key": "bench_tenant",
        },
        "body": {"content": sent.get("content", "")},
    }


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI entry point."""
    if scope["type"] != "http":
        return
    if scope.get("client"):
        _STATE.clients.add(tuple(scope["client"]))
    path = scope["path"]
    body = await _read_body(receive)
    if path in _TOKEN_PATHS:
        _STATE.tokens += 1
        try:
            sent = json.loads(body)
        except ValueError:
            sent = {}
        if sent.get("app_id") != APP_ID or sent.get("app_secret") != APP_SECRET:
            await _answer(send, 400, {"code": 10014, "msg": "app secret invalid"})
            return
        field = _TOKEN_PATHS[path]
        await _answer(send, 200, {"code": 0, "msg": "ok", field: TOKEN, "expire": 7200})
        return
    if path == _MESSAGES and scope["method"] == "POST":
        auth = dict(scope["headers"]).get(b"authorization", b"")
        if auth != b"Bearer " + TOKEN.encode():
            _STATE.rejected += 1
            await _answer(
                send, 400, {"code": 99991663, "msg": "Invalid access token for authorization."}
            )
            return
        _STATE.messages += 1
        await _answer(send, 200, {"code": 0, "msg": "success", "data": _message(body)})
        return
    if path == "/_stats":
        await _answer(
            send,
            200,
            {
                "tokens": _STATE.tokens,
                "messages": _STATE.messages,
                "rejected": _STATE.rejected,
                "connections": len(_STATE.clients),
            },
        )
        return
    if path == "/_reset":
        _STATE.reset()
        await _answer(send, 200, {"ok": True})
        return
    await _answer(send, 404, {"code": 404, "msg": f"no route {path}"})


def _serve(sock: socket.socket, certfile: str | None, keyfile: str | None) -> None:
    import uvicorn

    options: dict[str, Any] = {
        "lifespan": "off",
        "access_log": False,
        "log_level": "warning",
        "backlog": 2048,
        "timeout_keep_alive": 60,
    }
    try:
        import uvloop  # noqa: F401

        options["loop"] = "uvloop"
    except ImportError:
        options["loop"] = "asyncio"
    try:
        import httptools  # noqa: F401

        options["http"] = "httptools"
    except ImportError:
        options["http"] = "h11"
    if certfile:
        options["ssl_certfile"] = certfile
        options["ssl_keyfile"] = keyfile
    config = uvicorn.Config(app, **options)
    uvicorn.Server(config).run(sockets=[sock])


# -- the parent's handle ----------------------------------------------------------------------


def default_ca_bundle() -> str:
    """certifi's CA bundle: what httpx and requests trust when no SSL_CERT_FILE is set."""
    import certifi

    return str(certifi.where())


def trust_env(ca_file: str) -> dict[str, str | None]:
    """Point SSL_CERT_FILE (httpx) and REQUESTS_CA_BUNDLE (requests) at ``ca_file``.

    Returns the previous values so a caller can restore them. httpx reads SSL_CERT_FILE when a
    client is created (``trust_env=True``, the default), so call this before creating clients.
    """
    names = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "SSL_CERT_DIR", "NO_PROXY", "no_proxy")
    previous = {name: os.environ.get(name) for name in names}
    os.environ["SSL_CERT_FILE"] = ca_file
    os.environ["REQUESTS_CA_BUNDLE"] = ca_file
    os.environ.pop("SSL_CERT_DIR", None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    return previous


def restore_env(previous: dict[str, str | None]) -> None:
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class LocalFeishu:
    """A :mod:`_server` process on a free loopback port, HTTP or HTTPS (trustme certificate)."""

    def __init__(self, *, tls: bool = False, host: str = "127.0.0.1") -> None:
        self.tls = tls
        self.host = host
        self.port = 0
        self.ca_file = default_ca_bundle()
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> LocalFeishu:
        command = [sys.executable, str(Path(__file__).resolve())]
        if self.tls:
            import trustme

            self._dir = tempfile.TemporaryDirectory(prefix="lark-bench-")
            folder = Path(self._dir.name)
            ca = trustme.CA()
            cert = ca.issue_cert(self.host, "localhost")
            # The trust bundle a real deployment has: the public CAs (certifi) plus ours. Its
            # size matters: lark-oapi loads it on every connection (sync) and every call (async).
            ca.cert_pem.write_to_path(str(folder / "ca.pem"))
            self.ca_file = str(folder / "bundle.pem")
            Path(self.ca_file).write_bytes(
                Path(default_ca_bundle()).read_bytes() + b"\n" + ca.cert_pem.bytes()
            )
            cert.private_key_pem.write_to_path(str(folder / "key.pem"))
            cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
            for extra in cert.cert_chain_pems[1:]:
                extra.write_to_path(str(folder / "cert.pem"), append=True)
            command += [
                "--certfile",
                str(folder / "cert.pem"),
                "--keyfile",
                str(folder / "key.pem"),
            ]
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(2048)
        sock.set_inheritable(True)
        self._sock = sock
        self.port = sock.getsockname()[1]
        command += ["--fd", str(sock.fileno())]
        self._process = subprocess.Popen(command, pass_fds=(sock.fileno(),))
        self._wait_ready()
        return self

    def _client(self) -> httpx.Client:
        import ssl

        verify = ssl.create_default_context(cafile=self.ca_file)
        return httpx.Client(base_url=self.url, verify=verify, trust_env=False, timeout=5.0)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        with self._client() as client:
            while True:
                try:
                    client.get("/_stats")
                    return
                except httpx.TransportError:
                    if self._process is not None and self._process.poll() is not None:
                        raise RuntimeError("the benchmark server exited at start-up") from None
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    def stats(self) -> dict[str, int]:
        """Counts since the last :meth:`reset`: tokens, messages, rejected, connections."""
        with self._client() as client:
            data: dict[str, int] = client.get("/_stats").json()
        return data

    def reset(self) -> None:
        with self._client() as client:
            client.post("/_reset")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> LocalFeishu:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fd", type=int, help="an inherited listening socket")
    parser.add_argument("--port", type=int, default=8901)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    parser.add_argument("--tls", action="store_true", help="make a trustme certificate")
    args = parser.parse_args(argv)
    if args.fd is not None:
        sock = socket.socket(fileno=args.fd)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
        sock.listen(2048)
    certfile, keyfile = args.certfile, args.keyfile
    if args.tls and not certfile:
        import trustme

        folder = Path(tempfile.mkdtemp(prefix="lark-bench-"))
        ca = trustme.CA()
        cert = ca.issue_cert(args.host, "localhost")
        ca.cert_pem.write_to_path(str(folder / "ca.pem"))
        cert.private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
        certfile = keyfile = str(folder / "server.pem")
        print(f"CA certificate: {folder / 'ca.pem'}", flush=True)
    _serve(sock, certfile, keyfile)


if __name__ == "__main__":
    _main()

"""Fork safety (issue 10.1): a client made before fork (Celery prefork, gunicorn --preload)
and used in the parent must start clean in each child — no pooled socket shared across
processes, so no interleaved bytes, no reply read by the wrong process.

Without the after-fork reset (checked by emptying ``_FORK_SAFE`` before forking), this run
gave 198 unique ids for 200 sends and 30 s read timeouts."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from lark_service import LarkClient
from lark_service.testing import FAST_RETRY, Emulator

from .conftest import APP_A

_CLIENT: LarkClient | None = None  # stands for a module-level client made at import


def _send(n: int) -> tuple[int, str, str]:
    assert _CLIENT is not None
    try:
        message = _CLIENT.messaging.send_text_message("oc_platform", f"fork {n}")
    except Exception as exc:  # reported to the parent, which fails the test with it
        return os.getpid(), "", f"{type(exc).__name__}: {exc}"
    return os.getpid(), message.message_id, ""


@pytest.mark.slow
def test_a_client_used_before_fork_works_in_a_fork_pool(emu: Emulator) -> None:
    global _CLIENT
    _CLIENT = LarkClient(APP_A[0], APP_A[1], base_url=emu.url, retry=FAST_RETRY, timeout=5)
    try:
        # the parent uses it once: a pooled keep-alive connection and a cached token now exist
        _CLIENT.messaging.send_text_message("oc_platform", "parent")
        context = multiprocessing.get_context("fork")
        with context.Pool(4) as pool:
            results = pool.map(_send, range(200), chunksize=5)
        # and the parent's own connection still works afterwards
        _CLIENT.messaging.send_text_message("oc_platform", "parent again")
    finally:
        _CLIENT.close()
        _CLIENT = None

    failures = [error for _, _, error in results if error]
    assert failures == []
    ids = [message_id for _, message_id, _ in results]
    assert len(set(ids)) == 200
    assert len({pid for pid, _, _ in results}) > 1
    texts = sorted(
        m.content["text"] for m in emu.messages() if m.content["text"].startswith("fork")
    )
    assert texts == sorted(f"fork {n}" for n in range(200))
    assert len(emu.messages()) == 202


def test_a_garbled_exchange_on_the_wire_is_a_transport_error() -> None:
    """What a child saw on a socket shared with its parent: the server could not parse the
    interleaved bytes and answered uvicorn's bare 400. That is the connection's fault, not a
    parameter of ours."""
    import socket
    import threading

    from lark_service import NO_RETRY, errors

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
                    b"content-length: 29\r\nconnection: close\r\n\r\nInvalid HTTP request received."
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with LarkClient(
            APP_A[0], APP_A[1], base_url=f"http://127.0.0.1:{port}", retry=NO_RETRY
        ) as client:
            with pytest.raises(errors.TransportError) as info:
                client.messaging.send_text_message("ou_1", "x")
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    assert not isinstance(info.value, errors.InvalidParameterError)
    assert info.value.http_status == 400
    assert "Invalid HTTP request received" in str(info.value)

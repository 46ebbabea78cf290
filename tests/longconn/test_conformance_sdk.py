"""Conformance: the official SDK's ``lark_oapi.ws.Client`` connects to the emulator's long
connection and receives an event (the emulator speaks the real protocol: endpoint answer,
protobuf frames, pings, acks, split frames). The SDK runs in a subprocess: it creates and
runs a module-global event loop that never returns."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import pytest

from lark_service.testing import Emulator
from lark_service.testing.emulator.longconn_state import LongConnControl

from .conftest import APP, SECRET

pytest.importorskip("lark_oapi")

SDK_CLIENT = textwrap.dedent(
    """
    import sys
    import lark_oapi as lark
    from lark_oapi.ws import Client

    def on_message(data):
        print("GOT", data.header.event_id, data.event.message.content, flush=True)

    handler = (
        lark.EventDispatcherHandler.builder("", "")
        .register_p2_im_message_receive_v1(on_message)
        .build()
    )
    client = Client(sys.argv[2], sys.argv[3], event_handler=handler, domain=sys.argv[1],
                    log_level=lark.LogLevel.WARNING)
    client.start()
    """
)


def test_the_official_sdk_receives_an_event_from_the_emulator(
    emu: Emulator, ws: LongConnControl
) -> None:
    ws.configure(ping_interval=1, reconnect_interval=1, reconnect_nonce=0)
    process = subprocess.Popen(
        [sys.executable, "-c", SDK_CLIENT, emu.url, APP, SECRET],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    lines: list[str] = []
    assert process.stdout is not None
    stream = process.stdout
    reader = threading.Thread(target=lambda: lines.extend(stream), daemon=True)
    reader.start()
    try:
        assert ws.wait_connections(APP, timeout=90), "".join(lines)
        plain = ws.say(APP, "hello from the emulator")
        ws.split_next(3)
        split = ws.say(APP, "split " * 200)
        assert ws.wait_acked([plain, split], 30), "".join(lines)
        assert plain.ack_code == 200 and split.ack_code == 200
        assert ws.domain.pings >= 1 and ws.domain.endpoint_requests == 1  # it pinged us
    finally:
        process.kill()
        process.wait(30)
        reader.join(5)
        stream.close()
    got = [line.split()[1] for line in lines if line.startswith("GOT ")]
    assert got == [plain.event_id, split.event_id], "".join(lines)

"""Handlers for subprocess servers and workers in the integration tests.

Side effects are lines appended to the file named by ``CB_EFFECTS`` (one ``write`` per line,
``O_APPEND``, so several processes may share it). ``CB_HANG=1`` makes the card handler block
forever after writing ``start`` (a worker to be killed mid-handler); ``CB_FAIL=1`` makes it
raise.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from lark_service.callbacks import CallbackRouter

router = CallbackRouter()


def effect(line: str) -> None:
    path = os.environ.get("CB_EFFECTS")
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@router.card_action()
def on_card(event: Any) -> dict[str, Any]:
    effect(f"start {event.event_id} {os.getpid()}")
    if os.environ.get("CB_HANG") == "1":
        threading.Event().wait()
    if os.environ.get("CB_FAIL") == "1":
        raise RuntimeError("this handler always fails")
    effect(f"done {event.event_id} {os.getpid()}")
    return {"toast": {"type": "success", "content": "ok"}}


@router.event("im.message.receive_v1")
def on_message(event: Any) -> None:
    effect(f"message {event.event_id} {event.message.message_id} {os.getpid()}")


def read_effects(path: str) -> list[list[str]]:
    """The recorded lines, split into words."""
    try:
        with open(path) as f:
            return [line.split() for line in f if line.strip()]
    except FileNotFoundError:
        return []

"""Handlers of the listener processes the long-connection tests start: each run of a handler
is appended to ``$LC_OUT/runs.log``; its effect is written once per ``ctx.dedup_key`` to
``$LC_OUT/effects.db`` (an idempotent side effect, as docs/long-connection.md recommends)."""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from lark_service.callbacks import CallbackRouter, HandlerContext

router = CallbackRouter()
_lock = threading.Lock()
_db: sqlite3.Connection | None = None


def _effects() -> sqlite3.Connection:
    global _db
    if _db is None:
        _db = sqlite3.connect(
            os.path.join(os.environ["LC_OUT"], "effects.db"), check_same_thread=False
        )
        _db.execute("PRAGMA journal_mode=WAL")
        _db.execute(
            "CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, event_id TEXT, n INT)"
        )
        _db.commit()
    return _db


@router.event("im.message.receive_v1")
def on_message(event: Any, ctx: HandlerContext) -> None:
    with _lock:
        with open(os.path.join(os.environ["LC_OUT"], "runs.log"), "a") as f:
            f.write(f"{event.event_id}\n")
        db = _effects()
        db.execute(
            "INSERT INTO effects (key, event_id, n) VALUES (?, ?, 1) ON CONFLICT(key) DO NOTHING",
            (ctx.dedup_key, event.event_id),
        )
        db.commit()

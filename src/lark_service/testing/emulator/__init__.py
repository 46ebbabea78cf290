"""A stateful local Feishu OpenAPI for demos, tests and users' own tests.

``Emulator`` runs it in a background thread; ``create_app`` gives the ASGI app; ``run`` serves
it in the foreground. State, clock and faults are plain Python and import nothing heavy;
starlette and uvicorn load only when the app is built. See ``docs/emulator.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .clock import Clock
from .faults import FAULT_KINDS, Fault, FaultSet
from .server import DEFAULT_PORT, Emulator, run
from .state import (
    DEMO_APP_ID,
    DEMO_APP_SECRET,
    DEMO_CHAT_ID,
    App,
    Chat,
    EmulatorState,
    Message,
    RequestRecord,
    Token,
    User,
)

if TYPE_CHECKING:
    from .app import EmulatorApp, create_app

__all__ = [
    "DEFAULT_PORT",
    "DEMO_APP_ID",
    "DEMO_APP_SECRET",
    "DEMO_CHAT_ID",
    "FAULT_KINDS",
    "App",
    "Chat",
    "Clock",
    "Emulator",
    "EmulatorApp",
    "EmulatorState",
    "Fault",
    "FaultSet",
    "Message",
    "RequestRecord",
    "Token",
    "User",
    "create_app",
    "run",
]


def __getattr__(name: str) -> Any:
    if name in ("create_app", "EmulatorApp"):
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

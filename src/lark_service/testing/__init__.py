"""Testing helpers: the Feishu emulator and the ``lark_emulator`` pytest fixture.

``from lark_service.testing import Emulator`` is cheap: starlette and uvicorn are imported only
when an emulator app is built or started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import Emulator, EmulatorState, create_app

__all__ = ["Emulator", "EmulatorState", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import emulator

        return getattr(emulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

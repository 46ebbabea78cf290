"""Testing helpers: the Feishu emulator, the ``lark_emulator`` pytest fixture, FAST_RETRY.

``from lark_service.testing import Emulator`` is cheap: starlette and uvicorn are imported only
when an emulator app is built or started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._retry import RetryPolicy
    from .emulator import Emulator, EmulatorState, create_app

    FAST_RETRY: RetryPolicy

__all__ = ["FAST_RETRY", "Emulator", "EmulatorState", "create_app", "reset_process_state"]


def reset_process_state() -> None:
    """Forget the process-wide token cache (and its locks), as a fresh process would have it.

    The ``lark_emulator`` fixture calls it before every test: tokens a client cached in an
    earlier test are unknown to the reset emulator. It is
    :func:`lark_service.credentials.reset_process_state`.
    """
    from ..credentials import reset_process_state as reset

    reset()


def __getattr__(name: str) -> Any:
    if name == "FAST_RETRY":
        from .._retry import RetryPolicy

        policy = RetryPolicy(base_delay=0.0, max_delay=0.0, jitter=0.0, rate_limit_delay=0.0)
        globals()["FAST_RETRY"] = policy
        return policy
    if name in ("Emulator", "EmulatorState", "create_app"):
        from . import emulator

        return getattr(emulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

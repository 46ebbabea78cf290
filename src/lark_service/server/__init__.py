"""The HTTP service: Feishu callbacks and events, health (FastAPI; ``lark-service serve``).

``create_app(...)`` builds the app; importing this package imports nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import ServerConfig, create_app
    from .limits import ServerLimits

__all__ = ["ServerConfig", "ServerLimits", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "ServerLimits":
        from .limits import ServerLimits

        return ServerLimits
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module 'lark_service.server' has no attribute {name!r}")

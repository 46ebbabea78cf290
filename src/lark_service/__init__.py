"""lark-service: Feishu/Lark OpenAPI for internal services.

    from lark_service import LarkClient
    client = LarkClient()
    client.messaging.send_text_message("ou_123", "hello")

Tokens, retries, errors and app resolution are handled; see the README and ``docs/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._async_client import AsyncLarkClient
    from ._http import ApiResponse
    from ._retry import RetryPolicy
    from ._sync_client import LarkClient
    from .config import Settings
    from .errors import LarkError

__all__ = [
    "ApiResponse",
    "AsyncLarkClient",
    "LarkClient",
    "LarkError",
    "RetryPolicy",
    "Settings",
    "__version__",
]

_LAZY = {
    "ApiResponse": "._http",
    "AsyncLarkClient": "._async_client",
    "LarkClient": "._sync_client",
    "LarkError": ".errors",
    "RetryPolicy": "._retry",
    "Settings": ".config",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lark_service' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

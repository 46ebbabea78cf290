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


def _import_httpx_without_its_cli() -> None:
    """Import httpx without ``httpx._main``, its command line (click, rich, pygments: ~40 ms).

    httpx imports its CLI whenever those packages are installed, and lark-service's own CLI
    installs them. With ``httpx._main`` marked missing, httpx falls back to a stub ``main``
    (as it does when they are absent); the mark is removed again right after.
    """
    import sys

    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx  # noqa: F401
    except ImportError:  # a future httpx that needs its CLI: import it the ordinary way
        pass
    finally:
        if sys.modules.get("httpx._main", 0) is None:
            del sys.modules["httpx._main"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lark_service' has no attribute {name!r}")
    from importlib import import_module

    _import_httpx_without_its_cli()

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

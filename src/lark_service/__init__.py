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
    from ._async_pagination import AsyncPager
    from ._async_resource import AsyncResource
    from ._http import ApiResponse
    from ._options import RequestOptions
    from ._pacing import Limits, PacingTable
    from ._paths import api_path
    from ._retry import NO_RETRY, RetryPolicy
    from ._sync_client import LarkClient
    from ._sync_pagination import Pager
    from ._sync_resource import Resource
    from .config import Settings
    from .domains import Domain, register_domain
    from .errors import LarkError

__all__ = [
    "NO_RETRY",
    "ApiResponse",
    "AsyncLarkClient",
    "AsyncPager",
    "AsyncResource",
    "Domain",
    "LarkClient",
    "LarkError",
    "Limits",
    "PacingTable",
    "Pager",
    "RequestOptions",
    "Resource",
    "RetryPolicy",
    "Settings",
    "__version__",
    "api_path",
    "register_domain",
]

_LAZY = {
    "NO_RETRY": "._retry",
    "ApiResponse": "._http",
    "AsyncLarkClient": "._async_client",
    "AsyncPager": "._async_pagination",
    "AsyncResource": "._async_resource",
    "Domain": ".domains",
    "LarkClient": "._sync_client",
    "LarkError": ".errors",
    "Limits": "._pacing",
    "PacingTable": "._pacing",
    "Pager": "._sync_pagination",
    "RequestOptions": "._options",
    "Resource": "._sync_resource",
    "RetryPolicy": "._retry",
    "Settings": ".config",
    "api_path": "._paths",
    "register_domain": ".domains",
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

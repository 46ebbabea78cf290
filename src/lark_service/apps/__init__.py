"""The app registry (config database). Opened lazily: importing this imports no database code.

```python
from lark_service.apps import AppRegistry

registry = AppRegistry.from_settings(settings)
registry.add_app("cli_a1", "secret", name="Ops bot")
LarkClient("cli_a1")            # resolves the app (secret, domain) from the registry
```

Two sides: :class:`RegistrySnapshot` (``_snapshot.py``) is what clients read on every call (a
cached, re-validated snapshot); :class:`AppRegistry` (``_admin.py``) adds CRUD, the audit trail
and key rotation. Plain values live in ``_types.py``. Names load on first use. See
docs/apps.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Settings
    from ._admin import AppRegistry
    from ._snapshot import RegistrySnapshot
    from ._types import (
        DOMAINS,
        AppCredentials,
        AppInfo,
        AppSecrets,
        AppSource,
        AuditEntry,
        resolve_domain,
    )

__all__ = [
    "DOMAINS",
    "AppCredentials",
    "AppInfo",
    "AppRegistry",
    "AppSecrets",
    "AppSource",
    "AuditEntry",
    "RegistrySnapshot",
    "open_registry",
    "resolve_domain",
]

_MODULE_OF = {"AppRegistry": "_admin", "RegistrySnapshot": "_snapshot"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{_MODULE_OF.get(name, '_types')}", __name__)
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def open_registry(settings: Settings) -> AppRegistry | None:
    """The registry configured by ``settings`` (``LARK_CONFIG_DB_URL``, default
    ``$LARK_HOME/config.db``), as the client's app resolver consults it.

    No I/O happens here. A client never creates the registry's SQLite file: while it does
    not exist the registry has no apps, and it is looked for again (at most once a second),
    so apps added later by ``lark-service app add`` reach running clients.
    """
    from ._admin import AppRegistry

    return AppRegistry.from_settings(settings, create=False)

"""The app registry (config database). Opened lazily: importing this imports no database code.

```python
from lark_service.apps import AppRegistry

registry = AppRegistry.from_settings(settings)
registry.add_app("cli_a1", "secret", name="Ops bot")
LarkClient("cli_a1")            # resolves the app (secret, domain) from the registry
```

See docs/apps.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._registry import DOMAINS, AppInfo, AppRegistry, AppSecrets, AuditEntry, resolve_domain

if TYPE_CHECKING:
    from .._app import AppSource
    from ..config import Settings

__all__ = [
    "DOMAINS",
    "AppInfo",
    "AppRegistry",
    "AppSecrets",
    "AuditEntry",
    "open_registry",
    "resolve_domain",
]


def open_registry(settings: Settings) -> AppSource | None:
    """The registry configured by ``settings`` (``LARK_CONFIG_DB_URL``, default
    ``$LARK_HOME/config.db``), as the client's app resolver consults it.

    No I/O happens here. A client never creates the registry's SQLite file: while it does
    not exist the registry has no apps, and it is looked for again (at most once a second),
    so apps added later by ``lark-service app add`` reach running clients.
    """
    return AppRegistry.from_settings(settings, create=False)

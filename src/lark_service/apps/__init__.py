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
    """The registry configured by ``settings``, or None when no registry exists yet.

    "Exists" means: ``LARK_CONFIG_DB_URL`` names a server database, or the SQLite file
    (default ``$LARK_HOME/config.db``) is there. A client never creates the file; `lark-service
    init` or `lark-service app add` do. No I/O happens here: the database is read on the
    first lookup.
    """
    from ..storage.engine import sqlite_path

    url = settings.resolved_config_db_url
    path = sqlite_path(url)
    if path is not None and not path.expanduser().is_file():
        return None
    return AppRegistry.from_settings(settings)

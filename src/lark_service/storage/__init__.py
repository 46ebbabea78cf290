"""Storage: engines, the tables of both databases, their migrations, and secret encryption.

```python
from lark_service.storage import ensure_schema, tokens

engine = ensure_schema(settings.resolved_database_url, "state")  # migrated once per process
with engine.begin() as conn:
    conn.execute(tokens.select().where(tokens.c.app_id == app_id))
```

Names are imported on first use: ``lark_service.storage.crypto`` works without loading
SQLAlchemy or Alembic, and Alembic is loaded only by the migration functions. See
docs/storage.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .crypto import SecretBox, fingerprint, generate_key
    from .engine import (
        dispose_all,
        dispose_engine,
        get_engine,
        is_postgresql,
        is_sqlite,
        normalize_url,
        sqlite_path,
    )
    from .migrate import Which, current, ensure_schema, head_revision, upgrade
    from .rekey import reencrypt
    from .tables import (
        api_keys,
        application_audit,
        applications,
        auth_sessions,
        callback_outbox,
        config_metadata,
        processed_events,
        state_metadata,
        tokens,
        user_cache,
        user_cache_negative,
    )

__all__ = [
    "SecretBox",
    "Which",
    "api_keys",
    "application_audit",
    "applications",
    "auth_sessions",
    "callback_outbox",
    "config_metadata",
    "current",
    "dispose_all",
    "dispose_engine",
    "ensure_schema",
    "fingerprint",
    "generate_key",
    "get_engine",
    "head_revision",
    "is_postgresql",
    "is_sqlite",
    "normalize_url",
    "processed_events",
    "reencrypt",
    "sqlite_path",
    "state_metadata",
    "tokens",
    "upgrade",
    "user_cache",
    "user_cache_negative",
]

_MODULE_OF = {
    **dict.fromkeys(("SecretBox", "fingerprint", "generate_key"), "crypto"),
    **dict.fromkeys(
        (
            "dispose_all",
            "dispose_engine",
            "get_engine",
            "is_postgresql",
            "is_sqlite",
            "normalize_url",
            "sqlite_path",
        ),
        "engine",
    ),
    **dict.fromkeys(("Which", "current", "ensure_schema", "head_revision", "upgrade"), "migrate"),
    "reencrypt": "rekey",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{_MODULE_OF.get(name, 'tables')}", __name__)
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""Layout of the app registry: no import cycle with the resolver, and two sides (issue 9.8)."""

from __future__ import annotations

import ast
from pathlib import Path

import lark_service

PACKAGE = Path(lark_service.__file__).parent


def _imports(path: Path) -> set[str]:
    """The lark_service modules ``path`` imports (relative imports resolved)."""
    module = "lark_service." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("lark_service")}


def test_the_apps_package_never_imports_the_resolver() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(n for n in _imports(path) if "_app" in n.split("."))
        for path in (PACKAGE / "apps").glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_read_snapshot_does_not_hold_the_admin_side() -> None:
    from lark_service.apps import AppRegistry, RegistrySnapshot
    from lark_service.apps._snapshot import RegistrySnapshot as direct

    assert RegistrySnapshot is direct
    assert issubclass(AppRegistry, RegistrySnapshot)
    for admin in ("add_app", "update_app", "remove_app", "rotate_key", "audit", "get_secrets"):
        assert not hasattr(RegistrySnapshot, admin)
        assert hasattr(AppRegistry, admin)
    for name in ("get_app", "active_app_ids", "is_fresh", "refresh"):
        assert hasattr(RegistrySnapshot, name)
    assert "_admin" not in _imports(PACKAGE / "apps" / "_snapshot.py")
    assert not any(n.endswith("_admin") for n in _imports(PACKAGE / "apps" / "_snapshot.py"))


def test_public_names_keep_working() -> None:
    from lark_service._app import AppCredentials as from_app
    from lark_service._app import secret_fingerprint
    from lark_service.apps import DOMAINS, AppCredentials, AppInfo, AppSecrets, AuditEntry

    assert from_app is AppCredentials
    assert DOMAINS["lark"].startswith("https://")
    assert AppInfo and AppSecrets and AuditEntry
    assert len(secret_fingerprint("s")) == 16

"""``LARK_HOME`` and its encryption key, created on first use the way ``lark-service init`` does.

:func:`ensure_home_key` is what makes tokens persist out of the box: the first process that
needs the state database creates ``LARK_HOME`` (mode 0700) and a Fernet key in
``$LARK_HOME/.env`` (mode 0600, written atomically), under a file lock, so eight processes
starting together agree on one key. ``lark-service init`` calls the same function.

This module does not import SQLAlchemy.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = [
    "ENV_FILE",
    "INIT_LOCK_TIMEOUT",
    "KEY_VARIABLE",
    "ensure_home_key",
    "private_home",
    "read_env_value",
    "write_env_value",
]

KEY_VARIABLE = "LARK_CONFIG_ENCRYPTION_KEY"
ENV_FILE = ".env"
INIT_LOCK_TIMEOUT = 30.0
"""Seconds to wait for another process creating the same home."""


def private_home(home: Path) -> bool:
    """Create ``home`` (and missing parents) with mode 0700; return whether it was created.

    Safe when several processes create it at once. Raises ``OSError`` when it cannot be made.
    """
    home = home.expanduser()
    if home.is_dir():
        return False
    missing: list[Path] = []
    directory = home
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    created = False
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)  # mkdir's mode is reduced by the umask
        created = path == home or created
    return created


def read_env_value(path: Path, name: str) -> str | None:
    """The value of ``name`` in the dotenv file ``path`` (None when absent or empty)."""
    if not path.is_file():
        return None
    pattern = re.compile(rf"^\s*(?:export\s+)?{re.escape(name)}\s*=\s*(.*)$")
    value = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = pattern.match(line)
        if match:
            value = match.group(1).strip().strip("'\"").strip()
    return value or None


def write_env_value(path: Path, name: str, value: str) -> None:
    """Set ``name=value`` in the dotenv file ``path`` (created 0600; other lines kept).

    The file is replaced atomically, so a crash leaves either the old or the new file.
    """
    lines: list[str] = []
    if path.exists():
        lines = path.read_text(encoding="utf-8").splitlines()
    pattern = re.compile(rf"^\s*(export\s+)?{re.escape(name)}\s*=")
    replaced = False
    for index, line in enumerate(lines):
        if pattern.match(line):
            lines[index] = f"{name}={value}"
            replaced = True
    if not replaced:
        lines.append(f"{name}={value}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def ensure_home_key(home: Path) -> tuple[str, bool]:
    """The key in ``$home/.env``, creating the home and the key when missing.

    Returns ``(key, created)``. Runs under a file lock in ``home`` (``.init.lock``): of several
    processes starting together, one writes the key and the others read it. Raises
    ``OSError`` when the home cannot be created or written (a read-only container), and
    :class:`filelock.Timeout` when another process holds the lock longer than
    :data:`INIT_LOCK_TIMEOUT`.
    """
    from filelock import FileLock

    from .crypto import generate_key

    home = home.expanduser()
    env_file = home / ENV_FILE
    existing = read_env_value(env_file, KEY_VARIABLE)
    if existing:
        return existing, False
    private_home(home)
    with FileLock(home / ".init.lock", timeout=INIT_LOCK_TIMEOUT, mode=0o600):
        existing = read_env_value(env_file, KEY_VARIABLE)
        if existing:
            return existing, False
        key = generate_key()
        write_env_value(env_file, KEY_VARIABLE, key)
        return key, True

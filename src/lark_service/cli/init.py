"""``lark-service init``: create ``LARK_HOME``, an encryption key and both databases."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from ._common import console, markup_safe, user_errors

__all__ = ["KEY_VARIABLE", "init", "key_source", "write_env_value"]

KEY_VARIABLE = "LARK_CONFIG_ENCRYPTION_KEY"


def write_env_value(path: Path, name: str, value: str) -> None:
    """Set ``name=value`` in the dotenv file ``path`` (created 0600; other lines kept).

    The file is replaced atomically, so a crash leaves either the old or the new file.
    """
    from ..storage.home import write_env_value as write

    write(path, name, value)


def key_source(home: Path) -> Path | None:
    """The dotenv file the encryption key comes from, or None (the environment, or unset).

    Follows Settings' order: the environment wins, then ``./.env``, then
    ``$LARK_HOME/.env``.
    """
    if os.environ.get(KEY_VARIABLE, "").strip():
        return None
    pattern = re.compile(rf"^\s*(export\s+)?{KEY_VARIABLE}\s*=\s*\S")
    for candidate in (Path(".env"), home / ".env"):
        if candidate.is_file() and any(
            pattern.match(line) for line in candidate.read_text(encoding="utf-8").splitlines()
        ):
            return candidate
    return None


def _private_home(home: Path) -> bool:
    """Create ``home`` with mode 0700; return whether it was created."""
    from ..storage.home import private_home

    return private_home(home)


@click.command()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where lark-service keeps its files (default: LARK_HOME, else ~/.lark-service).",
)
@user_errors
def init(home: Path | None) -> None:
    """Create LARK_HOME, an encryption key (in $LARK_HOME/.env) and migrate both databases."""
    from rich.table import Table

    from ..apps import AppRegistry
    from ..config import get_settings
    from ..storage.crypto import SecretBox
    from ..storage.home import ensure_home_key
    from ..storage.migrate import head_revision, upgrade

    settings = get_settings(home=home)
    home = settings.home
    created = _private_home(home)
    if settings.config_encryption_key is None:
        env_file = home / ".env"
        _, generated = ensure_home_key(home)  # the same path a client's first use takes
        settings = get_settings(home=home)
        key_note = (
            f"generated a new key into {env_file} (mode 0600)"
            if generated
            else f"using the key from {env_file}"
        )
    else:
        SecretBox.from_settings(settings)  # a malformed key stops here
        source = key_source(home)
        key_note = f"using the key from {source or 'the environment'}"
    upgrade(settings.resolved_config_db_url, "config")
    upgrade(settings.resolved_database_url, "state")
    AppRegistry.from_settings(settings).check_key()  # an existing registry must open
    out = console()
    table = Table(title="lark-service is ready", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("where")
    table.add_row("home", f"{home}{' (created, mode 0700)' if created else ''}")
    table.add_row("encryption key", key_note)
    table.add_row(
        "app registry",
        markup_safe(f"{_safe(settings.resolved_config_db_url)} @ {head_revision('config')}"),
    )
    table.add_row(
        "state database",
        markup_safe(f"{_safe(settings.resolved_database_url)} @ {head_revision('state')}"),
    )
    out.print(table)
    out.print("Next: `lark-service app add APP_ID` to register an app.")


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    from ..storage.engine import normalize_url

    return make_url(normalize_url(url)).render_as_string(hide_password=True)

"""``lark-service db ...``: migrate and inspect the config and state databases."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import click

from ._common import console, print_json, user_errors

if TYPE_CHECKING:
    from ..storage.migrate import Which

__all__ = ["db"]

_WHICH = click.Choice(["config", "state", "both"])


@click.group()
def db() -> None:
    """Migrate the app registry (config) and state databases."""


def _selected(which: str) -> list[Which]:
    return ["config", "state"] if which == "both" else [cast("Which", which)]


def _url(which: str) -> str:
    from ..config import get_settings

    settings = get_settings()
    return settings.resolved_config_db_url if which == "config" else settings.resolved_database_url


@db.command("upgrade")
@click.option("--which", type=_WHICH, default="both", show_default=True)
@user_errors
def upgrade(which: str) -> None:
    """Bring the databases to the newest schema (safe to run at any time)."""
    from ..storage.migrate import current, upgrade

    out = console()
    for name in _selected(which):
        url = _url(name)
        before = current(url, name)
        upgrade(url, name)
        after = current(url, name)
        change = "already at" if before == after else f"{before or 'empty'} ->"
        out.print(f"[green]{name}[/]: {change} {after}", highlight=False)


@db.command("current")
@click.option("--which", type=_WHICH, default="both", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@user_errors
def current_cmd(which: str, as_json: bool) -> None:
    """Show each database's revision and the newest one this version ships."""
    from ..storage.migrate import current, head_revision

    rows = []
    for name in _selected(which):
        at = current(_url(name), name)
        head = head_revision(name)
        rows.append({"database": name, "revision": at, "head": head, "up_to_date": at == head})
    if as_json:
        print_json(rows)
        return
    out = console()
    for row in rows:
        state = "[green]up to date[/]" if row["up_to_date"] else "[yellow]needs upgrade[/]"
        out.print(
            f"{row['database']}: {row['revision'] or 'empty'} (head {row['head']}) {state}",
            highlight=False,
        )

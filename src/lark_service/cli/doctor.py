"""``lark-service doctor``: is this installation healthy? One table, a fix for each problem."""

from __future__ import annotations

import click

from ._common import console, markup_safe, print_json, user_errors

__all__ = ["doctor"]

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.option("--no-apps", is_flag=True, help="Do not fetch a token for each active app.")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds per network check.")
@user_errors
def doctor(as_json: bool, no_apps: bool, timeout: float) -> None:
    """Check configuration, encryption key, both databases and their migrations, broker,
    Redis, each active app's credentials (a token fetch), clock skew against Feishu, file
    permissions under LARK_HOME and optional extras. Exits 1 when a check failed."""
    from ..doctor import run_checks

    checks = run_checks(timeout=timeout, apps=not no_apps)
    failed = [c for c in checks if c.failed]
    if as_json:
        print_json({"ok": not failed, "checks": [c.to_dict() for c in checks]})
    else:
        from rich.table import Table

        table = Table("check", "status", "detail", "fix", title="lark-service doctor")
        for check in checks:
            style = _STYLE[check.status]
            table.add_row(
                markup_safe(check.name),
                f"[{style}]{check.status}[/]",
                markup_safe(check.detail),
                markup_safe(check.fix) if check.status in ("warn", "fail") else "",
            )
        out = console()
        out.print(table)
        if failed:
            out.print(f"[bold red]{len(failed)} check(s) failed.[/]")
        else:
            out.print("[green]No problem found.[/]")
    if failed:
        raise SystemExit(1)

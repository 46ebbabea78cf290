"""``lark-service app ...``: the app registry (add, list, show, update, enable, disable,
remove, test)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from ._common import console, markup_safe, print_json, user_errors

if TYPE_CHECKING:
    from ..apps import AppInfo, AppRegistry

__all__ = ["app", "format_time", "open_app_registry"]


def open_app_registry() -> AppRegistry:
    """The registry of the current settings (``LARK_HOME``, ``LARK_CONFIG_DB_URL``, key)."""
    from ..apps import AppRegistry
    from ..config import get_settings

    return AppRegistry.from_settings(get_settings(), max_age=0.0)


def format_time(epoch: float | None) -> str:
    """Local time, to the second ("-" for None)."""
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float) -> str:
    """``1h 52m``, ``3m 10s``, ``expired``."""
    if seconds <= 0:
        return "expired"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


@click.group()
def app() -> None:
    """Manage the Feishu apps in the registry (secrets encrypted, changes audited)."""


@app.command("add")
@click.argument("app_id")
@click.option(
    "--secret",
    "app_secret",
    prompt="App secret",
    hide_input=True,
    help="The app secret (prompted for, hidden, when omitted).",
)
@click.option("--name", default="", help="A name people recognize.")
@click.option("--description", default="", help="What the app is used for.")
@click.option("--encrypt-key", default=None, help="Event encrypt key (for callbacks).")
@click.option("--verification-token", default=None, help="Verification token (for callbacks).")
@click.option(
    "--domain",
    default=None,
    help="feishu, lark or an OpenAPI base URL (default: LARK_BASE_URL, else feishu).",
)
@click.option("--disabled", is_flag=True, help="Register it disabled.")
@click.option("--json", "as_json", is_flag=True, help="Print the app as JSON.")
@user_errors
def add(
    app_id: str,
    app_secret: str,
    name: str,
    description: str,
    encrypt_key: str | None,
    verification_token: str | None,
    domain: str | None,
    disabled: bool,
    as_json: bool,
) -> None:
    """Register APP_ID with its secret."""
    from ..config import get_settings

    registry = open_app_registry()
    info = registry.add_app(
        app_id,
        app_secret,
        name=name,
        description=description,
        encrypt_key=encrypt_key,
        verification_token=verification_token,
        domain=domain or get_settings().base_url,
        status="disabled" if disabled else "active",
    )
    if as_json:
        print_json(info.to_dict())
        return
    console().print(
        f"[green]added[/] {markup_safe(info.app_id)} ({info.status}, {markup_safe(info.domain)})",
        highlight=False,
    )


@app.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@user_errors
def list_apps(as_json: bool) -> None:
    """List the registered apps."""
    from rich.table import Table

    apps = open_app_registry().list_apps()
    if as_json:
        print_json([a.to_dict() for a in apps])
        return
    out = console()
    if not apps:
        out.print("No apps registered. Add one with `lark-service app add APP_ID`.")
        return
    table = Table(title="Registered apps")
    for column in ("app_id", "name", "status", "domain", "updated"):
        table.add_column(column)
    for info in apps:
        status = "[green]active[/]" if info.status == "active" else "[red]disabled[/]"
        table.add_row(
            markup_safe(info.app_id),
            markup_safe(info.name),
            status,
            markup_safe(info.domain),
            format_time(info.updated_at),
        )
    out.print(table)


@app.command("show")
@click.argument("app_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--audit", "audit_limit", default=10, show_default=True, help="Audit rows shown.")
@user_errors
def show(app_id: str, as_json: bool, audit_limit: int) -> None:
    """Show one app (secrets only as a fingerprint) and its recent changes."""
    from rich.table import Table

    from .._app import secret_fingerprint

    registry = open_app_registry()
    info = registry.get_info(app_id)
    secrets = registry.get_secrets(app_id)  # proves the key opens the secrets
    fingerprint = secret_fingerprint(secrets.app_secret)
    trail = registry.audit(app_id, limit=audit_limit)
    if as_json:
        print_json(
            {
                **info.to_dict(),
                "secret_fingerprint": fingerprint,
                "audit": [entry.to_dict() for entry in trail],
            }
        )
        return
    out = console()
    table = Table(title=f"App {app_id}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for label, value in _rows(info, fingerprint):
        table.add_row(label, markup_safe(value))
    out.print(table)
    if trail:
        history = Table(title="Recent changes")
        for column in ("when", "action", "by", "fields"):
            history.add_column(column)
        for entry in trail:
            history.add_row(
                format_time(entry.at),
                entry.action,
                markup_safe(entry.actor),
                markup_safe(", ".join(entry.fields) or "-"),
            )
        out.print(history)


def _rows(info: AppInfo, fingerprint: str) -> list[tuple[str, str]]:
    return [
        ("app_id", info.app_id),
        ("name", info.name or "-"),
        ("description", info.description or "-"),
        ("status", info.status),
        ("domain", info.domain),
        ("app_secret", f"set (fingerprint {fingerprint})"),
        ("encrypt_key", "set" if info.has_encrypt_key else "-"),
        ("verification_token", "set" if info.has_verification_token else "-"),
        ("created", f"{format_time(info.created_at)} by {info.created_by or '-'}"),
        ("updated", format_time(info.updated_at)),
    ]


@app.command("update")
@click.argument("app_id")
@click.option("--secret", "app_secret", default=None, help="A new app secret.")
@click.option("--prompt-secret", is_flag=True, help="Ask for the new app secret (hidden) instead.")
@click.option("--name", default=None)
@click.option("--description", default=None)
@click.option("--encrypt-key", default=None, help="New encrypt key ('' removes it).")
@click.option("--verification-token", default=None, help="New verification token ('' removes it).")
@click.option("--domain", default=None, help="feishu, lark or an OpenAPI base URL.")
@click.option("--json", "as_json", is_flag=True, help="Print the app as JSON.")
@user_errors
def update(
    app_id: str,
    app_secret: str | None,
    prompt_secret: bool,
    name: str | None,
    description: str | None,
    encrypt_key: str | None,
    verification_token: str | None,
    domain: str | None,
    as_json: bool,
) -> None:
    """Change fields of APP_ID (only those given)."""
    if prompt_secret:
        app_secret = click.prompt("New app secret", hide_input=True)
    info = open_app_registry().update_app(
        app_id,
        app_secret=app_secret,
        name=name,
        description=description,
        encrypt_key=encrypt_key,
        verification_token=verification_token,
        domain=domain,
    )
    if as_json:
        print_json(info.to_dict())
        return
    console().print(f"[green]updated[/] {markup_safe(info.app_id)}", highlight=False)


@app.command("enable")
@click.argument("app_id")
@user_errors
def enable(app_id: str) -> None:
    """Allow calls as APP_ID again."""
    open_app_registry().enable_app(app_id)
    console().print(f"[green]enabled[/] {markup_safe(app_id)}", highlight=False)


@app.command("disable")
@click.argument("app_id")
@user_errors
def disable(app_id: str) -> None:
    """Refuse calls as APP_ID (running clients notice within a second)."""
    open_app_registry().disable_app(app_id)
    console().print(f"[yellow]disabled[/] {markup_safe(app_id)}", highlight=False)


@app.command("remove")
@click.argument("app_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@user_errors
def remove(app_id: str, yes: bool) -> None:
    """Delete APP_ID from the registry (its audit trail stays)."""
    registry = open_app_registry()
    registry.get_info(app_id)  # AppNotFoundError before asking
    if not yes:
        click.confirm(f"Remove app {app_id}?", abort=True)
    registry.remove_app(app_id)
    console().print(f"[red]removed[/] {markup_safe(app_id)}", highlight=False)


@app.command("test")
@click.argument("app_id")
@click.option(
    "--kind",
    type=click.Choice(["tenant", "app"]),
    default="tenant",
    show_default=True,
    help="Which token to fetch.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@user_errors
def test(app_id: str, kind: str, as_json: bool) -> None:
    """Fetch a token for APP_ID from Feishu and report the latency."""
    from .. import LarkClient
    from .._retry import NO_RETRY

    registry = open_app_registry()
    with LarkClient(app_id=app_id, registry=registry, retry=NO_RETRY) as client:
        creds = client.resolve_app(app_id)
        started = time.perf_counter()
        record = client.check_credentials(kind, app_id=app_id)  # bypasses every cache
        latency_ms = (time.perf_counter() - started) * 1000
    result: dict[str, Any] = {
        "app_id": app_id,
        "kind": kind,
        "ok": True,
        "latency_ms": round(latency_ms, 1),
        "expires_in": round(record.lifetime),
        "base_url": creds.base_url,
    }
    if as_json:
        print_json(result)
        return
    console().print(
        f"[green]ok[/] {markup_safe(app_id)}: {kind} token fetched from "
        f"{markup_safe(creds.base_url)} in "
        f"{latency_ms:.0f} ms (valid {format_duration(record.lifetime)})",
        highlight=False,
    )

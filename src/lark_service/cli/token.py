"""``lark-service token ...``: inspect, fetch and forget stored access tokens."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from ._common import console, markup_safe, print_json, user_errors
from .app import format_duration, format_time

if TYPE_CHECKING:
    from ..credentials import SqlTokenStore

__all__ = ["mask_token", "token"]

_KINDS = click.Choice(["tenant", "app"])


def mask_token(value: str | None) -> str:
    """``t-g1…`` plus the length: enough to tell tokens apart, useless to an attacker."""
    if value is None:
        return "(unreadable)"
    return f"{value[:4]}… ({len(value)} chars)"


def _store() -> SqlTokenStore:
    from .. import errors
    from ..config import get_settings
    from ..credentials import SqlTokenStore, open_token_store

    store = open_token_store(get_settings(), create_home=False)
    if not isinstance(store, SqlTokenStore):
        raise errors.EncryptionKeyError(
            "LARK_CONFIG_ENCRYPTION_KEY is not set: no token store to read",
            hint="Run `lark-service init`; tokens are then kept encrypted in the state database.",
        )
    return store


@click.group()
def token() -> None:
    """Inspect, fetch and forget stored access tokens (values masked unless --show)."""


@token.command("status")
@click.argument("app_id", required=False)
@click.option("--show", is_flag=True, help="Print the token values themselves.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@user_errors
def status(app_id: str | None, show: bool, as_json: bool) -> None:
    """List the stored tokens (of APP_ID, or all) with their expiry."""
    from rich.table import Table

    records = _store().records(app_id)
    now = time.time()
    rows: list[dict[str, Any]] = [
        {
            "app_id": r.app_id,
            "kind": r.kind,
            "subject": r.subject,
            "fingerprint": r.fingerprint,
            "token": (r.value if show else mask_token(r.value)),
            "readable": r.readable,
            "issued_at": r.issued_at,
            "expires_at": r.expires_at,
            "expires_in": round(r.expires_at - now),
        }
        for r in records
    ]
    if as_json:
        print_json(rows)
        return
    out = console()
    if not rows:
        out.print("No stored tokens" + (f" for {markup_safe(app_id)}." if app_id else "."))
        return
    table = Table(title="Stored tokens")
    for column in ("app_id", "kind", "subject", "secret fp", "token", "issued", "expires in"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            markup_safe(row["app_id"]),
            row["kind"],
            markup_safe(row["subject"] or "-"),
            row["fingerprint"][:8],
            str(row["token"]),
            format_time(row["issued_at"]),
            format_duration(row["expires_at"] - now),
        )
    out.print(table)


@token.command("get")
@click.argument("app_id")
@click.option("--kind", type=_KINDS, default="tenant", show_default=True)
@click.option("--show", is_flag=True, help="Print only the token value (for scripts).")
@user_errors
def get(app_id: str, kind: str, show: bool) -> None:
    """The current token of APP_ID: stored, or fetched (and stored) if there is none."""
    from .. import LarkClient

    with LarkClient(app_id=app_id) as client:
        value = client.access_token(kind, app_id=app_id)
    if show:
        click.echo(value)
        return
    console().print(f"{markup_safe(app_id)} {kind} token: {mask_token(value)}", highlight=False)


@token.command("revoke")
@click.argument("app_id")
@click.option("--kind", type=_KINDS, default=None, help="Only this kind (default: all).")
@user_errors
def revoke(app_id: str, kind: str | None) -> None:
    """Forget the stored tokens of APP_ID so the next call fetches new ones.

    Feishu has no revocation for app and tenant tokens; processes holding one in memory keep
    using it until it is rejected or due for refresh.
    """
    count = _store().remove(app_id, kind)
    console().print(f"deleted {count} stored token(s) of {markup_safe(app_id)}", highlight=False)

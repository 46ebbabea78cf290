"""``lark-service apikey create|list|revoke``: API keys of the HTTP gateway."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

import click

from ._common import console, print_json, user_errors

if TYPE_CHECKING:
    from ..gateway.keys import ApiKeyStore

__all__ = ["apikey"]


@click.group()
def apikey() -> None:
    """Manage the HTTP gateway's API keys (what non-Python services send as
    'Authorization: Bearer <key>').

    Not the encryption key: 'lark-service key rotate' changes LARK_CONFIG_ENCRYPTION_KEY,
    which encrypts app secrets and tokens. Keys are stored only as an HMAC-SHA256 hash
    (LARK_GATEWAY_KEY_SECRET, else $LARK_HOME/gateway-key-secret) in the state database.
    """


def _expiry(value: str | None, now: float) -> float | None:
    """``30d``, ``12h``, ``90m`` from now, or an ISO date/time (UTC when no zone)."""
    if not value:
        return None
    text = value.strip().lower()
    match = re.fullmatch(r"(\d+)\s*(m|h|d|w)", text)
    if match:
        unit = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}[match.group(2)]
        return now + int(match.group(1)) * unit
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            "expected a duration (30d, 12h, 90m, 2w) or an ISO date (2027-01-31)",
            param_hint="--expires",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def _rate(value: str | None) -> float | None:
    if value is None:
        return None
    from ..errors import ValidationError
    from ..gateway.keys import parse_rate

    try:
        return parse_rate(value)
    except ValidationError as exc:
        raise click.BadParameter(exc.msg, param_hint="--rate") from None


def _when(value: float | None) -> str:
    if value is None:
        return "-"
    return dt.datetime.fromtimestamp(value, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _store() -> ApiKeyStore:
    from ..config import get_settings
    from ..gateway.keys import ApiKeyStore

    return ApiKeyStore.from_settings(get_settings())


@apikey.command("create")
@click.option("--name", required=True, help="Who uses the key (e.g. billing).")
@click.option(
    "--apps",
    required=True,
    help="Comma-separated app ids the key may act as ('*': every app).",
)
@click.option(
    "--scopes",
    required=True,
    help="Comma-separated scopes, e.g. messages:send,contact:read ('*': all but apps:token "
    "and raw:call).",
)
@click.option("--rate", default=None, help="Token-bucket rate: 20/s, 600/min (default: none).")
@click.option(
    "--burst", default=None, type=click.IntRange(min=1), help="Bucket size (default: the rate)."
)
@click.option("--expires", default=None, help="30d, 12h, 2w, or an ISO date (default: never).")
@user_errors
def create(
    name: str,
    apps: str,
    scopes: str,
    rate: str | None,
    burst: int | None,
    expires: str | None,
) -> None:
    """Create a key and print it once (only its hash is kept: copy it now)."""
    import time

    per_second = _rate(rate)
    if burst is not None and per_second is None:
        raise click.BadParameter("--burst needs --rate", param_hint="--burst")
    store = _store()
    made = store.create(
        name,
        apps=apps.split(","),
        scopes=scopes.split(","),
        rate=per_second,
        burst=burst,
        expires_at=_expiry(expires, time.time()),
    )
    out = console()
    out.print(
        f"[green]created[/] API key {made.record.name!r} (id lsk_{made.record.prefix}) for "
        f"{', '.join(made.record.apps)} with {', '.join(made.record.scopes)}",
        highlight=False,
    )
    out.print("The key is shown only now; store it as a secret:", highlight=False)
    click.echo(made.key)


@apikey.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include revoked keys.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")
@user_errors
def list_keys(show_all: bool, as_json: bool) -> None:
    """The keys: name, id, apps, scopes, limit, created, expires, last used (never the key)."""
    import time

    from rich.table import Table

    store = _store()
    keys = store.list_keys(include_revoked=show_all)
    now = time.time()
    if as_json:
        print_json(
            [
                {
                    "name": key.name,
                    "id": f"lsk_{key.prefix}",
                    "apps": list(key.apps),
                    "scopes": list(key.scopes),
                    "rate": key.rate,
                    "burst": key.burst,
                    "created_at": key.created_at,
                    "expires_at": key.expires_at,
                    "last_used_at": key.last_used_at,
                    "status": key.status(now),
                }
                for key in keys
            ]
        )
        return
    if not keys:
        click.echo("no API keys (lark-service apikey create --name NAME --apps ... --scopes ...)")
        return
    table = Table("name", "id", "apps", "scopes", "rate", "created", "expires", "last used")
    if show_all:
        table.add_column("status")
    for key in keys:
        limit = "-" if key.rate is None else f"{key.rate:g}/s burst {key.burst}"
        row = [
            key.name,
            f"lsk_{key.prefix}",
            ",".join(key.apps),
            ",".join(key.scopes),
            limit,
            _when(key.created_at),
            _when(key.expires_at),
            _when(key.last_used_at),
        ]
        if show_all:
            row.append(key.status(now))
        table.add_row(*row)
    console().print(table)


@apikey.command("revoke")
@click.argument("name_or_id")
@user_errors
def revoke(name_or_id: str) -> None:
    """Revoke the key(s) called NAME_OR_ID, or with that id (lsk_...); servers refuse it
    within 5 seconds."""
    store = _store()
    for key in store.revoke(name_or_id):
        console().print(f"[yellow]revoked[/] {key.name} (lsk_{key.prefix})", highlight=False)

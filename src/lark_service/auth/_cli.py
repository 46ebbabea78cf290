"""``lark-service auth ...``: user OAuth from the command line.

``url [--user OPEN_ID] [--scope S]... [--redirect-uri URL]`` prints a consent link (10 minutes,
single use); ``login [--scope S]...`` runs the device flow (open the printed link, approve, the
tokens are stored); ``status OPEN_ID`` and ``revoke OPEN_ID``.
"""

from __future__ import annotations

import time

import click

from ..cli._common import app_options, console, make_client, print_json, user_errors

__all__ = ["command"]


@click.group("auth")
def command() -> None:
    """User authorization (OAuth): consent links, device login, status, revoke."""


@command.command("url")
@click.option("--user", "user", default=None, help="The open_id the link is for.")
@click.option("--scope", "scopes", multiple=True, help="A scope to ask for (repeatable).")
@click.option(
    "--redirect-uri",
    default=None,
    help="Where Feishu sends the browser (default: LARK_OAUTH_REDIRECT_URL).",
)
@app_options
@user_errors
def url(
    user: str | None,
    scopes: tuple[str, ...],
    redirect_uri: str | None,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Print a consent link (works once, for 10 minutes)."""
    with make_client(app_id, base_url) as client:
        link = client.auth.authorization_url(user, list(scopes), redirect_uri)
    click.echo(link.url)


@command.command("login")
@click.option("--scope", "scopes", multiple=True, help="A scope to ask for (repeatable).")
@click.option("--timeout", type=float, default=None, help="Seconds to wait for the approval.")
@app_options
@user_errors
def login(
    scopes: tuple[str, ...], timeout: float | None, app_id: str | None, base_url: str | None
) -> None:
    """Authorize as yourself with the device flow (no redirect URL needed)."""
    with make_client(app_id, base_url) as client:
        device = client.auth.start_device_authorization(list(scopes))
        link = device.verification_uri_complete or device.verification_uri
        click.echo(f"Open {link} and approve (code {device.user_code}).", err=True)
        done = client.auth.poll_device_authorization(device, timeout=timeout)
    click.echo(f"Authorized {done.open_id} for {done.app_id} ({len(done.scopes)} scopes).")


@command.command("status")
@click.argument("open_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@app_options
@user_errors
def status(open_id: str, as_json: bool, app_id: str | None, base_url: str | None) -> None:
    """Whether the app can act as OPEN_ID, and until when."""
    with make_client(app_id, base_url) as client:
        result = client.auth.status(open_id)
    if as_json:
        print_json(result.model_dump())
        return
    out = console()
    if not result.authorized:
        out.print(
            f"{open_id}: not authorized (send a link: lark-service auth url --user {open_id})"
        )
        return
    now = time.time()
    parts = [f"{open_id}: authorized"]
    if result.refresh_expires_at:
        parts.append(f"authorization ends in {int((result.refresh_expires_at - now) / 86400)} d")
    if result.scopes:
        parts.append("scopes: " + " ".join(result.scopes))
    out.print("; ".join(parts))


@command.command("revoke")
@click.argument("open_id")
@app_options
@user_errors
def revoke(open_id: str, app_id: str | None, base_url: str | None) -> None:
    """Forget OPEN_ID's tokens here."""
    with make_client(app_id, base_url) as client:
        had = client.auth.revoke(open_id)
    click.echo(f"{open_id}: " + ("tokens forgotten." if had else "no tokens were stored."))

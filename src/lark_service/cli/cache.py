"""``lark-service cache ...``: inspect and clear the contact cache in the state database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import click

from ._common import console, markup_safe, print_json, user_errors

__all__ = ["cache"]

P = ParamSpec("P")
T = TypeVar("T")


def _open() -> Any:
    from ..config import get_settings
    from ..contact.cache import UserCache

    settings = get_settings()
    return UserCache(
        settings.resolved_database_url,
        ttl=settings.contact_cache_ttl,
        negative_ttl=settings.contact_negative_ttl,
    )


def _database_errors(fn: Callable[P, T]) -> Callable[P, T]:
    """A database that cannot be reached is a one-line error, not a traceback."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return fn(*args, **kwargs)
        except SQLAlchemyError as exc:
            raise click.ClickException(
                f"the state database (LARK_DATABASE_URL) failed: {type(exc).__name__}"
            ) from None

    return wrapper


@click.group()
def cache() -> None:
    """The contact cache: users per app (24 h) and unknown emails/mobiles (short)."""


@cache.command("stats")
@click.option("--app-id", default=None, help="Only this app's rows.")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@user_errors
@_database_errors
def stats(app_id: str | None, as_json: bool) -> None:
    """Rows cached per app: all, live (within the TTL), negative."""
    found = _open().stats(app_id)
    if as_json:
        print_json(
            {
                "database": found.database,
                "ttl": found.ttl,
                "negative_ttl": found.negative_ttl,
                "rows": found.rows,
                "live": found.live,
                "expired": found.expired,
                "negative": found.negative,
                "apps": found.apps,
            }
        )
        return
    from rich.table import Table

    out = console()
    out.print(
        markup_safe(
            f"{found.database}  ttl {found.ttl:g} s, negative ttl {found.negative_ttl:g} s"
        ),
        highlight=False,
    )
    table = Table("app_id", "rows", "live", "expired", "negative")
    for app, numbers in found.apps.items():
        table.add_row(
            markup_safe(app),
            str(numbers["rows"]),
            str(numbers["live"]),
            str(numbers["rows"] - numbers["live"]),
            str(numbers["negative"]),
        )
    table.add_row(
        "[bold]total[/]",
        str(found.rows),
        str(found.live),
        str(found.expired),
        str(found.negative),
    )
    out.print(table)


@cache.command("clear")
@click.option("--app-id", default=None, help="Only this app's rows (default: every app).")
@click.option("--expired", "expired_only", is_flag=True, help="Only rows past their TTL.")
@user_errors
@_database_errors
def clear(app_id: str | None, expired_only: bool) -> None:
    """Delete cached users (the next lookups ask Feishu again)."""
    removed = _open().clear(app_id, expired_only=expired_only)
    which = "expired " if expired_only else ""
    scope = f" of app {app_id}" if app_id else ""
    console().print(markup_safe(f"removed {removed} {which}cached users{scope}"), highlight=False)

"""Shared CLI pieces: one error handler, the console, client options."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from ..errors import LarkError, ValidationError

__all__ = ["app_options", "console", "err_console", "make_client", "print_json", "user_errors"]

P = ParamSpec("P")
T = TypeVar("T")


def console() -> Any:
    from rich.console import Console

    return Console()


def err_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def user_errors(fn: Callable[P, T]) -> Callable[P, T]:
    """Turn lark-service errors into one clear message and a non-zero exit (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except ValidationError as exc:
            _fail(exc, 2)
        except LarkError as exc:
            _fail(exc, 1)

    return wrapper


def _fail(exc: LarkError, code: int) -> NoReturn:
    out = err_console()
    out.print(f"[bold red]error:[/] {type(exc).__name__}: {exc.msg}", highlight=False)
    details = [
        f"{name}={value}"
        for name, value in (
            ("code", exc.code),
            ("http_status", exc.http_status),
            ("request_id", exc.request_id),
            ("log_id", exc.log_id),
        )
        if value is not None
    ]
    if details:
        out.print("  " + "  ".join(details), highlight=False)
    if exc.hint:
        out.print(f"  [yellow]hint:[/] {exc.hint}", highlight=False)
    raise SystemExit(code)


def app_options(fn: Callable[P, T]) -> Callable[P, T]:
    """``--app-id`` and ``--base-url`` for commands that call Feishu."""
    fn = click.option(
        "--base-url",
        envvar="LARK_BASE_URL",
        default=None,
        help="OpenAPI base URL (default https://open.feishu.cn; the emulator's URL in tests).",
    )(fn)
    fn = click.option(
        "--app-id", default=None, help="App to act as (default: LARK_APP_ID or the only app)."
    )(fn)
    return fn


def make_client(app_id: str | None, base_url: str | None) -> Any:
    """A client for ``--app-id``; with ``LARK_APP_SECRET`` set and no ``LARK_APP_ID``, the two
    form an ad hoc app (secrets never go on the command line, where ``ps`` shows them)."""
    from .. import LarkClient
    from ..config import get_settings

    settings = get_settings()
    secret = None
    if app_id and settings.app_secret is not None and settings.app_id in (None, app_id):
        secret = settings.app_secret.get_secret_value()
    return LarkClient(app_id=app_id, app_secret=secret, base_url=base_url, settings=settings)


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))

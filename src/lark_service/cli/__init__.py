"""The ``lark-service`` command line (click + rich).

Each command group lives in its own module and is added in :data:`_COMMANDS`; heavy imports
(databases, servers) happen inside the commands, so ``lark-service --help`` stays fast.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

import click

from .._version import __version__
from ._common import handle_error

__all__ = ["cli", "main"]

# (module, attribute) of every top-level command, in help order.
_COMMANDS: list[tuple[str, str]] = [
    (".send", "send"),
    (".user", "user"),
    (".chat", "chat"),
    (".cache", "cache"),
    (".emulator", "emulator"),
    (".demo", "demo"),
    (".init", "init"),
    (".db", "db"),
    (".app", "app"),
    (".token", "token"),
    (".key", "key"),
    (".serve", "serve"),
    (".worker", "worker"),
    (".callbacks", "callbacks"),
]


class _Group(click.Group):
    """The top-level group: errors no command handled still get the one error display
    (a clear line, the extra to install, CLI terms) instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if not isinstance(exc, click.ClickException | click.exceptions.Exit):
                handle_error(exc, ctx.invoked_subcommand)
            raise


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="lark-service")
def cli() -> None:
    """Feishu/Lark for internal services: send messages, manage apps and tokens, run the
    callback server, or a local Feishu emulator."""


for _module, _attr in _COMMANDS:
    cli.add_command(getattr(import_module(_module, __name__), _attr))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``lark-service`` script."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="lark-service")

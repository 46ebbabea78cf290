"""The ``lark-service`` command line (click + rich).

Commands are found, not listed: every module ``lark_service.cli.<name>`` defines the command
``<name>`` (an attribute of that name), and a domain folder may bring its own commands in
``lark_service/<domain>/_cli.py`` (an attribute ``command``). Heavy imports (databases,
servers) happen inside the commands, so ``lark-service --help`` stays fast.
"""

from __future__ import annotations

import os
import pkgutil
import sys
from importlib import import_module
from typing import Any

import click

from .._version import __version__
from ._common import handle_error

__all__ = ["cli", "main"]


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
    # A one-shot command reports its outcome itself (one `error:` line and a hint): the
    # library's per-request WARNING lines would repeat it in API terms. LARK_LOG_LEVEL (or a
    # long-running command's --log-level) brings them back.
    if not os.environ.get("LARK_LOG_LEVEL"):
        from ..logging import configure_logging

        configure_logging("ERROR")


def _discover_commands() -> list[click.Command]:
    """Every command: ``cli/<name>.py``'s ``<name>``, then each domain's ``_cli.command``."""
    found: list[click.Command] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        command = getattr(import_module(f"{__name__}.{info.name}"), info.name, None)
        if isinstance(command, click.Command):
            found.append(command)
    package = import_module("lark_service")
    for info in pkgutil.iter_modules(package.__path__):
        folder = os.path.join(getattr(info.module_finder, "path", ""), info.name)
        if info.ispkg and os.path.exists(os.path.join(folder, "_cli.py")):
            command = getattr(import_module(f"lark_service.{info.name}._cli"), "command", None)
            if isinstance(command, click.Command):
                found.append(command)
    return found


for _command in _discover_commands():
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``lark-service`` script."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="lark-service")

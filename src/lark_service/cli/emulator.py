"""``lark-service emulator``: run the local Feishu emulator."""

from __future__ import annotations

import click

__all__ = ["emulator"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8900, show_default=True, type=int, help="Port to listen on.")
@click.option("--no-seed", is_flag=True, help="Start empty instead of with the demo app and users.")
def emulator(host: str, port: int, no_seed: bool) -> None:
    """Run a stateful local Feishu OpenAPI (control API under /_emulator/)."""
    try:
        from ..testing.emulator import run
    except ImportError as exc:  # starlette/uvicorn missing
        raise click.ClickException(
            f"the emulator needs its extras ({exc.name}): pip install 'lark-service[testing]'"
        ) from exc
    click.echo(f"Feishu emulator on http://{host}:{port} (Ctrl-C to stop)")
    run(host=host, port=port, seed_demo=not no_seed)

"""``lark-service emulator``: run the local Feishu emulator."""

from __future__ import annotations

import click

__all__ = ["emulator"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=8900, show_default=True, type=int, help="Port to listen on (0: a free one)."
)
@click.option("--no-seed", is_flag=True, help="Start empty instead of with the demo app and users.")
def emulator(host: str, port: int, no_seed: bool) -> None:
    """Run a stateful local Feishu OpenAPI (control API under /_emulator/).

    It is served exactly as the lark_emulator pytest fixture serves it (same server, same
    header casing), so the official SDK sees the same answers from both.
    """

    def ready(url: str) -> None:
        click.echo(f"Feishu emulator on {url} (Ctrl-C to stop)")

    try:
        from ..testing.emulator import run

        run(host=host, port=port, seed_demo=not no_seed, on_ready=ready)
    except ImportError as exc:  # starlette/uvicorn missing
        raise click.ClickException(
            f"the emulator needs its extras ({exc.name}): pip install 'lark-service[testing]'"
        ) from exc
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port"
        ) from exc

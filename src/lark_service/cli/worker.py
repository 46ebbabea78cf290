"""``lark-service worker``: consume callbacks from RabbitMQ and run the handlers."""

from __future__ import annotations

import click

from ._common import user_errors
from .serve import _delays

__all__ = ["worker"]


@click.command("worker")
@click.option(
    "--handlers",
    "handlers",
    multiple=True,
    required=True,
    metavar="MODULE:ROUTER",
    help="A CallbackRouter to load (module:attr or file.py:attr); repeatable.",
)
@click.option("--amqp-url", envvar="LARK_AMQP_URL", required=True, help="RabbitMQ URL.")
@click.option(
    "--exchange", envvar="LARK_AMQP_EXCHANGE", default="lark.callbacks", show_default=True
)
@click.option("--queue", envvar="LARK_AMQP_QUEUE", default="lark.callbacks", show_default=True)
@click.option("--prefetch", default=16, show_default=True, help="Messages in flight at once.")
@click.option("--max-attempts", default=5, show_default=True, help="Tries before the DLQ.")
@click.option(
    "--retry-delays", default="1,5,30,120", show_default=True, help="Seconds between tries."
)
@click.option("--handler-timeout", default=60.0, show_default=True, help="Seconds per handler run.")
@click.option("--shutdown-timeout", default=10.0, show_default=True, help="Graceful stop (s).")
@click.option("--log-level", default=None, help="Log level (default LARK_LOG_LEVEL).")
@user_errors
def worker(
    handlers: tuple[str, ...],
    amqp_url: str,
    exchange: str,
    queue: str,
    prefetch: int,
    max_attempts: int,
    retry_delays: str,
    handler_timeout: float,
    shutdown_timeout: float,
    log_level: str | None,
) -> None:
    """Run handlers for callbacks queued by `lark-service serve` with the RabbitMQ dispatcher.

    Acks after the handler finished; failed runs are retried with backoff, then dead-lettered
    (see `lark-service callbacks dlq`). SIGTERM/SIGINT stop it gracefully.
    """
    import asyncio
    import signal

    from ..callbacks.loader import load_routers
    from ..callbacks.rabbitmq import RabbitTopology, RabbitWorker
    from ..logging import configure_logging

    configure_logging(log_level)
    router = load_routers(handlers)
    topology = RabbitTopology(
        exchange=exchange,
        queue=queue,
        retry_delays=_delays(retry_delays),
        max_attempts=max_attempts,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        consumer = RabbitWorker(
            router, amqp_url, topology=topology, prefetch=prefetch, handler_timeout=handler_timeout
        )
        try:
            await consumer.start()
        except Exception as exc:
            from ..errors import ConnectionError as BrokerUnreachable

            raise BrokerUnreachable(
                f"cannot connect to RabbitMQ ({type(exc).__name__})",
                hint="Check --amqp-url / LARK_AMQP_URL and that the broker is running.",
            ) from None
        click.echo(f"lark-service worker: consuming {queue} ({len(router)} routes)", err=True)
        try:
            await stop.wait()
        finally:
            await consumer.stop(shutdown_timeout)

    asyncio.run(main())

"""``lark-service worker``: consume callbacks from RabbitMQ and run the handlers."""

from __future__ import annotations

from pathlib import Path

import click

from ..callbacks.schedule import DEFAULT_RETRY_SCHEDULE
from ._common import ensure_installed, user_errors
from .serve import _delays

__all__ = ["worker"]

_DEFAULT_DELAYS = ",".join(f"{d:g}" for d in DEFAULT_RETRY_SCHEDULE.delays)


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
@click.option(
    "--max-attempts",
    default=DEFAULT_RETRY_SCHEDULE.max_attempts,
    show_default=True,
    help="Tries before the DLQ.",
)
@click.option(
    "--retry-delays", default=_DEFAULT_DELAYS, show_default=True, help="Seconds between tries."
)
@click.option("--handler-timeout", default=60.0, show_default=True, help="Seconds per handler run.")
@click.option("--shutdown-timeout", default=10.0, show_default=True, help="Graceful stop (s).")
@click.option(
    "--database-url",
    envvar="LARK_DATABASE_URL",
    default=None,
    help="The servers' state database: skip messages whose callback was already handled "
    "(a republished or redelivered copy). Without it every delivery runs the handler.",
)
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Created while the worker consumes, removed otherwise (for a readiness probe).",
)
@click.option(
    "--metrics-port",
    type=int,
    envvar="LARK_METRICS_PORT",
    default=None,
    help="Serve Prometheus /metrics on this port (needs the metrics extra; binds "
    "LARK_METRICS_HOST, default 0.0.0.0).",
)
@click.option(
    "--auth-routes/--no-auth-routes",
    default=True,
    show_default=True,
    help="Handle the user-OAuth callbacks too (as `serve` does): the revocation event and the "
    "device card's button, which reach the worker with the RabbitMQ dispatcher.",
)
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
    database_url: str | None,
    ready_file: Path | None,
    metrics_port: int | None,
    auth_routes: bool,
    log_level: str | None,
) -> None:
    """Run handlers for callbacks queued by `lark-service serve` with the RabbitMQ dispatcher.

    Acks after the handler finished; failed runs are retried with backoff, then dead-lettered
    (see `lark-service callbacks dlq`). If the broker is unreachable the worker waits and
    retries with backoff (not ready meanwhile). SIGTERM/SIGINT stop it gracefully.
    """
    import asyncio
    import signal

    from ..callbacks.loader import load_routers
    from ..callbacks.rabbitmq import RabbitTopology, RabbitWorker
    from ..logging import configure_logging

    ensure_installed("aio_pika", command="worker")  # before the wait-for-the-broker loop
    configure_logging(log_level)
    if metrics_port is not None:
        from ._metrics import start_metrics_server

        start_metrics_server(metrics_port)
    router = load_routers(handlers)
    if auth_routes:
        from ..auth import include_auth

        router = include_auth(router)
    topology = RabbitTopology(
        exchange=exchange,
        queue=queue,
        retry_delays=_delays(retry_delays),
        max_attempts=max_attempts,
    )
    store = None
    if database_url:
        from ..callbacks.store import OutboxStore

        store = OutboxStore(database_url)

    def mark_ready(ready: bool) -> None:
        if ready_file is None:
            return
        if ready:
            ready_file.write_text("ready\n")
        else:
            ready_file.unlink(missing_ok=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        consumer = RabbitWorker(
            router,
            amqp_url,
            topology=topology,
            prefetch=prefetch,
            handler_timeout=handler_timeout,
            store=store,
        )
        mark_ready(False)
        try:
            if not await consumer.start_when_reachable(stop):
                return
            mark_ready(True)
            click.echo(
                f"lark-service worker: consuming {queue} ({len(router)} routes, "
                f"router {router.name})",
                err=True,
            )
            await stop.wait()
        finally:
            mark_ready(False)
            await consumer.stop(shutdown_timeout)

    asyncio.run(main())

"""``lark-service serve``: the callback server (FastAPI under uvicorn)."""

from __future__ import annotations

from typing import Any

import click

from ._common import user_errors

__all__ = ["serve"]


def _delays(value: str) -> tuple[float, ...]:
    try:
        delays = tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter("expected seconds separated by commas, e.g. 1,5,30") from None
    if not delays or any(d < 0 for d in delays):
        raise click.BadParameter("expected at least one non-negative delay")
    return delays


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--handlers",
    "handlers",
    multiple=True,
    metavar="MODULE:ROUTER",
    help="A CallbackRouter to load (module:attr or file.py:attr); repeatable.",
)
@click.option(
    "--dispatcher",
    type=click.Choice(["inprocess", "rabbitmq"]),
    default=None,
    help="Where handlers run (default: rabbitmq when LARK_AMQP_URL is set, else inprocess).",
)
@click.option("--amqp-url", envvar="LARK_AMQP_URL", default=None, help="RabbitMQ URL.")
@click.option("--database-url", envvar="LARK_DATABASE_URL", default=None, help="State DB URL.")
@click.option(
    "--exchange", envvar="LARK_AMQP_EXCHANGE", default="lark.callbacks", show_default=True
)
@click.option("--queue", envvar="LARK_AMQP_QUEUE", default="lark.callbacks", show_default=True)
@click.option("--workers", default=8, show_default=True, help="In-process handler tasks.")
@click.option(
    "--max-attempts", default=5, show_default=True, help="Runs before a callback is dead."
)
@click.option(
    "--retry-delays", default="1,5,30,120", show_default=True, help="Seconds between runs."
)
@click.option(
    "--reply-wait",
    default=1.0,
    show_default=True,
    help="Seconds a card answer waits for an in-process handler's toast/card.",
)
@click.option(
    "--inline-when-broker-down",
    is_flag=True,
    help="RabbitMQ dispatcher: run handlers in the server while the broker is unreachable "
    "(default: keep them in the outbox until it returns).",
)
@click.option("--shutdown-timeout", default=10.0, show_default=True, help="Graceful stop (s).")
@click.option(
    "--header-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0, 60, min_open=True),
    help="Seconds a client has to send a request's complete headers (at most 60).",
)
@click.option(
    "--max-header-size",
    default=64 * 1024,
    show_default=True,
    type=click.IntRange(min=1024),
    help="Largest request headers in bytes; larger ones are answered 400.",
)
@click.option(
    "--max-connections",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Open connections beyond which requests are answered 503.",
)
@click.option(
    "--keep-alive-timeout",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds an idle keep-alive connection stays open.",
)
@click.option(
    "--gateway/--no-gateway",
    default=None,
    help="Also serve the HTTP gateway under /api/v1 for non-Python services (API keys: "
    "lark-service apikey). Default: LARK_GATEWAY_ENABLED.",
)
@click.option(
    "--scheduler",
    "with_scheduler",
    is_flag=True,
    help="Also run the periodic jobs here (lark-service scheduler run; each occurrence runs "
    "once across every replica).",
)
@click.option(
    "--auth-routes/--no-auth-routes",
    default=True,
    show_default=True,
    help="Handle the user-OAuth callbacks too: auth.user_access_token.revoked_v4 (the user's "
    "tokens are forgotten) and the device card's button (send_auth_card method=device).",
)
@click.option("--log-level", default=None, help="Log level (default LARK_LOG_LEVEL).")
@user_errors
def serve(
    host: str,
    port: int,
    handlers: tuple[str, ...],
    dispatcher: str | None,
    amqp_url: str | None,
    database_url: str | None,
    exchange: str,
    queue: str,
    workers: int,
    max_attempts: int,
    retry_delays: str,
    reply_wait: float,
    inline_when_broker_down: bool,
    shutdown_timeout: float,
    header_timeout: float,
    max_header_size: int,
    max_connections: int,
    keep_alive_timeout: int,
    gateway: bool | None,
    log_level: str | None,
    with_scheduler: bool = False,
    auth_routes: bool = True,
) -> None:
    """Run the callback server: /callbacks/{app_id}/event, /callbacks/{app_id}/card,
    /healthz and /readyz (and with --gateway the HTTP gateway under /api/v1). SIGTERM/SIGINT
    stop it gracefully.

    Slow and huge requests are bounded: --header-timeout, --max-header-size,
    --max-connections, --keep-alive-timeout."""
    import uvicorn

    from ..callbacks.loader import load_routers
    from ..callbacks.rabbitmq import RabbitTopology
    from ..logging import configure_logging
    from ..server import ServerConfig, create_app
    from ..server.limits import ServerLimits, uvicorn_options

    configure_logging(log_level)
    delays = _delays(retry_delays)
    limits = ServerLimits(
        header_timeout=header_timeout,
        max_header_bytes=max_header_size,
        max_connections=max_connections,
        keep_alive_timeout=keep_alive_timeout,
    )
    router = load_routers(handlers)
    routes = len(router)  # the caller's (the auth routes come on top)
    if auth_routes:
        from ..auth import include_auth

        router = include_auth(router)
    app = create_app(
        router,
        dispatcher=dispatcher,
        database_url=database_url,
        amqp_url=amqp_url,
        topology=RabbitTopology(
            exchange=exchange, queue=queue, retry_delays=delays, max_attempts=max_attempts
        ),
        config=ServerConfig(
            workers=workers,
            max_attempts=max_attempts,
            retry_delays=delays,
            reply_wait=reply_wait,
            shutdown_timeout=shutdown_timeout,
            inline_when_broker_down=inline_when_broker_down,
        ),
        gateway=gateway,
    )
    click.echo(f"lark-service: callbacks on http://{host}:{port}/callbacks/ ({routes} routes)")
    if getattr(app.state, "gateway", None) is not None:
        click.echo(f"lark-service: gateway on http://{host}:{port}/api/v1/ (openapi.json)")
    served: Any = _with_scheduler(app) if with_scheduler else app
    uvicorn.run(
        served,
        host=host,
        port=port,
        log_level=(log_level or "warning").lower(),
        access_log=False,  # every request is logged by lark-service itself when it matters
        timeout_graceful_shutdown=int(shutdown_timeout),
        **uvicorn_options(limits),
    )


def _with_scheduler(app: Any) -> Any:
    """``app`` with the scheduler running in a thread (shown on /status), stopped when the
    server shuts down: after the app's own shutdown, before uvicorn exits, waiting for running
    jobs (LARK_SCHEDULER_SHUTDOWN_TIMEOUT)."""
    import asyncio
    import threading

    from ..scheduler import build_scheduler
    from ..tracing import install_from_env

    install_from_env()
    scheduler = build_scheduler()
    app.state.scheduler = scheduler
    thread = threading.Thread(target=scheduler.run_forever, name="lark-scheduler", daemon=True)
    thread.start()
    click.echo(
        "lark-service: scheduler running " + ", ".join(j.name for j in scheduler.enabled_jobs())
    )

    def stop() -> None:
        scheduler.stop()
        thread.join(scheduler.shutdown_timeout + 5)

    async def served(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def send_then_stop(message: Any) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await asyncio.to_thread(stop)
            await send(message)

        await app(scope, receive, send_then_stop)

    return served

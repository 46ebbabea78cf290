"""``lark-service listen``: receive events over Feishu's long connection (no public URL)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConfigError
from ._common import user_errors

if TYPE_CHECKING:
    from ..longconn import LongConnection

__all__ = ["listen"]


@click.command("listen")
@click.option(
    "--handlers",
    "handlers",
    multiple=True,
    metavar="MODULE:ROUTER",
    help="A CallbackRouter to load (module:attr or file.py:attr); repeatable.",
)
@click.option(
    "--app-id",
    "app_ids",
    multiple=True,
    help="App to listen for (repeatable; default: LARK_APP_ID or the registry's only app).",
)
@click.option(
    "--dispatcher",
    type=click.Choice(["inprocess", "rabbitmq"]),
    default=None,
    help="Where handlers run (default: rabbitmq when LARK_AMQP_URL is set, else inprocess).",
)
@click.option("--amqp-url", envvar="LARK_AMQP_URL", default=None, help="RabbitMQ URL.")
@click.option("--database-url", envvar="LARK_DATABASE_URL", default=None, help="State DB URL.")
@click.option("--workers", default=8, show_default=True, help="In-process handler tasks.")
@click.option(
    "--reply-wait",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, 2.5),
    help="Seconds a card ack waits for the handler's toast/card (Feishu allows 3).",
)
@click.option(
    "--max-inflight",
    default=64,
    show_default=True,
    type=click.IntRange(min=1),
    help="Frames stored/answered at once per app; beyond it the socket is not read.",
)
@click.option(
    "--health-port",
    default=None,
    type=click.IntRange(0, 65535),
    help="Serve GET /healthz and /readyz (ready while every connection is up) on this port.",
)
@click.option("--health-host", default="127.0.0.1", show_default=True)
@click.option(
    "--handler-timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds a handler may run; a row a killed listener held is taken over after "
    "2 x this + 30 s.",
)
@click.option("--shutdown-timeout", default=10.0, show_default=True, help="Graceful stop (s).")
@click.option(
    "--auth-routes/--no-auth-routes",
    default=True,
    show_default=True,
    help="Handle the user-OAuth callbacks too: auth.user_access_token.revoked_v4 (the user's "
    "tokens are forgotten) and the device card's button (send_auth_card method=device).",
)
@click.option("--log-level", default=None, help="Log level (default LARK_LOG_LEVEL).")
@user_errors
def listen(
    handlers: tuple[str, ...],
    app_ids: tuple[str, ...],
    dispatcher: str | None,
    amqp_url: str | None,
    database_url: str | None,
    workers: int,
    reply_wait: float,
    max_inflight: int,
    health_port: int | None,
    health_host: str,
    handler_timeout: float,
    shutdown_timeout: float,
    log_level: str | None,
    auth_routes: bool = True,
) -> None:
    """Receive events and card actions over Feishu's long connection (WebSocket mode): no
    public callback URL. Each is stored (deduplicated) before Feishu gets its ack, then run
    by the same handlers and dispatchers as `lark-service serve`. Keys and app credentials
    come from the same places (LARK_APP_ID / LARK_APP_SECRET or the app registry).
    SIGTERM/SIGINT stop it gracefully: frames being handled are acked first."""
    import contextlib
    import importlib.util
    import signal

    from ..callbacks.handler import CallbackHandler, ServerConfig
    from ..callbacks.loader import load_routers
    from ..logging import configure_logging
    from ..longconn import LongConnection, LongConnectionConfig

    if not all(importlib.util.find_spec(m) for m in ("websockets", "google.protobuf")):
        raise ConfigError(
            "the optional packages websockets and protobuf are not installed",
            hint="pip install 'lark-service[longconn]'",
        )

    configure_logging(log_level)
    router = load_routers(handlers)
    routes = len(router)  # the caller's (the auth routes come on top)
    if auth_routes:
        from ..auth import include_auth

        router = include_auth(router)
    handler = CallbackHandler(
        router,
        dispatcher=dispatcher,
        database_url=database_url,
        amqp_url=amqp_url,
        config=ServerConfig(
            workers=workers,
            reply_wait=reply_wait,
            handler_timeout=handler_timeout,
            shutdown_timeout=shutdown_timeout,
        ),
    )
    config = LongConnectionConfig(max_inflight=max_inflight, shutdown_timeout=shutdown_timeout)
    connections = [
        LongConnection(app_id=app_id, handler=handler, config=config)
        for app_id in (app_ids or (None,))
    ]

    async def main() -> None:
        loop = asyncio.get_running_loop()

        stopping: list[asyncio.Task[None]] = []

        def stop() -> None:
            stopping.extend(loop.create_task(conn.astop()) for conn in connections)

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop)
        server = None
        if health_port is not None:
            server = await _health_server(connections, health_host, health_port)
            port = server.sockets[0].getsockname()[1]
            click.echo(f"lark-service: /healthz and /readyz on http://{health_host}:{port}/")
        click.echo(
            f"lark-service: listening over the long connection for "
            f"{', '.join(a or 'the default app' for a in (app_ids or (None,)))} "
            f"({routes} routes)"
        )
        try:
            results = await asyncio.gather(
                *(conn.serve() for conn in connections), return_exceptions=True
            )
        finally:
            if server is not None:
                server.close()
            await asyncio.to_thread(handler.close)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]

    asyncio.run(main())


async def _health_server(
    connections: Sequence[LongConnection], host: str, port: int
) -> asyncio.Server:
    """A tiny HTTP server: ``/healthz`` (the process runs) and ``/readyz`` (every connection
    is up and the state database reachable), as JSON."""
    import json

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            path = line.split(b" ")[1].decode() if line.count(b" ") >= 2 else "/"
            body: dict[str, Any]
            if path == "/healthz":
                status, body = 200, {"status": "ok"}
            elif path == "/readyz":
                checks = [await c.readiness() for c in connections]
                ready = all(ok for ok, _ in checks)
                status = 200 if ready else 503
                body = {
                    "status": "ok" if ready else "unavailable",
                    "apps": {
                        str(c.app_id): detail
                        for c, (_, detail) in zip(connections, checks, strict=True)
                    },
                }
            else:
                status, body = 404, {"status": "not found"}
            data = json.dumps(body).encode()
            reason = {200: "OK", 503: "Service Unavailable", 404: "Not Found"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(data)}\r\nconnection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except Exception:
            pass
        finally:
            writer.close()

    return await asyncio.start_server(answer, host, port)

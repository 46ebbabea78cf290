"""``--metrics-port`` for long-running commands (worker, scheduler): Prometheus ``/metrics``."""

from __future__ import annotations

from typing import Any

import click

from ..errors import ConfigError

__all__ = ["start_metrics_server"]


def start_metrics_server(port: int, host: str | None = None) -> Any:
    """Serve lark_service.metrics on ``host:port`` from a daemon thread, or fail in CLI terms.

    Returns prometheus_client's ``(server, thread)``: ``server.shutdown()`` stops it."""
    try:
        from .. import metrics
    except ImportError:
        raise ConfigError(
            "--metrics-port needs the optional package prometheus-client",
            hint="pip install 'lark-service[metrics]'",
        ) from None
    try:
        served = metrics.serve_metrics(port, host)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve metrics on port {port}: {exc.strerror or exc}",
            hint="Choose a free port with --metrics-port (or LARK_METRICS_PORT).",
        ) from None
    click.echo(f"lark-service: metrics on http://{host or '0.0.0.0'}:{port}/metrics", err=True)
    return served

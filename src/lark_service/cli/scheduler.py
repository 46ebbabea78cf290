"""``lark-service scheduler run|list|run-job JOB``: the periodic jobs, once per fleet."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from ._common import console, markup_safe, print_json, user_errors

__all__ = ["scheduler"]


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _build(**kwargs: Any) -> Any:
    from ..config import get_settings
    from ..scheduler import build_scheduler, load_scheduler_settings

    return build_scheduler(get_settings(), scheduler_settings=load_scheduler_settings(), **kwargs)


@click.group()
def scheduler() -> None:
    """Periodic jobs (token_sweep, contact_sync, user_token_watch, cleanup, health_check),
    each occurrence run by one replica of the fleet. Schedules: LARK_SCHEDULER_<JOB>_INTERVAL
    (seconds), _CRON (UTC) and _ENABLED."""


@scheduler.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
@user_errors
def list_jobs(as_json: bool) -> None:
    """The jobs, their schedules and next runs."""
    sched = _build()
    try:
        upcoming = sched.plan()
        rows = [
            {
                "job": job.name,
                "enabled": job.schedule.enabled,
                "schedule": job.schedule.describe(),
                "next_run": upcoming.get(job.name),
                "description": job.description,
            }
            for job in sched.jobs.values()
        ]
    finally:
        sched.shutdown(timeout=0)
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table("job", "enabled", "schedule", "next run", "what it does")
    for row in rows:
        table.add_row(
            row["job"],
            "yes" if row["enabled"] else "[yellow]no[/]",
            markup_safe(row["schedule"]),
            _when(row["next_run"]) if row["enabled"] else "-",
            markup_safe(row["description"]),
        )
    console().print(table)


@scheduler.command("run-job")
@click.argument("job")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@user_errors
def run_job(job: str, as_json: bool) -> None:
    """Run JOB now, once (the fleet's lock for JOB is taken: never alongside a scheduled
    run of it). Exits 1 when the job failed."""
    from ..logging import configure_logging
    from ..scheduler import JOB_NAMES

    if job not in JOB_NAMES:
        raise click.BadParameter(f"{job!r}; choose from {', '.join(JOB_NAMES)}", param_hint="JOB")
    configure_logging(None)
    sched = _build()
    try:
        result = sched.run_job(job)
    finally:
        sched.shutdown()
    if as_json:
        print_json(result.to_dict())
    else:
        colour = {"ok": "green", "failed": "red"}.get(result.outcome, "yellow")
        reason = f" ({result.reason}: another replica is running it)" if result.reason else ""
        console().print(
            f"{markup_safe(job)}: [{colour}]{result.outcome}[/]{reason} in {result.duration:.2f} s"
        )
        if result.error:
            console().print(f"  {markup_safe(result.error)}")
        for key, value in result.details.items():
            if value not in ({}, [], None):
                console().print(f"  {markup_safe(key)}: {markup_safe(value)}")
    if result.outcome == "failed":
        raise SystemExit(1)


@scheduler.command("run")
@click.option(
    "--metrics-port",
    type=int,
    envvar="LARK_METRICS_PORT",
    default=None,
    help="Serve Prometheus /metrics on this port (needs the metrics extra).",
)
@click.option("--log-level", default=None, help="Log level (default LARK_LOG_LEVEL).")
@user_errors
def run(metrics_port: int | None, log_level: str | None) -> None:
    """Run the scheduler until SIGTERM/SIGINT; a stop waits for running jobs
    (LARK_SCHEDULER_SHUTDOWN_TIMEOUT). Run one per host or many: each occurrence runs once."""
    import signal

    from ..logging import configure_logging

    configure_logging(log_level)
    from ..tracing import install_from_env

    install_from_env()
    if metrics_port is not None:
        from ._metrics import start_metrics_server

        start_metrics_server(metrics_port)
    sched = _build()
    enabled = [j.name for j in sched.enabled_jobs()]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sched.stop())
    click.echo(f"lark-service scheduler: {', '.join(enabled) or 'no enabled job'}", err=True)
    sched.run_forever()

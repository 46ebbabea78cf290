"""The scheduler's settings: ``LARK_SCHEDULER_<JOB>_INTERVAL|_CRON|_ENABLED`` and friends.

Read like :class:`~lark_service.config.Settings` (environment, ``./.env``, then
``$LARK_HOME/.env``), kept in their own class so ``Settings`` stays readable: fifteen
per-job variables would drown it. :meth:`SchedulerSettings.schedule` turns one job's three
variables into a :class:`Schedule`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from .. import errors

__all__ = [
    "DEFAULT_SCHEDULES",
    "JOB_NAMES",
    "Schedule",
    "SchedulerSettings",
    "load_scheduler_settings",
]

JOB_NAMES = ("token_sweep", "contact_sync", "user_token_watch", "cleanup", "health_check")
"""The built-in jobs, in the order ``scheduler list`` shows them."""


@dataclass(frozen=True)
class Schedule:
    """When a job runs: every ``interval`` seconds (aligned on the Unix epoch, so every
    replica computes the same occurrences) or on a ``cron`` expression (UTC, five fields)."""

    interval: float | None = None
    cron: str | None = None
    enabled: bool = True

    def describe(self) -> str:
        if self.cron:
            return f"cron {self.cron} (UTC)"
        assert self.interval is not None
        return f"every {_seconds(self.interval)}"


DEFAULT_SCHEDULES: dict[str, Schedule] = {
    "token_sweep": Schedule(interval=300.0),
    "contact_sync": Schedule(interval=6 * 3600.0),
    "user_token_watch": Schedule(interval=3600.0),
    "cleanup": Schedule(cron="30 3 * * *"),
    "health_check": Schedule(interval=60.0),
}


class SchedulerSettings(BaseSettings):
    """``LARK_SCHEDULER_*``: per job ``<JOB>_INTERVAL`` (seconds), ``<JOB>_CRON`` (five fields,
    UTC) and ``<JOB>_ENABLED``; plus the scheduler-wide knobs below."""

    model_config = SettingsConfigDict(
        env_prefix="LARK_SCHEDULER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    token_sweep_interval: float | None = None
    token_sweep_cron: str | None = None
    token_sweep_enabled: bool = True
    contact_sync_interval: float | None = None
    contact_sync_cron: str | None = None
    contact_sync_enabled: bool = True
    user_token_watch_interval: float | None = None
    user_token_watch_cron: str | None = None
    user_token_watch_enabled: bool = True
    cleanup_interval: float | None = None
    cleanup_cron: str | None = None
    cleanup_enabled: bool = True
    health_check_interval: float | None = None
    health_check_cron: str | None = None
    health_check_enabled: bool = True

    workers: int = 4
    """``LARK_SCHEDULER_WORKERS``: jobs that may run at once in one process."""
    shutdown_timeout: float = 60.0
    """``LARK_SCHEDULER_SHUTDOWN_TIMEOUT``: seconds a stop waits for running jobs."""
    retention_days: float = 7.0
    """``LARK_SCHEDULER_RETENTION_DAYS``: the cleanup job keeps done outbox rows this long."""
    token_horizon: float = 900.0
    """``LARK_SCHEDULER_TOKEN_HORIZON``: token_sweep refreshes tokens with less left."""
    reauth_url: str | None = None
    """``LARK_SCHEDULER_REAUTH_URL``: user_token_watch's re-authorization link, a template
    with ``{app_id}`` and ``{open_id}`` (used until user OAuth's ``client.auth`` exists)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, dotenv_settings, _HomeEnv(settings_cls)

    def schedule(self, job: str) -> Schedule:
        """The job's schedule: its variables over :data:`DEFAULT_SCHEDULES`.

        Raises :class:`~lark_service.errors.ConfigError` for both an interval and a cron, a
        non-positive interval, or a cron expression that does not parse.
        """
        if job not in DEFAULT_SCHEDULES:
            raise errors.ConfigError(
                f"unknown scheduler job {job!r}", hint=f"Jobs: {', '.join(JOB_NAMES)}."
            )
        interval = getattr(self, f"{job}_interval")
        cron = getattr(self, f"{job}_cron")
        enabled = bool(getattr(self, f"{job}_enabled"))
        env = f"LARK_SCHEDULER_{job.upper()}"
        if interval is not None and cron:
            raise errors.ConfigError(
                f"{env}_INTERVAL and {env}_CRON are both set",
                hint="Set one of them (the other is the job's default).",
            )
        if interval is not None and not interval > 0:
            raise errors.ConfigError(
                f"{env}_INTERVAL must be a positive number of seconds, not {interval}"
            )
        if cron:
            from ._triggers import check_cron

            check_cron(cron, f"{env}_CRON")
            return Schedule(cron=cron.strip(), enabled=enabled)
        if interval is not None:
            return Schedule(interval=float(interval), enabled=enabled)
        default = DEFAULT_SCHEDULES[job]
        return Schedule(interval=default.interval, cron=default.cron, enabled=enabled)


def load_scheduler_settings(**overrides: Any) -> SchedulerSettings:
    """:class:`SchedulerSettings` from the environment; a value that does not parse is a
    :class:`~lark_service.errors.ConfigError` naming its variable."""
    from pydantic import ValidationError

    try:
        return SchedulerSettings(**overrides)
    except ValidationError as exc:
        problems = [
            f"LARK_SCHEDULER_{'.'.join(str(p) for p in e.get('loc', ())).upper()}: "
            f"{e.get('msg', 'invalid')}"
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise errors.ConfigError(
            "invalid setting " + "; ".join(problems),
            hint="Fix the variable in the environment or .env ($LARK_HOME/.env).",
        ) from None


class _HomeEnv(PydanticBaseSettingsSource):
    """``$LARK_HOME/.env`` (below ``./.env``), the home as :class:`Settings` resolves it."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        from ..config import get_settings

        try:
            path = get_settings().home / ".env"
        except Exception:
            return {}
        if not path.is_file() or path.resolve() == _cwd_env():
            return {}
        return DotEnvSettingsSource(self.settings_cls, env_file=path)()


def _cwd_env() -> Any:
    from pathlib import Path

    return Path(".env").resolve()


def _seconds(value: float) -> str:
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if value >= size and value % size == 0:
            return f"{value / size:g} {unit}"
    return f"{value:g} s"

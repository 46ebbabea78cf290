"""Occurrence times: epoch-aligned intervals, and cron expressions (APScheduler's CronTrigger).

Both are pure functions of a time, never of when a process started: every replica computes
the same occurrences, which is what the fleet election keys on.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from .. import errors
from ._settings import Schedule

__all__ = ["check_cron", "next_after", "previous_at_or_before"]


def _cron(expression: str) -> Any:
    try:
        from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
    except ImportError:
        raise errors.ConfigError(
            "cron schedules need the optional package APScheduler",
            hint="pip install 'lark-service[scheduler]', or use an _INTERVAL instead.",
        ) from None
    return CronTrigger.from_crontab(expression, timezone=timezone.utc)


def check_cron(expression: str, name: str) -> None:
    """Raise :class:`~lark_service.errors.ConfigError` when ``expression`` does not parse."""
    try:
        _cron(expression.strip())
    except errors.ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise errors.ConfigError(
            f"{name} is not a cron expression: {expression!r} ({exc})",
            hint="Five fields: minute hour day month weekday, e.g. '30 3 * * *' (UTC).",
        ) from None


def next_after(schedule: Schedule, now: float) -> float:
    """The first occurrence strictly after ``now`` (Unix seconds)."""
    if schedule.cron:
        trigger = _cron(schedule.cron)
        start = datetime.fromtimestamp(math.floor(now) + 1, timezone.utc)
        fire = trigger.get_next_fire_time(None, start)
        if fire is None:  # pragma: no cover - a crontab always has a next time
            return math.inf
        return float(fire.timestamp())
    assert schedule.interval is not None
    step = schedule.interval
    return (math.floor(now / step) + 1) * step


def previous_at_or_before(schedule: Schedule, now: float, after: float) -> float | None:
    """The latest occurrence in ``(after, now]``, or None (missed runs coalesce into it)."""
    if schedule.cron:
        latest: float | None = None
        t = next_after(schedule, after)
        while t <= now:
            latest = t
            t = next_after(schedule, t)
        return latest
    assert schedule.interval is not None
    step = schedule.interval
    latest_t = math.floor(now / step) * step
    return latest_t if latest_t > after else None

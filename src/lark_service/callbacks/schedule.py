"""The retry schedule of failed callbacks, shared by the in-process dispatcher, the RabbitMQ
topology and worker, and the ``serve`` / ``worker`` commands (a module without heavy imports,
so the CLI can show its defaults cheaply)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_RETRY_SCHEDULE", "RetrySchedule"]


@dataclass(frozen=True)
class RetrySchedule:
    """When to retry a failed callback, and when to give up (dead-letter it).

    ``delays[n]`` is the wait after the (n+1)-th failed attempt (the last delay repeats);
    after ``max_attempts`` attempts the callback is dead. No ``delays``: no retries. The
    in-process dispatcher waits in the outbox, RabbitMQ in the ``<queue>.retry.<n>`` queues.
    """

    delays: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
    max_attempts: int = 5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if any(d < 0 for d in self.delays):
            raise ValueError("retry delays must not be negative")
        object.__setattr__(self, "delays", tuple(float(d) for d in self.delays))

    def index_after(self, attempt: int) -> int | None:
        """Which delay follows failed attempt ``attempt`` (1-based); None: give up."""
        if attempt >= self.max_attempts or not self.delays:
            return None
        return min(max(attempt, 1) - 1, len(self.delays) - 1)

    def delay_after(self, attempt: int) -> float | None:
        """Seconds to wait after failed attempt ``attempt`` (1-based); None: give up."""
        index = self.index_after(attempt)
        return None if index is None else self.delays[index]


DEFAULT_RETRY_SCHEDULE = RetrySchedule()
"""1 s, 5 s, 30 s, 120 s between five attempts: the in-process dispatcher, the RabbitMQ
topology and the ``serve``/``worker`` commands all default to it."""

"""Client-side pacing of message sends: under Feishu's 50/s and 1000/min per app and 5/s per
receiver.

:class:`SendRateLimiter` is the send family (``im.send``) of the general pacing table
(:mod:`lark_service._pacing`), kept for ``send_batch`` and for code that built one by hand.
It never sleeps itself; it tells the caller how long to wait, and the caller sleeps
(``_concurrency.sleep`` / ``async_sleep``). So one object paces threads and asyncio tasks
alike, and tests drive it with a fake clock and no sleeping. Two steps per send::

    delay = limiter.reserve(app_id, receiver)        # a slot on the pacing grid
    sleep(delay)
    while (wait := limiter.admit(app_id, receiver)) > 0:
        sleep(wait)                                  # rare: the window is still full

``reserve`` spreads sends evenly: slots of one app sit on a grid ``1/per_app`` seconds apart,
sends to one receiver at least ``1/per_receiver`` apart, and a send waiting for its receiver
takes a later grid slot without holding up the others. ``admit`` is the guarantee: it lets a
send go only if the last second holds fewer than ``ceil(per_app)`` sends of the app and
``ceil(per_receiver)`` to the receiver, and the last 61 seconds fewer than
``ceil(per_app_per_minute)`` sends of the app, counting the times sends actually went — so a
stall (a busy event loop, a GC pause) that wakes many sleepers at once cannot burst past a
limit. The minute window is enforced only there: a long batch goes at the per-second pace
until the minute's budget is spent (1000 sends in 22 s by default), then waits for the oldest
sends to leave the window, so over any 60 seconds it stays under 1000.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .._pacing import HEADROOM, MINUTE, Limits, Pacer, PacingTable
from ..errors import ValidationError

__all__ = [
    "DEFAULT_PER_APP",
    "DEFAULT_PER_APP_PER_MINUTE",
    "DEFAULT_PER_RECEIVER",
    "FEISHU_PER_APP",
    "FEISHU_PER_APP_PER_MINUTE",
    "FEISHU_PER_RECEIVER",
    "HEADROOM",
    "MINUTE",
    "SEND_FAMILY",
    "SendRateLimiter",
]

FEISHU_PER_APP = 50.0
"""Feishu's send/reply limit per app per second."""
FEISHU_PER_APP_PER_MINUTE = 1000.0
"""Feishu's send/reply limit per app per minute (either limit, per second or per minute,
throttles)."""
FEISHU_PER_RECEIVER = 5.0
"""Feishu's send limit per user, and per group, per second."""
DEFAULT_PER_APP = FEISHU_PER_APP * HEADROOM
"""The default pace: 10 % under Feishu's limit, so network jitter that bunches two sends
together does not push a second over it (measured: exactly 50/s got ~5 % of sends
throttled against the emulator's sliding window)."""
DEFAULT_PER_APP_PER_MINUTE = FEISHU_PER_APP_PER_MINUTE
"""Feishu's own 1000 sends per app per minute, with no headroom: the limiter's window slides,
so no fixed minute of Feishu's can see more than it admits, and headroom here would cost a
1,000-receiver batch some 40 s of waiting."""
DEFAULT_PER_RECEIVER = FEISHU_PER_RECEIVER * HEADROOM
SEND_FAMILY = "im.send"
"""The pacing-table family of message sends and replies."""


class SendRateLimiter:
    """Paces sends: at most ``per_app`` per second per app, ``per_receiver`` per second per
    receiver and ``per_app_per_minute`` per 61 seconds per app (by default 45 and 4.5, 10 %
    under Feishu's 50 and 5, and Feishu's 1000 over a window a second longer than its minute).

    ``clock`` is any monotonic seconds function (default :func:`time.monotonic`); inject a
    fake one in tests. ``None`` for a limit switches it off. Thread-safe. ``pacer`` is the
    :class:`~lark_service._pacing.Pacer` underneath (its ``im.send`` family).
    """

    def __init__(
        self,
        per_app: float | None = DEFAULT_PER_APP,
        per_receiver: float | None = DEFAULT_PER_RECEIVER,
        *,
        per_app_per_minute: float | None = DEFAULT_PER_APP_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (
            ("per_app", per_app),
            ("per_receiver", per_receiver),
            ("per_app_per_minute", per_app_per_minute),
        ):
            if value is not None and value <= 0:
                raise ValidationError(f"{name} must be positive (or None), got {value}", field=name)
        self.per_app = per_app
        self.per_receiver = per_receiver
        self.per_app_per_minute = per_app_per_minute
        limits = Limits(
            per_second=per_app,
            per_minute=per_app_per_minute,
            per_key=per_receiver,
            key="receiver",
            source="SendRateLimiter",
        )
        self.pacer = Pacer(PacingTable.default().with_limits({SEND_FAMILY: limits}), clock=clock)

    @property
    def clock(self) -> Callable[[], float]:
        return self.pacer.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.pacer.clock = clock

    def reserve(self, app_id: str, receiver: str) -> float:
        """Take the next free send slot for ``receiver`` of ``app_id``; seconds to wait."""
        return self.pacer.reserve(app_id, SEND_FAMILY, receiver)

    def admit(self, app_id: str, receiver: str) -> float:
        """0 and the send is counted, when the last second (and the last minute, for the
        app) has room for it; else the seconds until it will (call again after waiting)."""
        return self.pacer.admit(app_id, SEND_FAMILY, receiver)

    def __repr__(self) -> str:
        return (
            f"SendRateLimiter(per_app={self.per_app}, per_receiver={self.per_receiver}, "
            f"per_app_per_minute={self.per_app_per_minute})"
        )

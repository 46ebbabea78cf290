"""Client-side pacing of message sends: under Feishu's 50/s and 1000/min per app and 5/s per
receiver.

The limiter never sleeps itself; it tells the caller how long to wait, and the caller sleeps
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
``ceil(per_receiver)`` to the receiver, and the last 60 seconds fewer than
``ceil(per_app_per_minute)`` sends of the app, counting the times sends actually went — so a
stall (a busy event loop, a GC pause) that wakes many sleepers at once cannot burst past a
limit. The minute window is enforced only there: a long batch goes at the per-second pace
until the minute's budget is spent (1000 sends in 22 s by default), then waits for the oldest
sends to leave the window, so over any 60 seconds it stays under 1000.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from ..errors import ValidationError

__all__ = [
    "DEFAULT_PER_APP",
    "DEFAULT_PER_APP_PER_MINUTE",
    "DEFAULT_PER_RECEIVER",
    "FEISHU_PER_APP",
    "FEISHU_PER_APP_PER_MINUTE",
    "FEISHU_PER_RECEIVER",
    "SendRateLimiter",
]

FEISHU_PER_APP = 50.0
"""Feishu's send/reply limit per app per second."""
FEISHU_PER_APP_PER_MINUTE = 1000.0
"""Feishu's send/reply limit per app per minute (either limit, per second or per minute,
throttles)."""
FEISHU_PER_RECEIVER = 5.0
"""Feishu's send limit per user, and per group, per second."""
HEADROOM = 0.9
DEFAULT_PER_APP = FEISHU_PER_APP * HEADROOM
"""The default pace: 10 % under Feishu's limit, so network jitter that bunches two sends
together does not push a second over it (measured: exactly 50/s got ~5 % of sends
throttled against the emulator's sliding window)."""
DEFAULT_PER_APP_PER_MINUTE = FEISHU_PER_APP_PER_MINUTE
"""Feishu's own 1000 sends per app per minute, with no headroom: the limiter's window slides,
so no fixed minute of Feishu's can see more than it admits, and headroom here would cost a
1,000-receiver batch some 40 s of waiting."""
DEFAULT_PER_RECEIVER = FEISHU_PER_RECEIVER * HEADROOM
MINUTE = 61.0
"""The per-minute window, a second longer than Feishu's: Feishu counts a send when it arrives,
a little after it was admitted here, and that skew must not put a 1001st send in its minute."""
_PRUNE_EVERY = 1024


class _AppSlots:
    __slots__ = ("epoch", "taken")

    def __init__(self, epoch: float) -> None:
        self.epoch = epoch
        self.taken: set[int] = set()


class SendRateLimiter:
    """Paces sends: at most ``per_app`` per second per app, ``per_receiver`` per second per
    receiver and ``per_app_per_minute`` per 61 seconds per app (by default 45 and 4.5, 10 %
    under Feishu's 50 and 5, and Feishu's 1000 over a window a second longer than its minute).

    ``clock`` is any monotonic seconds function (default :func:`time.monotonic`); inject a
    fake one in tests. ``None`` for a limit switches it off. Thread-safe.
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
        self.clock = clock
        self._lock = threading.Lock()
        self._apps: dict[str, _AppSlots] = {}
        self._receivers: dict[tuple[str, str], float] = {}
        self._reservations = 0
        self._sent: dict[str, deque[float]] = {}
        self._sent_minute: dict[str, deque[float]] = {}
        self._sent_to: dict[tuple[str, str], deque[float]] = {}

    def reserve(self, app_id: str, receiver: str) -> float:
        """Take the next free send slot for ``receiver`` of ``app_id``; seconds to wait."""
        with self._lock:
            now = self.clock()
            earliest = now
            key = (app_id, receiver)
            if self.per_receiver is not None:
                earliest = max(earliest, self._receivers.get(key, now))
            slot = earliest
            if self.per_app is not None:
                interval = 1.0 / self.per_app
                app = self._apps.get(app_id)
                if app is None:
                    app = self._apps[app_id] = _AppSlots(now)
                index = max(0, math.ceil((earliest - app.epoch) / interval - 1e-9))
                while index in app.taken:
                    index += 1
                app.taken.add(index)
                slot = app.epoch + index * interval
            if self.per_receiver is not None:
                self._receivers[key] = slot + 1.0 / self.per_receiver
            self._reservations += 1
            if self._reservations % _PRUNE_EVERY == 0:
                self._prune(now)
            return max(0.0, slot - now)

    def admit(self, app_id: str, receiver: str) -> float:
        """0 and the send is counted, when the last second (and the last minute, for the
        app) has room for it; else the seconds until it will (call again after waiting)."""
        with self._lock:
            now = self.clock()
            key = (app_id, receiver)
            wait = 0.0
            for log, rate, window in (
                (self._sent.get(app_id), self.per_app, 1.0),
                (self._sent_to.get(key), self.per_receiver, 1.0),
                (self._sent_minute.get(app_id), self.per_app_per_minute, MINUTE),
            ):
                if log is None or rate is None:
                    continue
                while log and log[0] <= now - window:
                    log.popleft()
                cap = math.ceil(rate - 1e-9)
                if len(log) >= cap:
                    wait = max(wait, log[-cap] + window - now)
            if wait > 0:
                return wait
            if self.per_app is not None:
                self._sent.setdefault(app_id, deque()).append(now)
            if self.per_receiver is not None:
                self._sent_to.setdefault(key, deque()).append(now)
            if self.per_app_per_minute is not None:
                self._sent_minute.setdefault(app_id, deque()).append(now)
            return 0.0

    def _prune(self, now: float) -> None:
        for app in self._apps.values():
            if self.per_app is not None:
                floor = math.floor((now - app.epoch) * self.per_app)
                app.taken = {k for k in app.taken if k >= floor}
        self._receivers = {k: t for k, t in self._receivers.items() if t > now}
        self._sent_to = {k: log for k, log in self._sent_to.items() if log and log[-1] > now - 1}

    def __repr__(self) -> str:
        return (
            f"SendRateLimiter(per_app={self.per_app}, per_receiver={self.per_receiver}, "
            f"per_app_per_minute={self.per_app_per_minute})"
        )

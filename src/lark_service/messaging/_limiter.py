"""Client-side pacing of message sends: under Feishu's 50/s per app and 5/s per receiver.

The limiter hands out send *slots*; it never sleeps itself. A caller reserves a slot and
sleeps the returned delay (``_concurrency.sleep`` / ``async_sleep``), so the same object paces
threads and asyncio tasks alike, and tests drive it with a fake clock and no sleeping.

Slots of one app sit on a grid ``1/per_app`` seconds apart, and sends to one receiver at
least ``1/per_receiver`` seconds apart. So any one-second window holds at most ``per_app``
sends of the app and ``per_receiver`` sends to a receiver. A send waiting for its receiver
does not hold up sends to others: it takes a later grid slot and leaves the earlier ones free.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from ..errors import ValidationError

__all__ = [
    "DEFAULT_PER_APP",
    "DEFAULT_PER_RECEIVER",
    "FEISHU_PER_APP",
    "FEISHU_PER_RECEIVER",
    "SendRateLimiter",
]

FEISHU_PER_APP = 50.0
"""Feishu's send/reply limit per app per second."""
FEISHU_PER_RECEIVER = 5.0
"""Feishu's send limit per user, and per group, per second."""
HEADROOM = 0.9
DEFAULT_PER_APP = FEISHU_PER_APP * HEADROOM
"""The default pace: 10 % under Feishu's limit, so network jitter that bunches two sends
together does not push a second over it (measured: exactly 50/s got ~5 % of sends
throttled against the emulator's sliding window)."""
DEFAULT_PER_RECEIVER = FEISHU_PER_RECEIVER * HEADROOM
_PRUNE_EVERY = 1024


class _AppSlots:
    __slots__ = ("epoch", "taken")

    def __init__(self, epoch: float) -> None:
        self.epoch = epoch
        self.taken: set[int] = set()


class SendRateLimiter:
    """Paces sends: at most ``per_app`` per second per app, ``per_receiver`` per receiver
    (by default 45 and 4.5: 10 % under Feishu's 50 and 5).

    ``clock`` is any monotonic seconds function (default :func:`time.monotonic`); inject a
    fake one in tests. ``None`` for a limit switches it off. Thread-safe.
    """

    def __init__(
        self,
        per_app: float | None = DEFAULT_PER_APP,
        per_receiver: float | None = DEFAULT_PER_RECEIVER,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (("per_app", per_app), ("per_receiver", per_receiver)):
            if value is not None and value <= 0:
                raise ValidationError(f"{name} must be positive (or None), got {value}", field=name)
        self.per_app = per_app
        self.per_receiver = per_receiver
        self.clock = clock
        self._lock = threading.Lock()
        self._apps: dict[str, _AppSlots] = {}
        self._receivers: dict[tuple[str, str], float] = {}
        self._reservations = 0

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

    def _prune(self, now: float) -> None:
        for app in self._apps.values():
            if self.per_app is not None:
                floor = math.floor((now - app.epoch) * self.per_app)
                app.taken = {k for k in app.taken if k >= floor}
        self._receivers = {k: t for k, t in self._receivers.items() if t > now}

    def __repr__(self) -> str:
        return f"SendRateLimiter(per_app={self.per_app}, per_receiver={self.per_receiver})"

"""The emulator's clock: real time plus an offset that tests move forward."""

from __future__ import annotations

import threading
import time

__all__ = ["Clock"]


class Clock:
    """``now()`` is ``time.time()`` plus an offset; ``advance()`` grows the offset.

    Every expiry in the emulator (tokens, ``uuid`` dedup windows, …) reads this clock, so a test
    can jump two hours ahead without sleeping.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, as the emulator sees them."""
        with self._lock:
            return time.time() + self._offset

    def now_ms(self) -> int:
        """Milliseconds since the epoch (Feishu's IM timestamps)."""
        return int(self.now() * 1000)

    @property
    def offset(self) -> float:
        """Seconds the clock runs ahead of real time."""
        with self._lock:
            return self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (>= 0) and return the new ``now()``."""
        if seconds < 0:
            raise ValueError(f"the emulator clock only moves forward, got {seconds} s")
        with self._lock:
            self._offset += seconds
            return time.time() + self._offset

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._offset = 0.0

"""The background poll of device authorizations sent by card (no public URL, no redirect).

A ``LongConnection`` (and so ``lark-service listen``) runs one :class:`DevicePoller` per app:
every ``tick`` seconds it lists the app's pending device-card sessions (the state database is
shared, so a card sent by any process of the fleet is found) and checks each one no more
often than the ``interval`` Feishu gave (plus 5 s after each ``slow_down``), until the user
approves (the tokens are stored), denies, or the device code expires (the session ends).
Bounded: a session is never polled after its ``expires_at``. Several listeners may poll the
same session; Feishu hands the tokens out once, and the others find the session finished.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .. import errors
from ..logging import get_logger
from ._helpers import _device_parts
from .models import Authorized

if TYPE_CHECKING:
    from .._async_client import AsyncLarkClient

__all__ = ["DevicePoller"]

logger = get_logger("lark_service.auth")


class DevicePoller:
    """Polls ``app_id``'s pending device-card authorizations; see the module docstring."""

    def __init__(
        self,
        client: AsyncLarkClient,
        app_id: str,
        *,
        tick: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.app_id = app_id
        self.tick = tick
        self._clock = clock
        self._sleep = sleep
        self._due: dict[str, float] = {}
        self._interval: dict[str, float] = {}
        self.completed: list[Authorized] = []
        """Authorizations this poller completed (newest last)."""

    async def run(self, stopping: asyncio.Event) -> None:
        """Poll until ``stopping`` is set."""
        while not stopping.is_set():
            try:
                await self.poll_once()
            except Exception as exc:  # never let the poll end the connection
                logger.warning("device authorization poll for %s failed: %s", self.app_id, exc)
            await self._sleep(self.tick)

    async def poll_once(self) -> list[Authorized]:
        """Check every pending session that is due; the authorizations completed now."""
        sessions = await self.client.auth.pending_device_authorizations(app_id=self.app_id)
        live = {s.state for s in sessions}
        for state in list(self._due):
            if state not in live:
                self._due.pop(state, None)
                self._interval.pop(state, None)
        done: list[Authorized] = []
        now = self._clock()
        for session in sessions:
            if self._due.get(session.state, 0.0) > now:
                continue
            interval = self._interval.get(session.state)
            if interval is None:
                interval = _device_parts(session)[1]
            try:
                outcome = await self.client.auth._device_step(session)
            except errors.LarkError as exc:
                # denied, expired, finished elsewhere: the session ended (and drops out of the
                # list); else a transient failure: try again after the interval
                logger.info("device authorization check for %s: %s", self.app_id, exc.msg)
                self._interval[session.state] = interval
                self._due[session.state] = self._clock() + interval
                continue
            if isinstance(outcome, Authorized):
                done.append(outcome)
                self._due.pop(session.state, None)
                self._interval.pop(session.state, None)
                continue
            if outcome == "slow_down":
                interval += 5
            self._interval[session.state] = interval
            self._due[session.state] = self._clock() + interval
        self.completed.extend(done)
        return done

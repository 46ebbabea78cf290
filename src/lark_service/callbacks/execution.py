"""Running a handler and applying its card: the part both dispatchers share.

The in-process dispatcher and the RabbitMQ worker do the same three things with a callback,
through the same values here, so they cannot drift apart:

- :func:`run_handler` runs the matching route once and returns a :class:`HandlerOutcome`
  (``handled`` with the card handler's response, ``failed`` with the error text, or
  ``no_handler``), emitting ``callback.handled`` / ``callback.failed``;
- :class:`RetrySchedule` says how long to wait after a failed attempt, and when to give up
  (:data:`DEFAULT_RETRY_SCHEDULE`: 1 s, 5 s, 30 s, 120 s; five attempts);
- :class:`CardUpdater` applies a card a handler returned after the HTTP answer went out, with
  the callback's ``c-…`` token through ``client.cards.update_card_by_token`` (not retried by
  the pipeline: the token works twice within 30 minutes). :meth:`CardUpdater.attempt` decides
  whether a failed update may be tried again (:class:`UpdateResult`); the dispatchers then
  retry the update alone — never the handler — and dead-letter it with its own reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .. import instrumentation
from ..logging import get_logger
from .models import CallbackEvent, CardActionEvent, LegacyCardActionEvent
from .router import CallbackRouter, CardResponse, HandlerContext, normalize_result
from .schedule import DEFAULT_RETRY_SCHEDULE, RetrySchedule

if TYPE_CHECKING:
    from .._async_client import AsyncLarkClient

__all__ = [
    "CARD_TOKEN_TTL",
    "CARD_TOKEN_USES",
    "CARD_UPDATE_PATH",
    "DEFAULT_RETRY_SCHEDULE",
    "SIMULATED_TOKEN_PREFIX",
    "CardUpdater",
    "HandlerOutcome",
    "RetrySchedule",
    "UpdateResult",
    "failure_text",
    "run_handler",
]

CARD_UPDATE_PATH = "/open-apis/interactive/v1/card/update"
CARD_TOKEN_USES = 2
"""A card callback's ``c-…`` token updates the card at most this many times."""
CARD_TOKEN_TTL = 30 * 60.0
"""Seconds after the click that the token works."""
SIMULATED_TOKEN_PREFIX = "c-simulated-"
"""Tokens made up by ``callbacks simulate`` (not Feishu's): a card returned for one is not
sent to the delayed-update API, which would refuse it."""

_log = get_logger("lark_service.callbacks")


@dataclass(frozen=True)
class HandlerOutcome:
    """What one run of a handler came to.

    ``status``: ``handled`` (``response``: what a card handler shows, or None), ``failed``
    (``error``: ``Type: message``, the card token masked) or ``no_handler`` (no route
    matched: ``error`` says what was not matched).
    """

    status: Literal["handled", "failed", "no_handler"]
    response: CardResponse | None = None
    error: str | None = None
    duration: float = 0.0

    @property
    def card(self) -> dict[str, Any] | None:
        """The card to apply by the delayed update (None when the handler returned none)."""
        return self.response.raw_card if self.response is not None else None


async def run_handler(
    router: CallbackRouter,
    event: CallbackEvent,
    ctx: HandlerContext,
    *,
    timeout: float,
) -> HandlerOutcome:
    """Run ``router``'s matching handler for ``event`` once, within ``timeout`` seconds.

    Never raises for a handler's failure (it is the ``failed`` outcome); a callback no route
    matches is logged at WARNING and is the ``no_handler`` outcome — not done.
    """
    route = router.match(event)
    if route is None:
        reason = f"no_handler: router {router.name!r} has no route for {event.event_type!r}"
        _log.warning(
            "no handler for %s (event %s, router %s); kept as no_handler",
            event.event_type,
            event.event_id,
            router.name,
        )
        return HandlerOutcome("no_handler", error=reason)
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(route.run(event, ctx), timeout)
    except Exception as exc:
        duration = time.perf_counter() - started
        instrumentation.emit(
            "callback.failed",
            ctx.app_id,
            event_type=event.event_type,
            error=type(exc).__name__,
            attempt=ctx.attempt,
        )
        return HandlerOutcome("failed", error=failure_text(exc, event), duration=duration)
    duration = time.perf_counter() - started
    response = normalize_result(result) if route.kind == "card" or event.kind == "card" else None
    instrumentation.emit(
        "callback.handled",
        ctx.app_id,
        event_type=event.event_type,
        duration=duration,
        outcome="ok",
    )
    return HandlerOutcome("handled", response=response, duration=duration)


def failure_text(exc: BaseException, event: CallbackEvent) -> str:
    """``Type: message`` of a failed run for logs and ``last_error``, the card token masked."""
    text = f"{type(exc).__name__}: {exc}"
    token = getattr(event, "token", None)
    if isinstance(token, str) and len(token) >= 8:
        text = text.replace(token, "***")
    return text


@dataclass(frozen=True)
class UpdateResult:
    """What one delayed-update attempt came to.

    ``status``: ``applied``; ``skipped`` (nothing to apply: no card token, or a simulated
    one); ``retry`` (failed, and trying the update again is safe: the error is retryable and
    the token has a use left); ``dead`` (failed for good: the update alone is dead-lettered).
    ``uses``: the token's uses spent so far, this attempt included when it may have reached
    Feishu.
    """

    status: Literal["applied", "skipped", "retry", "dead"]
    uses: int
    error: str | None = None


class CardUpdater:
    """Applies a card returned by a queued handler: ``interactive/v1/card/update``.

    The update goes through ``client.cards.update_card_by_token`` — one non-idempotent call,
    which the pipeline does not retry after a failure Feishu may have processed.
    """

    def __init__(self, client_factory: Callable[[], AsyncLarkClient] | None = None) -> None:
        self._factory = client_factory
        self._client: AsyncLarkClient | None = None

    @property
    def client(self) -> AsyncLarkClient:
        """The shared client (made on first use)."""
        if self._client is None:
            if self._factory is not None:
                self._client = self._factory()
            else:
                from .._async_client import AsyncLarkClient

                self._client = AsyncLarkClient()
        return self._client

    async def update(self, token: str, card: dict[str, Any], app_id: str) -> None:
        """One delayed update of the clicked card (raises what the request raises)."""
        await self.client.cards.update_card_by_token(token, dict(card), app_id=app_id)

    async def apply(self, event: CallbackEvent, app_id: str, response: CardResponse | None) -> bool:
        """Update the clicked card with ``response.card``; False when there is nothing to do.

        Feishu endpoint: ``POST /open-apis/interactive/v1/card/update`` (the callback token).
        One attempt: raises what the request raises (:class:`~lark_service.errors.LarkError`,
        e.g. an expired or used-up token, or a transport error). The token itself is a bearer
        credential and never logged.
        """
        card = response.raw_card if response is not None else None
        token = _card_token(event, card)
        if card is None or token is None:
            return False
        try:
            await self.update(token, card, app_id)
        except Exception as exc:
            _log.warning(
                "delayed card update for event %s failed (%s)", event.event_id, type(exc).__name__
            )
            raise
        return True

    async def attempt(
        self,
        event: CallbackEvent,
        app_id: str,
        card: dict[str, Any],
        *,
        uses: int = 0,
        received_at: float | None = None,
        now: float | None = None,
    ) -> UpdateResult:
        """Try the delayed update once and say what to do next (never raises).

        ``uses``: the token's uses already spent; ``received_at``/``now`` (epoch seconds):
        when the callback arrived, to respect the token's 30 minutes. A failure is worth
        another try only when its error is retryable and the token has a use left; the
        attempt counts as a use unless the request provably never reached Feishu.
        """
        token = _card_token(event, card)
        if token is None:
            return UpdateResult("skipped", uses)
        if token.startswith(SIMULATED_TOKEN_PREFIX):
            _log.info(
                "event %s is a simulated callback: its card is not applied by the delayed "
                "update (the token is not Feishu's)",
                event.event_id,
            )
            return UpdateResult("skipped", uses)
        now = time.time() if now is None else now
        if received_at and now - received_at > CARD_TOKEN_TTL:
            return UpdateResult(
                "dead", uses, "card update: the callback token expired (30 minutes after the click)"
            )
        if uses >= CARD_TOKEN_USES:
            return UpdateResult(
                "dead", uses, f"card update: the callback token's {CARD_TOKEN_USES} uses are spent"
            )
        try:
            await self.apply(event, app_id, CardResponse(card=card))  # logs a failure
        except Exception as exc:
            spent = uses + (1 if _may_have_reached_feishu(exc) else 0)
            error = "card update failed (the handler is not run again): " + failure_text(exc, event)
            retryable = bool(getattr(exc, "retryable", False))
            if retryable and spent < CARD_TOKEN_USES:
                return UpdateResult("retry", spent, error)
            return UpdateResult("dead", spent, error)
        return UpdateResult("applied", uses + 1)

    async def aclose(self) -> None:
        """Close the client this updater made (through its factory or by default)."""
        if self._client is not None:
            await self._client.aclose()
        self._client = None


def _card_token(event: CallbackEvent, card: dict[str, Any] | None) -> str | None:
    if card is None:
        return None
    token = getattr(event, "token", None)
    if not isinstance(event, (CardActionEvent, LegacyCardActionEvent)) or not token:
        _log.warning("handler of %s returned a card but there is no card token", event.event_type)
        return None
    return str(token)


def _may_have_reached_feishu(exc: BaseException) -> bool:
    from ..errors import RateLimitedError, TransportError, ValidationError

    if isinstance(exc, (ValidationError, RateLimitedError)):
        return False  # refused before sending, or refused by the gateway without processing
    if isinstance(exc, TransportError):
        return bool(getattr(exc, "request_sent", True))
    return True

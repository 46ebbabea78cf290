"""Handlers for card actions and events, registered on a :class:`CallbackRouter`.

::

    router = CallbackRouter()

    @router.card_action(value_key="action", value="approve")
    async def approve(event: CardActionEvent) -> CardResponse:
        ...
        return CardResponse(toast=Toast("Approved", type="success"), card=approved_card)

    @router.event("im.message.receive_v1")
    def on_message(event: MessageReceiveEvent) -> None: ...

A handler may be sync (run in a worker thread) or async, and takes the event, optionally
followed by a :class:`HandlerContext`. The first matching route runs. A card handler may
return a :class:`CardResponse`, a :class:`Toast`, a card dict, or a dict with ``toast`` /
``card`` keys; anything else (e.g. ``None``) means "nothing to show".
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from ..logging import get_logger
from .models import CallbackEvent, CardActionEvent, LegacyCardActionEvent

__all__ = [
    "ANY",
    "CallbackRouter",
    "CardResponse",
    "HandlerContext",
    "Route",
    "Toast",
    "normalize_result",
]

F = TypeVar("F", bound=Callable[..., Any])
_log = get_logger("lark_service.callbacks")


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _Any()
"""``value=ANY`` (the default): match any value of ``value_key``."""


@dataclass(frozen=True)
class Toast:
    """A toast shown to the clicking user (only in the immediate answer to a card action)."""

    content: str
    type: Literal["info", "success", "warning", "error"] = "info"
    i18n: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Feishu's ``toast`` object."""
        data: dict[str, Any] = {"type": self.type, "content": self.content}
        if self.i18n:
            data["i18n"] = dict(self.i18n)
        return data


@dataclass(frozen=True)
class CardResponse:
    """What a card handler shows: a toast, a new card, or both."""

    toast: Toast | dict[str, Any] | None = None
    card: dict[str, Any] | None = None

    @property
    def raw_card(self) -> dict[str, Any] | None:
        """The card JSON itself (unwrapping ``{"type": "raw", "data": ...}``)."""
        card = self.card
        if card is not None and card.get("type") == "raw" and isinstance(card.get("data"), dict):
            inner: dict[str, Any] = card["data"]
            return inner
        return card

    def answer(self, *, legacy: bool = False) -> dict[str, Any]:
        """The HTTP answer body for a card callback (the legacy callback answers the card)."""
        body: dict[str, Any] = {}
        if self.toast is not None:
            body["toast"] = self.toast.to_dict() if isinstance(self.toast, Toast) else self.toast
        raw = self.raw_card
        if raw is not None:
            if legacy:
                return {**raw, **body}
            card = self.card or {}
            body["card"] = card if card.get("type") == "template" else {"type": "raw", "data": raw}
        return body


def normalize_result(result: Any) -> CardResponse | None:
    """A handler's return value as a :class:`CardResponse` (None: nothing to show)."""
    if result is None or isinstance(result, CardResponse):
        return result
    if isinstance(result, Toast):
        return CardResponse(toast=result)
    if isinstance(result, str):
        return CardResponse(toast=Toast(result))
    if isinstance(result, dict):
        if "toast" in result or "card" in result:
            toast = result.get("toast")
            card = result.get("card")
            if isinstance(toast, str):
                toast = Toast(toast)
            return CardResponse(
                toast=toast if isinstance(toast, (Toast, dict)) else None,
                card=card if isinstance(card, dict) else None,
            )
        return CardResponse(card=result)
    return None


@dataclass
class HandlerContext:
    """Facts about this run of a handler (its optional second argument)."""

    app_id: str
    attempt: int = 1
    delivery: Literal["inline", "queued", "worker"] = "queued"
    dedup_key: str | None = None
    """The callback's first dedup key, ``<app_id>:evt:<event_id>`` (``<app_id>:body:<sha256>``
    for a callback without an id): an idempotency key for the handler's side effects (stable
    across Feishu's re-pushes and this library's retries)."""
    client: Any = None
    """An :class:`~lark_service.AsyncLarkClient` when the dispatcher has one."""


@dataclass(frozen=True)
class Route:
    """One registered handler and what it matches."""

    handler: Callable[..., Any]
    kind: Literal["card", "event"]
    event_type: str | None = None
    value_key: str | None = None
    value: Any = field(default=ANY)
    tag: str | None = None
    name: str | None = None
    wants_context: bool = False

    def matches(self, event: CallbackEvent) -> bool:
        """Whether this route takes ``event``."""
        if self.kind == "event":
            return self.event_type in ("*", event.event_type)
        if not isinstance(event, (CardActionEvent, LegacyCardActionEvent)):
            return False
        action = event.action
        if self.tag is not None and action.tag != self.tag:
            return False
        if self.name is not None and action.name != self.name:
            return False
        if self.value_key is not None:
            if self.value_key not in action.value:
                return False
            if self.value is not ANY and action.value[self.value_key] != self.value:
                return False
        elif self.value is not ANY and self.value not in action.value.values():
            return False
        return True

    async def run(self, event: CallbackEvent, ctx: HandlerContext) -> Any:
        """Call the handler (sync ones in a worker thread) and return what it returned."""
        args: tuple[Any, ...] = (event, ctx) if self.wants_context else (event,)
        if inspect.iscoroutinefunction(self.handler):
            return await self.handler(*args)
        result = await asyncio.to_thread(self.handler, *args)
        if inspect.isawaitable(result):
            result = await result
        return result


def _wants_context(fn: Callable[..., Any]) -> bool:
    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return False
    return len(params) >= 2


class CallbackRouter:
    """Routes card actions and events to handlers; the first matching route runs.

    ``name`` identifies the service the router belongs to: outbox rows are stored under it,
    and a dispatcher claims only its own router's rows, so two services sharing one state
    database never run each other's callbacks. It must be the same in every process of one
    service and differ between services. Default: the name of the module that created the
    router (``myapp.callbacks``; a handlers file loaded by path: its file name without
    ``.py``); a router that only :meth:`include`-s others (``--handlers a:router --handlers
    b:router``) is named after them, joined by ``+``. Pass ``name=`` to choose one.
    """

    def __init__(self, name: str | None = None) -> None:
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError("name must be a non-empty string")
        self.routes: list[Route] = []
        self._name = name
        self._origin = _caller_module(sys._getframe(1))
        self._included: list[str] = []

    @property
    def name(self) -> str:
        """This router's (service's) identity; see the class docstring."""
        if self._name is not None:
            return self._name
        if self._included and not self._own_routes():
            return "+".join(dict.fromkeys(self._included))
        return self._origin

    def _own_routes(self) -> bool:
        return len(self.routes) > self._included_routes

    _included_routes: int = 0

    def card_action(
        self,
        *,
        value_key: str | None = None,
        value: Any = ANY,
        tag: str | None = None,
        name: str | None = None,
    ) -> Callable[[F], F]:
        """Register a card-action handler (``card.action.trigger`` and the legacy callback).

        ``value_key``: the button's ``value`` dict has this key (equal to ``value`` when
        given); ``value`` alone: any entry of ``value`` equals it; ``tag``: the component tag
        (``button``, ``select_static``, …); ``name``: the component's ``name``. No
        arguments: every card action.
        """

        def register(fn: F) -> F:
            self.routes.append(
                Route(
                    fn,
                    "card",
                    value_key=value_key,
                    value=value,
                    tag=tag,
                    name=name,
                    wants_context=_wants_context(fn),
                )
            )
            return fn

        return register

    def event(self, event_type: str) -> Callable[[F], F]:
        """Register an event handler for ``event_type`` (``"*"``: every event)."""
        if not event_type:
            raise ValueError("event_type must be a non-empty string (or '*')")

        def register(fn: F) -> F:
            self.routes.append(
                Route(fn, "event", event_type=event_type, wants_context=_wants_context(fn))
            )
            return fn

        return register

    def include(self, other: CallbackRouter) -> None:
        """Add every route of ``other`` (after this router's own)."""
        self.routes.extend(other.routes)
        self._included.append(other.name)
        self._included_routes += len(other.routes)

    def match(self, event: CallbackEvent) -> Route | None:
        """The route that will run for ``event``: card routes first, then event routes."""
        for route in self.routes:
            if route.kind == "card" and route.matches(event):
                return route
        for route in self.routes:
            if route.kind == "event" and route.matches(event):
                return route
        return None

    async def dispatch(self, event: CallbackEvent, ctx: HandlerContext) -> CardResponse | None:
        """Run the matching handler; returns what a card handler shows (None otherwise).

        Exceptions from the handler propagate (the dispatcher retries).
        """
        route = self.match(event)
        if route is None:
            _log.warning(
                "no handler for %s (event %s, router %s)",
                event.event_type,
                event.event_id,
                self.name,
            )
            return None
        result = await route.run(event, ctx)
        return normalize_result(result) if route.kind == "card" or event.kind == "card" else None

    def __len__(self) -> int:
        return len(self.routes)

    def __repr__(self) -> str:
        return f"CallbackRouter(name={self.name!r}, routes={len(self.routes)})"


def _caller_module(frame: Any) -> str:
    """A stable name for the module that runs ``frame``: its ``__name__``, or for a file
    loaded by path (``--handlers path/to/file.py:router``) or run as ``__main__`` the file
    name without ``.py`` (the loader's module name differs between processes)."""
    f_globals = frame.f_globals if frame is not None else {}
    module = str(f_globals.get("__name__") or "")
    path = f_globals.get("__file__")
    if (not module or module == "__main__" or module.startswith("lark_handlers_")) and path:
        return Path(str(path)).stem
    return module or "callbacks"

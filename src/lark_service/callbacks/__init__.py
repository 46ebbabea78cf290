"""Feishu callbacks and events: verify, deduplicate, store, dispatch (ARCHITECTURE §7).

::

    from lark_service.callbacks import CallbackRouter, CardActionEvent, CardResponse, Toast

    router = CallbackRouter()

    @router.card_action(value_key="action", value="approve")
    def approve(event: CardActionEvent) -> CardResponse:
        return CardResponse(toast=Toast("Approved", type="success"))

Serve it with ``lark-service serve --handlers myapp.callbacks:router`` (or
:func:`lark_service.server.create_app`), mount it in your own web app
(:mod:`lark_service.integrations`), or answer requests yourself with the framework-neutral
``status, body = CallbackHandler(router).handle("event", app_id, headers, raw_body)``.
Importing this package is cheap: SQLAlchemy, the cipher and aio-pika load when first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .dispatch import (
        CardUpdater,
        Dispatcher,
        InProcessDispatcher,
        StorageUnavailableError,
        Submission,
    )
    from .execution import HandlerOutcome, run_handler
    from .handler import CallbackAnswer, CallbackHandler
    from .keys import CallbackKeys, KeyLookup, RegistryKeys, StaticKeys, keys_from_settings
    from .models import (
        CallbackEvent,
        CardAction,
        CardActionEvent,
        CardContext,
        EventHeader,
        GenericEvent,
        LegacyCardActionEvent,
        MessageReceiveEvent,
        Operator,
        parse_callback,
    )
    from .rabbitmq import RabbitDispatcher, RabbitTopology, RabbitWorker
    from .router import ANY, CallbackRouter, CardResponse, HandlerContext, Toast
    from .schedule import DEFAULT_RETRY_SCHEDULE, RetrySchedule
    from .store import OutboxItem, OutboxStore
    from .verify import CallbackVerifier, VerifiedCallback

_LAZY = {
    "ANY": ".router",
    "CallbackAnswer": ".handler",
    "CallbackEvent": ".models",
    "CallbackHandler": ".handler",
    "CallbackKeys": ".keys",
    "CallbackRouter": ".router",
    "CallbackVerifier": ".verify",
    "CardAction": ".models",
    "CardActionEvent": ".models",
    "CardContext": ".models",
    "CardResponse": ".router",
    "CardUpdater": ".dispatch",
    "DEFAULT_RETRY_SCHEDULE": ".schedule",
    "HandlerOutcome": ".execution",
    "RetrySchedule": ".schedule",
    "run_handler": ".execution",
    "Dispatcher": ".dispatch",
    "EventHeader": ".models",
    "GenericEvent": ".models",
    "HandlerContext": ".router",
    "InProcessDispatcher": ".dispatch",
    "KeyLookup": ".keys",
    "LegacyCardActionEvent": ".models",
    "MessageReceiveEvent": ".models",
    "Operator": ".models",
    "OutboxItem": ".store",
    "OutboxStore": ".store",
    "RabbitDispatcher": ".rabbitmq",
    "RabbitTopology": ".rabbitmq",
    "RabbitWorker": ".rabbitmq",
    "RegistryKeys": ".keys",
    "StaticKeys": ".keys",
    "StorageUnavailableError": ".dispatch",
    "Submission": ".dispatch",
    "Toast": ".router",
    "VerifiedCallback": ".verify",
    "keys_from_settings": ".keys",
    "parse_callback": ".models",
}

__all__ = [
    "ANY",
    "DEFAULT_RETRY_SCHEDULE",
    "CallbackAnswer",
    "CallbackEvent",
    "CallbackHandler",
    "CallbackKeys",
    "CallbackRouter",
    "CallbackVerifier",
    "CardAction",
    "CardActionEvent",
    "CardContext",
    "CardResponse",
    "CardUpdater",
    "Dispatcher",
    "EventHeader",
    "GenericEvent",
    "HandlerContext",
    "HandlerOutcome",
    "InProcessDispatcher",
    "KeyLookup",
    "LegacyCardActionEvent",
    "MessageReceiveEvent",
    "Operator",
    "OutboxItem",
    "OutboxStore",
    "RabbitDispatcher",
    "RabbitTopology",
    "RabbitWorker",
    "RegistryKeys",
    "RetrySchedule",
    "StaticKeys",
    "StorageUnavailableError",
    "Submission",
    "Toast",
    "VerifiedCallback",
    "keys_from_settings",
    "parse_callback",
    "run_handler",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lark_service.callbacks' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)

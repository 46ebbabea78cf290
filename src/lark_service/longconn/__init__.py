"""Receive Feishu events and card actions over the long connection (WebSocket event mode):
no public callback URL needed.

::

    from lark_service.longconn import LongConnection

    conn = LongConnection(router, app_id="cli_a1")
    conn.run()                      # blocking: a script or a dedicated process
    conn.start(); ...; conn.stop()  # a background thread (Django, Celery, a notebook)

    async with LongConnection(router) as conn:   # inside an event loop you already run
        ...
    await LongConnection(router).serve()

or ``lark-service listen --handlers myapp.callbacks:router``. What arrives takes the webhook
path (:meth:`~lark_service.callbacks.CallbackHandler.ahandle_trusted`): the same dedup keys,
outbox and dispatchers, and a frame is acknowledged to Feishu only once it is stored. Handlers
never run on the socket's event loop; a card action's toast/card goes back in the ack when
the handler is ready within ``reply_wait``, else through the delayed update.

No event loop is created and nothing is connected at import; each ``LongConnection`` is one
app (share a :class:`~lark_service.callbacks.CallbackHandler` between several apps'
connections with ``handler=``). Needs the ``longconn`` extra (``websockets``, ``protobuf``).

Events emitted (:mod:`lark_service.instrumentation`): ``longconn.state``,
``longconn.reconnect``, ``longconn.half_open``, ``longconn.frame``, ``longconn.ack``,
``longconn.reassembly_dropped``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import LongConnection, LongConnectionConfig
    from .protocol import ClientConfig

__all__ = ["ClientConfig", "LongConnection", "LongConnectionConfig"]

_LAZY = {
    "LongConnection": ".client",
    "LongConnectionConfig": ".client",
    "ClientConfig": ".protocol",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value

"""Bounds on slow and huge requests for ``lark-service serve`` (uvicorn).

:class:`ServerLimits` holds them; :func:`uvicorn_options` (``uvicorn.run(app, **...)``) and
:func:`uvicorn_config` give the uvicorn settings that enforce them:

- **header deadline** — a connection must deliver a request's complete headers within
  ``header_timeout`` seconds (from connecting, or from the previous response on a keep-alive
  connection), however slowly the bytes trickle in; otherwise it is closed. uvicorn itself only
  times out *idle* keep-alive connections, so this is a small subclass of its h11 protocol.
- **header size** — headers larger than ``max_header_bytes`` are answered 400 and the connection
  closed as soon as that many bytes are buffered (h11's incomplete-event limit).
- **concurrency** — beyond ``max_connections`` open connections (or requests in flight) new
  requests are answered 503 at once (uvicorn's ``limit_concurrency``); pick a cap well above
  normal load.
- **keep-alive** — an idle keep-alive connection is closed after ``keep_alive_timeout`` seconds.

``/healthz`` keeps answering meanwhile: slow clients only hold their own connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

__all__ = ["ServerLimits", "bounded_protocol", "uvicorn_config", "uvicorn_options"]

MAX_HEADER_TIMEOUT = 60.0


@dataclass(frozen=True)
class ServerLimits:
    """What one ``lark-service serve`` process tolerates from its clients."""

    header_timeout: float = 30.0
    """Seconds to receive a request's complete headers (at most 60)."""
    max_header_bytes: int = 64 * 1024
    """Largest request line plus headers, in bytes."""
    max_connections: int = 1000
    """Open connections (or requests in flight) beyond which requests get 503."""
    keep_alive_timeout: int = 5
    """Seconds an idle keep-alive connection stays open."""

    def __post_init__(self) -> None:
        from ..errors import ValidationError

        if not 0 < self.header_timeout <= MAX_HEADER_TIMEOUT:
            raise ValidationError(
                f"header timeout must be between 0 and {MAX_HEADER_TIMEOUT:.0f} seconds"
            )
        if self.max_header_bytes < 1024:
            raise ValidationError("the header size limit must be at least 1024 bytes")
        if self.max_connections < 1:
            raise ValidationError("the connection limit must be at least 1")
        if self.keep_alive_timeout < 1:
            raise ValidationError("the keep-alive timeout must be at least 1 second")


def bounded_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with a total deadline for receiving each request's headers."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadlineH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_header_deadline()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_deadline()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            before = self.cycle
            super().handle_events()
            if self.cycle is not before:  # a request's headers are complete
                self._disarm_header_deadline()

        def on_response_complete(self) -> None:
            self._arm_header_deadline()  # the next request on this connection, if any
            super().on_response_complete()

        def _arm_header_deadline(self) -> None:
            self._disarm_header_deadline()
            self._header_timer = self.loop.call_later(header_timeout, self._header_deadline)

        def _disarm_header_deadline(self) -> None:
            timer, self._header_timer = self._header_timer, None
            if timer is not None:
                timer.cancel()

        def _header_deadline(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadlineH11Protocol


def uvicorn_options(limits: ServerLimits | None = None) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` / ``uvicorn.Config`` enforcing ``limits``."""
    limits = limits or ServerLimits()
    return {
        "http": bounded_protocol(limits.header_timeout),
        "h11_max_incomplete_event_size": limits.max_header_bytes,
        "limit_concurrency": limits.max_connections,
        "timeout_keep_alive": limits.keep_alive_timeout,
    }


def uvicorn_config(app: Any, *, limits: ServerLimits | None = None, **options: Any) -> Any:
    """A ``uvicorn.Config`` for ``app`` enforcing ``limits`` (``options``: uvicorn's own)."""
    import uvicorn

    return uvicorn.Config(app, **uvicorn_options(limits), **options)

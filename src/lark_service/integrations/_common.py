"""What every adapter shares: the paths and the body-size checks."""

from __future__ import annotations

from typing import Any

from ..errors import PayloadTooLargeError

__all__ = ["KINDS", "build_handler", "check_declared", "too_large"]

KINDS = ("event", "card")


def check_declared(content_length: str | None, limit: int) -> None:
    """413 (:class:`PayloadTooLargeError`) when ``Content-Length`` already exceeds ``limit``."""
    declared = (content_length or "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"callback body of {declared} bytes exceeds {limit} bytes")


def too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"callback body exceeds {limit} bytes")


def build_handler(router: Any, handler: Any, options: dict[str, Any]) -> Any:
    """``handler`` if given (then neither ``router`` nor options may be), else a new one."""
    from ..callbacks.handler import CallbackHandler

    if handler is not None:
        if router is not None or options:
            raise TypeError("pass either handler= or a router (and handler options), not both")
        return handler
    return CallbackHandler(router, **options)

"""The request-options value: everything about *how* one call is made, in one frozen object.

A domain method builds a :class:`RequestOptions` from its client's options and the call's own
arguments (``app_id=``, ``idempotent=False``, the pacing key), and hands it to the pipeline with
the path and body. ``client.with_options(...)`` and ``client.as_user(...)`` are clients whose
default options differ; nothing else changes between them (connections, tokens and pacing are
shared).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx

if TYPE_CHECKING:
    from ._retry import RetryPolicy
    from .errors import LarkError

__all__ = ["ErrorContext", "RequestOptions", "TokenKind"]

TokenKind = Literal["tenant", "app", "user"]

ErrorContext = Callable[["LarkError", str], "LarkError"]
"""``context(error, app_id) -> error``: makes a mapped API error specific to the call (which
chat, which user, which scope is missing). Returns the error to raise (often the same one)."""


@dataclass(frozen=True)
class RequestOptions:
    """How one call is made. Every field has a default that means "the client's".

    - ``app_id``: the app (None: resolved as ARCHITECTURE §2 says).
    - ``token``: ``tenant`` (default), ``app``, ``user`` or None (no Authorization header).
    - ``user``: the open_id whose user token is used (implies ``token="user"``).
    - ``retry`` / ``timeout``: override the client's policy and read timeout.
    - ``idempotent``: False for a write that must not run twice (not retried after a failure
      Feishu may have processed).
    - ``pacing_key``: what the endpoint's per-key limit counts (a receiver, a document).
    - ``pace``: False when the caller paced the call itself (``send_batch``): the pipeline's
      pacing table then lets it through at once.
    - ``headers``: extra request headers.
    - ``error_family``: the endpoint family whose code table maps Feishu's codes (codes mean
      different things on different endpoints); None: derived from the path.
    - ``error_context``: see :data:`ErrorContext`.
    """

    app_id: str | None = None
    token: TokenKind | None = "tenant"
    user: str | None = None
    retry: RetryPolicy | None = None
    timeout: float | httpx.Timeout | None = None
    idempotent: bool = True
    pacing_key: str | None = None
    pace: bool = True
    headers: tuple[tuple[str, str], ...] = ()
    error_family: str | None = None
    error_context: ErrorContext | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check(self)

    def merge(self, **changes: Any) -> RequestOptions:
        """These options with every change that is not None applied (``headers`` may be a
        mapping; it is added to the current headers)."""
        values = {k: v for k, v in changes.items() if v is not None}
        if not values:
            return self
        headers = values.get("headers")
        if isinstance(headers, Mapping):
            values["headers"] = (*self.headers, *headers.items())
        if values.get("user") is not None and "token" not in values:
            values["token"] = "user"
        if type(self) is not RequestOptions or not values.keys() <= _FIELDS:
            return dataclasses.replace(self, **values)  # (TypeError for an unknown name)
        # The per-call path (every request merges its app_id, pacing key...): copy the
        # fields and check only the changed ones, not all of them again.
        _check(self, values)
        merged = object.__new__(RequestOptions)
        merged.__dict__.update(self.__dict__)
        merged.__dict__.update(values)
        return merged

    @property
    def token_kind(self) -> TokenKind | None:
        """The token the call needs (``user`` whenever a user is named)."""
        return "user" if self.user is not None and self.token is not None else self.token


_TOKENS = ("tenant", "app", "user", None)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


_FIELDS = frozenset(f.name for f in dataclasses.fields(RequestOptions))


def _check(options: RequestOptions, changed: Mapping[str, Any] | None = None) -> None:
    """Refuse option values of the wrong type now, with a ValidationError, rather than as an
    untyped error deep in httpx or the token store (or silently, for a misspelt flag).

    ``changed``: check only these new values (``merge``); None: every field of ``options``.
    """
    values: Mapping[str, Any] = (
        changed if changed is not None else {name: getattr(options, name) for name in _FIELDS}
    )
    for name in ("app_id", "user", "pacing_key", "error_family"):
        value = values.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise _bad(name, "a non-empty string", value)
    if "token" in values and values["token"] not in _TOKENS:
        raise _bad("token", "'tenant', 'app', 'user' or None", values["token"])
    retry = values.get("retry")
    if retry is not None:
        from ._retry import RetryPolicy

        if not isinstance(retry, RetryPolicy):
            raise _bad("retry", "a RetryPolicy (e.g. NO_RETRY)", retry)
    timeout = values.get("timeout")
    if timeout is not None and not isinstance(timeout, httpx.Timeout):
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise _bad("timeout", "a number of seconds", timeout)
        if not 0 < timeout < float("inf"):
            raise _bad("timeout", "a positive, finite number of seconds", timeout)
    for name in ("idempotent", "pace"):
        if name in values and not isinstance(values[name], bool):
            raise _bad(name, "True or False", values[name])
    if "headers" in values:
        headers = values["headers"]
        if not isinstance(headers, tuple) or not all(
            isinstance(pair, tuple)
            and len(pair) == 2
            and all(isinstance(part, str) for part in pair)
            for pair in headers
        ):
            raise _bad("headers", "a mapping of header names to strings", headers)
        for header, value in headers:
            if not _HEADER_NAME.fullmatch(header) or any(c in value for c in "\r\n\0"):
                from .errors import ValidationError

                raise ValidationError(
                    f"header {header[:40]!r} is not a valid HTTP header (name or value)",
                    field="headers",
                )
    context = values.get("error_context")
    if context is not None and not callable(context):
        raise _bad("error_context", "a callable", context)


def _bad(name: str, want: str, value: object) -> Exception:
    from .errors import ValidationError

    shown = repr(value) if len(repr(value)) <= 60 else type(value).__name__
    return ValidationError(f"{name} must be {want}, not {shown}", field=name)

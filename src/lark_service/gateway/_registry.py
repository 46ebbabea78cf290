"""The one registry of gateway operations: a domain method becomes an HTTP endpoint by a
declaration, never by a route written for it.

A domain folder opts in with ``<domain>/_gateway.py`` holding ``OPERATIONS``, a list of
:func:`expose` declarations (found like ``_domain.py`` and ``_cli.py``: no central list to
edit); a domain of your own calls :func:`register_operation`::

    class ReminderBody(GatewayBody):
        user: str
        text: str

    OPERATIONS = [
        expose("POST", "/reminders", "send_reminder", scopes=["reminders:send"],
               body=ReminderBody, summary="Send a reminder"),
    ]

The gateway calls ``client.with_options(app_id=...).<domain>.<call>(**arguments)`` where the
arguments are the path parameters, the query model's and the body model's fields the caller
set (unset fields keep the method's defaults), ``app_id`` when the method takes it, the
uploaded file's bytes (``upload=``) and, for sends, the Feishu ``uuid`` derived from the
``Idempotency-Key`` (``uuid_argument=``). ``call`` may also be a coroutine function
``call(domain_client, **arguments)`` when the wire shape differs from the method's.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .. import errors

__all__ = [
    "GatewayBody",
    "GatewayQuery",
    "Operation",
    "examples",
    "expose",
    "operations",
    "register_operation",
]

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PATH_PARAM = re.compile(r"{([a-z_][a-z0-9_]*)}")


class GatewayBody(BaseModel):
    """Base of request bodies: unknown fields are refused (422 names them); ``app_id`` picks
    the app (optional when the API key has exactly one)."""

    model_config = ConfigDict(extra="forbid")

    app_id: str | None = Field(
        default=None,
        max_length=64,
        description="The app to act as (optional when the API key has exactly one app).",
    )


class GatewayQuery(BaseModel):
    """Base of query-string models (``app_id`` is a query parameter of every operation)."""

    model_config = ConfigDict(extra="forbid")

    app_id: str | None = Field(
        default=None,
        max_length=64,
        description="The app to act as (optional when the API key has exactly one app).",
    )


def examples(*items: Any) -> ConfigDict:
    """The ``model_config`` of a body or query model: unknown fields refused, and ``items``
    as the examples of the OpenAPI document."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(items)})


@dataclass(frozen=True)
class Operation:
    """One endpoint: ``method path`` (under ``/api/v1``) calling ``domain.call``."""

    method: str
    path: str
    call: str | Callable[..., Awaitable[Any]]
    scopes: tuple[str, ...]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    upload: str | None = None
    """The argument that gets the bytes of the multipart ``file`` field (the body model's
    fields then come as form fields)."""
    uuid_argument: str | None = None
    """The argument that gets the Feishu ``uuid`` derived from ``Idempotency-Key``."""
    summary: str = ""
    description: str = ""
    domain: str = ""
    """The domain client (``client.<domain>``); ``""`` is the client itself."""
    operation_id: str = ""
    write: bool = field(default=False)
    max_upload: int = 30 * 1024 * 1024
    """The largest file an upload operation reads (bytes); larger ones are refused (400)."""
    as_user: str | None = None
    """The argument naming the open_id the call runs as (``client.as_user(open_id)``: the
    user's token, for endpoints that take only one); it is not passed to the method."""

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)

    @property
    def name(self) -> str:
        return self.operation_id or _operation_id(self.method, self.path)


def expose(
    method: str,
    path: str,
    call: str | Callable[..., Awaitable[Any]],
    *,
    scopes: Sequence[str],
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    upload: str | None = None,
    uuid_argument: str | None = None,
    summary: str = "",
    description: str = "",
    domain: str | None = None,
    operation_id: str = "",
    max_upload: int = 30 * 1024 * 1024,
    as_user: str | None = None,
) -> Operation:
    """Declare ``method path`` (under ``/api/v1``) as a call of the domain's ``call``.

    ``scopes``: the gateway scopes an API key needs. ``body`` / ``query``: pydantic models
    validated before anything is sent (422 names the field). ``domain``: defaults to the
    folder the declaration lives in. Writes are every method but GET.
    """
    method = method.upper()
    if method not in _METHODS:
        raise errors.ValidationError(f"method must be one of {_METHODS}", field="method")
    if not path.startswith("/"):
        raise errors.ValidationError("path must start with '/'", field="path")
    if not scopes:
        raise errors.ValidationError("an operation needs at least one scope", field="scopes")
    if upload is not None and method != "POST":
        raise errors.ValidationError("uploads are POST operations", field="upload")
    return Operation(
        method=method,
        path=path,
        call=call,
        scopes=tuple(scopes),
        body=body,
        query=query,
        upload=upload,
        uuid_argument=uuid_argument,
        summary=summary,
        description=description,
        domain=domain if domain is not None else "",
        operation_id=operation_id,
        write=method != "GET",
        max_upload=max_upload,
        as_user=as_user,
    )


_lock = threading.Lock()
_registered: dict[tuple[str, str], Operation] = {}
_discovered = False


def register_operation(operation: Operation, *, domain: str | None = None) -> Operation:
    """Add an operation (a domain of your own); ``domain`` names its ``client.<domain>``.
    Raises ValidationError when ``method path`` is taken."""
    _discover()
    if domain is not None:
        operation = replace(operation, domain=domain)
    _add(operation)
    return operation


def operations() -> list[Operation]:
    """Every operation, sorted by path then method."""
    _discover()
    return sorted(_registered.values(), key=lambda op: (op.path, op.method))


def _add(operation: Operation) -> None:
    key = (operation.method, operation.path)
    with _lock:
        if key in _registered and _registered[key] != operation:
            raise errors.ValidationError(
                f"{operation.method} {operation.path} is already a gateway operation",
                field="path",
            )
        _registered[key] = operation


def _discover() -> None:
    """Every ``lark_service.<folder>._gateway.OPERATIONS`` (the domain: the folder's
    ``_domain.DOMAIN.name``, unless the declaration names one)."""
    global _discovered
    if _discovered:
        return
    with _lock:
        if _discovered:
            return
        found: list[Operation] = []
        package = importlib.import_module("lark_service")
        for info in pkgutil.iter_modules(package.__path__):
            folder = os.path.join(getattr(info.module_finder, "path", ""), info.name)
            if not info.ispkg or not os.path.exists(os.path.join(folder, "_gateway.py")):
                continue
            module = importlib.import_module(f"lark_service.{info.name}._gateway")
            default = info.name
            if os.path.exists(os.path.join(folder, "_domain.py")):
                declared = importlib.import_module(f"lark_service.{info.name}._domain")
                default = getattr(getattr(declared, "DOMAIN", None), "name", info.name)
            for op in _as_list(getattr(module, "OPERATIONS", ())):
                found.append(op if op.domain else replace(op, domain=default))
        _discovered = True
    for op in found:
        _add(op)


def _as_list(values: Iterable[Any]) -> list[Operation]:
    return [v for v in values if isinstance(v, Operation)]


def _operation_id(method: str, path: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", path) if w]
    return "_".join([method.lower(), *words])

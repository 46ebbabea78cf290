"""The registry of domain clients: what ``client.<name>`` is, for every domain.

Each domain is a folder (resource, models, pure helpers) with a ``_domain.py`` declaring one
:class:`Domain`; the registry finds them on first use, so adding a domain edits nothing in the
client. ``client.with_options(...)`` and ``client.as_user(...)`` rebuild every registered
domain with their options, ours and yours alike.

A user's own domain registers the same way and gets options, pacing, paging, errors and
instrumentation like ours (docs/development.md walks through a Calendar example)::

    from lark_service import AsyncResource, Resource, register_domain

    class Calendars(Resource):
        def get_calendar(self, calendar_id: str) -> dict:
            path = api_path("/open-apis/calendar/v4/calendars/{calendar_id}",
                            calendar_id=calendar_id)
            return self._request("GET", path).data

    register_domain("calendar", sync_client=Calendars, async_client=AsyncCalendars)
    LarkClient().calendar.get_calendar("feishu.cn_xxx@group.calendar.feishu.cn")
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .errors import ValidationError

__all__ = ["Domain", "get_domain", "register_domain", "registered_domains"]


@dataclass(frozen=True)
class Domain:
    """A domain client: ``client.<name>``. The clients are classes, or ``"module:Class"``
    strings imported on first use (so ``import lark_service`` stays cheap).

    Both take ``(pipeline, options)``; subclass :class:`~lark_service.AsyncResource` /
    :class:`~lark_service.Resource`.
    """

    name: str
    async_client: Any
    sync_client: Any
    summary: str = ""

    def client_class(self, *, is_async: bool) -> type[Any]:
        """The class for ``LarkClient`` (sync) or ``AsyncLarkClient`` (async)."""
        target = self.async_client if is_async else self.sync_client
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            target = getattr(importlib.import_module(module), attr)
        if not isinstance(target, type):
            raise TypeError(f"domain {self.name!r}: {target!r} is not a class")
        return target


_lock = threading.Lock()
_domains: dict[str, Domain] = {}
_discovered = False
_RESERVED = frozenset(
    {
        "settings",
        "credentials",
        "retry",
        "app_id",
        "options",
        "request",
        "with_options",
        "as_user",
        "use_app",
        "resolve_app",
        "access_token",
        "check_credentials",
        "close",
        "aclose",
    }
)


def register_domain(
    name: str,
    *,
    async_client: Any,
    sync_client: Any,
    summary: str = "",
    replace: bool = False,
) -> Domain:
    """Make ``client.<name>`` the given clients on every ``LarkClient`` / ``AsyncLarkClient``.

    Raises ValidationError for a name that is not an identifier, clashes with a client
    attribute, or is taken (unless ``replace=True``).
    """
    if not name.isidentifier() or name.startswith("_") or name in _RESERVED:
        raise ValidationError(f"{name!r} cannot be a domain name", field="name")
    domain = Domain(name, async_client, sync_client, summary)
    _discover()
    with _lock:
        existing = _domains.get(name)
        if existing is not None and existing != domain and not replace:
            raise ValidationError(
                f"domain {name!r} is already registered; pass replace=True to replace it",
                field="name",
            )
        _domains[name] = domain
    return domain


def get_domain(name: str) -> Domain | None:
    """The domain called ``name``, or None."""
    _discover()
    return _domains.get(name)


def registered_domains() -> Mapping[str, Domain]:
    """Every registered domain, by name (a read-only view)."""
    _discover()
    return MappingProxyType(_domains)


def _discover() -> None:
    """Register the built-in domains: every ``lark_service.<folder>._domain.DOMAIN``."""
    global _discovered
    if _discovered:
        return
    with _lock:
        if _discovered:
            return
        package = importlib.import_module("lark_service")
        for info in pkgutil.iter_modules(package.__path__):
            # look before importing: importing a package without a domain (the CLI, the
            # server) would run its __init__ for nothing
            folder = getattr(info.module_finder, "path", "")
            if not info.ispkg or not os.path.exists(os.path.join(folder, info.name, "_domain.py")):
                continue
            module = importlib.import_module(f"lark_service.{info.name}._domain")
            declared = getattr(module, "DOMAIN", None)
            if isinstance(declared, Domain):
                _domains.setdefault(declared.name, declared)
        _discovered = True

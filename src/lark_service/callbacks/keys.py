"""Which encrypt key and verification token an app's callbacks are checked with.

:class:`KeyLookup` is the protocol the server consults; :class:`StaticKeys` holds keys given
in code, and :func:`keys_from_settings` builds the usual lookup: the app registry (its apps'
encrypt keys and verification tokens) with single-app mode on top (``LARK_APP_ID``,
``LARK_ENCRYPT_KEY``, ``LARK_VERIFICATION_TOKEN``).

A lookup may block (the registry reads its database). The server calls a lookup on its event
loop only when it declares ``blocking = False`` (as :class:`StaticKeys` does) or when its
optional ``peek(app_id)`` answers from memory (as :class:`RegistryKeys` does for cached apps);
otherwise in a worker thread. A lookup that raises makes the server answer 503. A lookup with a
``ping()`` method is checked by ``/readyz``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["CallbackKeys", "KeyLookup", "RegistryKeys", "StaticKeys", "keys_from_settings"]


@dataclass(frozen=True)
class CallbackKeys:
    """One app's callback secrets (either may be None). Never shown in ``repr``."""

    app_id: str
    encrypt_key: str | None = field(default=None, repr=False)
    verification_token: str | None = field(default=None, repr=False)

    @property
    def configured(self) -> bool:
        """Whether callbacks can be authenticated at all (a key or a token is set)."""
        return bool(self.encrypt_key or self.verification_token)


class KeyLookup(Protocol):
    """Where the server finds an app's callback keys (see the module docstring)."""

    def get(self, app_id: str) -> CallbackKeys | None:
        """The app's keys, or None when the app is unknown (or disabled); raises when the
        source cannot be read."""

    def default_app_id(self) -> str | None:
        """The app served by ``/callbacks/event`` and ``/callbacks/card`` (None: none)."""


class StaticKeys:
    """Keys given in code: ``StaticKeys(CallbackKeys("cli_a", "ek", "vt"), ...)``."""

    blocking = False
    """Answers from memory: the server calls it on its event loop."""

    def __init__(self, *keys: CallbackKeys, default_app_id: str | None = None) -> None:
        self._keys = {k.app_id: k for k in keys}
        self._default = default_app_id or (keys[0].app_id if len(keys) == 1 else None)

    def get(self, app_id: str) -> CallbackKeys | None:
        """The app's keys, or None."""
        return self._keys.get(app_id)

    def default_app_id(self) -> str | None:
        """The only app, or the one named ``default_app_id``."""
        return self._default

    def app_ids(self) -> Iterable[str]:
        """Every app these keys cover."""
        return list(self._keys)


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    getter = getattr(value, "get_secret_value", None)
    text = getter() if callable(getter) else value
    return str(text) if text else None


class RegistryKeys:
    """Keys read from the app registry (cached ``ttl`` seconds), with ``fallback`` first.

    Works with :class:`lark_service.apps.AppRegistry` (``get_secrets(app_id)``), with a
    registry offering ``get_callback_keys(app_id)``, or with app objects carrying
    ``encrypt_key`` / ``verification_token`` attributes. Disabled apps have no keys. Lookups
    that miss the cache query the registry's database (blocking) and raise when it fails;
    failures are not cached.

    A registry with a live snapshot (``is_fresh()``, as :class:`~lark_service.apps.AppRegistry`
    re-validates every second) is asked at every lookup whether the app is still active, so
    disabling or removing an app refuses its callbacks within the snapshot's age (about a
    second), not the key cache's ``ttl``; :meth:`peek` answers from memory only while that
    snapshot is fresh.
    """

    blocking = True

    def __init__(
        self,
        registry: Any,
        *,
        fallback: StaticKeys | None = None,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._fallback = fallback
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, CallbackKeys | None]] = {}
        self._default: tuple[float, str | None] | None = None

    @property
    def _live(self) -> bool:
        return callable(getattr(self._registry, "is_fresh", None))

    def _active(self, app_id: str) -> bool:
        """Whether the registry's snapshot (memory, re-validated when stale) has the app
        active."""
        app = self._registry.get_app(app_id)
        return app is not None and getattr(app, "status", "active") == "active"

    def get(self, app_id: str) -> CallbackKeys | None:
        """The app's keys: the single-app settings when they name it, else the registry's."""
        if self._fallback is not None:
            hit = self._fallback.get(app_id)
            if hit is not None:
                return hit
        if self._live and not self._active(app_id):
            with self._lock:
                self._cache.pop(app_id, None)
            return None
        now = self._clock()
        with self._lock:
            cached = self._cache.get(app_id)
            if cached is not None and cached[0] > now and (cached[1] or not self._live):
                return cached[1]
        keys = self._load(app_id)
        with self._lock:
            self._cache[app_id] = (now + self._ttl, keys)
        return keys

    def _load(self, app_id: str) -> CallbackKeys | None:
        direct = getattr(self._registry, "get_callback_keys", None)
        if callable(direct):
            found = direct(app_id)
            if found is None or isinstance(found, CallbackKeys):
                return found
        app = self._registry.get_app(app_id)
        if app is None or getattr(app, "status", "active") != "active":
            return None
        secrets = getattr(self._registry, "get_secrets", None)
        if callable(secrets):  # lark_service.apps.AppRegistry: decrypted on demand
            from ..errors import AppNotFoundError

            try:
                found = secrets(app_id)
            except AppNotFoundError:  # removed since get_app
                return None
            return CallbackKeys(
                app_id,
                encrypt_key=_secret(getattr(found, "encrypt_key", None)),
                verification_token=_secret(getattr(found, "verification_token", None)),
            )
        return CallbackKeys(
            app_id,
            encrypt_key=_secret(getattr(app, "encrypt_key", None)),
            verification_token=_secret(getattr(app, "verification_token", None)),
        )

    def default_app_id(self) -> str | None:
        """``LARK_APP_ID``, else the registry's only active app (cached ``ttl`` seconds)."""
        if self._fallback is not None and self._fallback.default_app_id():
            return self._fallback.default_app_id()
        now = self._clock()
        with self._lock:
            cached = self._default
        if cached is not None and cached[0] > now and not self._live:
            return cached[1]
        active = list(self._registry.active_app_ids())  # a live snapshot: memory, mostly
        chosen = active[0] if len(active) == 1 else None
        with self._lock:
            self._default = (now + self._ttl, chosen)
        return chosen

    def peek(self, app_id: str | None) -> CallbackKeys | None:
        """The keys of ``app_id`` (None: the default app) if known in memory now, without
        I/O; None when only :meth:`get` (which may query the registry) can tell."""
        now = self._clock()
        if app_id is None:
            if self._fallback is not None:
                app_id = self._fallback.default_app_id()
            if app_id is None:
                with self._lock:
                    default = self._default
                if default is None or default[0] <= now or default[1] is None:
                    return None
                if self._live:
                    try:
                        if not self._registry.is_fresh():
                            return None
                        active = list(self._registry.active_app_ids())
                    except Exception:
                        return None
                    if active != [default[1]]:
                        return None
                app_id = default[1]
        if self._fallback is not None:
            hit = self._fallback.get(app_id)
            if hit is not None:
                return hit
        with self._lock:
            cached = self._cache.get(app_id)
        if cached is None or cached[0] <= now:
            return None
        if self._live and cached[1] is not None:
            try:
                if not self._registry.is_fresh() or not self._active(app_id):
                    return None  # :meth:`get` re-checks (in a thread) and tells
            except Exception:
                return None
        return cached[1]

    def ping(self) -> None:
        """Raise unless the registry's database can be read (and, for an
        :class:`~lark_service.apps.AppRegistry` holding apps, its encryption key opens their
        secrets). A registry whose SQLite file does not exist yet is fine (and not created)."""
        apps = list(self._registry.active_app_ids())  # may answer from its cache...
        check = getattr(self._registry, "check_key", None)
        if apps and callable(check):
            check()  # ...this reads the database


def keys_from_settings(settings: Settings, *, registry: Any = None) -> KeyLookup:
    """Single-app keys from ``LARK_*`` settings, over the app registry when there is one."""
    static = StaticKeys()
    if settings.app_id:
        static = StaticKeys(
            CallbackKeys(
                settings.app_id,
                encrypt_key=_secret(settings.encrypt_key),
                verification_token=_secret(settings.verification_token),
            )
        )
    if registry is None:
        from ..apps import open_registry

        registry = open_registry(settings)
    if registry is None:
        return static
    return RegistryKeys(registry, fallback=static)

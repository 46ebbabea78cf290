"""Which app a call runs as, and with which secret and base URL (ARCHITECTURE §2).

The values (:class:`AppCredentials`, :class:`AppSource`) live in ``lark_service.apps._types``
and are re-exported here; the dependency runs one way only (``_app`` -> ``apps``), so the
registry never imports the resolver.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from . import errors
from .apps._types import AppCredentials, AppSource, secret_fingerprint
from .config import Settings

__all__ = ["AppCredentials", "AppResolver", "AppSource", "secret_fingerprint"]


class AppResolver:
    """Resolves the app of a call: the call's ``app_id``, ``use_app``, the client's app,
    ``LARK_APP_ID``, then the registry's only active app."""

    def __init__(
        self,
        settings: Settings,
        *,
        app_id: str | None = None,
        app_secret: str | None = None,
        base_url: str | None = None,
        registry: AppSource | None = None,
        use_registry: bool = True,
    ) -> None:
        if app_secret is not None and not app_id:
            raise errors.ConfigError("app_secret was given without app_id")
        self.settings = settings
        self.client_app_id = app_id
        self.base_url = (base_url or settings.base_url).rstrip("/")
        self._current: ContextVar[str | None] = ContextVar("lark_service_app", default=None)
        self._adhoc: dict[str, AppCredentials] = {}
        if app_id and app_secret:
            self._adhoc[app_id] = AppCredentials(app_id, app_secret, self.base_url, "argument")
        env_secret = settings.app_secret.get_secret_value() if settings.app_secret else None
        if settings.app_id and env_secret and settings.app_id not in self._adhoc:
            self._adhoc[settings.app_id] = AppCredentials(
                settings.app_id, env_secret, self.base_url, "env"
            )
        self._registry = registry
        self._use_registry = use_registry and registry is None

    @contextmanager
    def use_app(self, app_id: str) -> Iterator[None]:
        """Run the calls inside the ``with`` block as ``app_id`` (thread- and task-local)."""
        if not app_id:
            raise errors.ValidationError("use_app() needs a non-empty app_id", field="app_id")
        token = self._current.set(app_id)
        try:
            yield
        finally:
            self._current.reset(token)

    def _choose(self, app_id: str | None) -> str | None:
        return app_id or self._current.get() or self.client_app_id or self.settings.app_id

    def needs_io(self, app_id: str | None = None) -> bool:
        """Whether :meth:`resolve` may read the registry database (async code then runs it in
        a worker thread); ad hoc apps and a fresh registry snapshot need none."""
        if self._choose(app_id) in self._adhoc:
            return False
        registry = self.registry()
        return registry is not None and not registry.is_fresh()

    def resolve(self, app_id: str | None = None) -> AppCredentials:
        chosen = self._choose(app_id)
        if chosen is not None:
            adhoc = self._adhoc.get(chosen)
            if adhoc is not None:
                return adhoc
        registry = self.registry()
        if chosen is None:
            active = registry.active_app_ids() if registry is not None else []
            if len(active) == 1:
                chosen = active[0]
            else:
                raise errors.AppNotSpecifiedError(
                    "no app_id given and "
                    + ("no app is registered" if not active else "several apps are active"),
                    hint=(
                        f"Pass app_id= (one of: {', '.join(sorted(active))})"
                        if active
                        else "Pass app_id= and app_secret=, set LARK_APP_ID/LARK_APP_SECRET, "
                        "or register one with `lark-service app add`."
                    ),
                )
        app = registry.get_app(chosen) if registry is not None else None
        if app is None:
            known = sorted(set(self._adhoc) | set(registry.active_app_ids() if registry else []))
            raise errors.AppNotFoundError(
                f"app {chosen} is not registered and no secret was given for it",
                hint=(f"Known apps: {', '.join(known)}. " if known else "")
                + "Register it with `lark-service app add` or pass app_secret=.",
            )
        if app.status != "active":
            raise errors.AppDisabledError(
                f"app {chosen} is disabled",
                hint=f"Enable it with `lark-service app enable {chosen}`.",
            )
        return app

    def registry(self) -> AppSource | None:
        """The app registry, opened on first need (None when there is none)."""
        if self._registry is None and self._use_registry:
            from .apps import open_registry

            self._registry = open_registry(self.settings)
            self._use_registry = False
        return self._registry

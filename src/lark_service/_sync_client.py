# Generated from src/lark_service/_async_client.py by scripts/unasync.py: edit that file instead.
"""The client entry point. This async source is the truth; the sync client is generated."""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import httpx

from . import errors
from ._app import AppCredentials, AppResolver, AppSource
from ._sync_pipeline import Pipeline
from ._http import USER_AGENT, ApiResponse, TokenKind, backend_transport, make_timeout
from ._retry import RetryPolicy
from .config import Settings, get_settings
from .credentials import CredentialPool, TokenRecord, TokenStore, open_token_store
from .credentials._types import Clock
from .messaging import MessagingClient

if TYPE_CHECKING:
    from .cards._sync_client import CardsClient
    from .chats._sync_client import ChatsClient
    from .contact._sync_client import ContactClient

__all__ = ["LarkClient"]


class LarkClient:
    """Feishu/Lark for one service: tokens, retries and errors handled.

    ``LarkClient()`` uses the default app (``LARK_APP_ID`` or the registry's only active
    app); ``LarkClient(app_id="cli_a1")`` a registered app;
    ``LarkClient(app_id=..., app_secret=...)`` an ad hoc app. Arguments override the
    ``LARK_*`` settings. One client holds one pooled HTTP connection pool: create it once and
    share it (it is safe across tasks); close it with ``close()`` or ``with``.
    """

    def __init__(
        self,
        app_id: str | None = None,
        app_secret: str | None = None,
        *,
        base_url: str | None = None,
        settings: Settings | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        http2: bool | None = None,
        http_backend: str | None = None,
        token_store: TokenStore | None = None,
        registry: AppSource | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        _apply_log_level(self.settings.log_level)
        self._apps = AppResolver(
            self.settings,
            app_id=app_id,
            app_secret=app_secret,
            base_url=base_url,
            registry=registry,
        )
        self.retry = retry or RetryPolicy(max_retries=self.settings.max_retries)
        use_http2 = self.settings.http2 if http2 is None else http2
        if use_http2:
            _require_h2()
        self._timeout = make_timeout(
            connect_timeout or self.settings.connect_timeout, timeout or self.settings.read_timeout
        )
        if transport is None:
            transport = backend_transport(
                http_backend or self.settings.http_backend, http2=use_http2
            )
        self._http = httpx.Client(
            http2=use_http2,
            timeout=self._timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
        )
        # By default tokens persist (encrypted) in the state database, opened on first need.
        store = token_store if token_store is not None else open_token_store(self.settings)
        self.credentials = CredentialPool(store, clock=clock)
        self._pipeline = Pipeline(
            http=self._http,
            apps=self._apps,
            pool=self.credentials,
            retry=self.retry,
            timeout=self._timeout,
        )
        self.messaging = MessagingClient(self._pipeline)

    @functools.cached_property
    def cards(self) -> CardsClient:
        """Card builders and delayed card updates (imported on first use)."""
        from .cards._sync_client import CardsClient

        return CardsClient(self._pipeline)

    @functools.cached_property
    def contact(self) -> ContactClient:
        """Users and departments, with the per-app user cache in the state database."""
        from .contact._sync_client import ContactClient

        return ContactClient(
            self._pipeline,
            settings=self.settings,
            clock=self.credentials.clock,
        )

    @functools.cached_property
    def chats(self) -> ChatsClient:
        """Group chats: find by name, read, list, members."""
        from .chats._sync_client import ChatsClient

        return ChatsClient(self._pipeline)

    def with_options(
        self, *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> LarkClient:
        """This client with other per-call defaults, sharing its connections, tokens, apps and
        send pacing: ``client.with_options(retry=NO_RETRY).messaging.send_text_message(...)``.

        Cheap to create per call. Closing either one closes the shared connections.
        """
        clone = copy.copy(self)
        for name in _PIPELINE_BOUND:  # domain clients bound to the old pipeline
            clone.__dict__.pop(name, None)
        clone.retry = retry or self.retry
        if timeout is not None:
            clone._timeout = make_timeout(min(self._timeout.connect or timeout, timeout), timeout)
        clone._pipeline = Pipeline(
            http=self._http,
            apps=self._apps,
            pool=self.credentials,
            retry=clone.retry,
            timeout=clone._timeout,
        )
        clone.messaging = MessagingClient(clone._pipeline, limiter=self.messaging.limiter)
        return clone

    @property
    def app_id(self) -> str | None:
        """The app this client was created for (None: resolved per call)."""
        return self._apps.client_app_id

    def use_app(self, app_id: str) -> AbstractContextManager[None]:
        """Run calls in the ``with`` block as ``app_id`` (a contextvar: thread- and task-safe)."""
        return self._apps.use_app(app_id)

    def resolve_app(self, app_id: str | None = None) -> AppCredentials:
        """The app a call with ``app_id`` would run as (raises the ConfigError it would)."""
        return self._apps.resolve(app_id)

    def access_token(self, kind: str = "tenant", *, app_id: str | None = None) -> str:
        """The app's current ``tenant`` or ``app`` access token, for tools that need a raw one.

        Domain methods and :meth:`request` never need this; the token comes from the same pool
        (fetched only when needed, refreshed ahead of expiry). Raises the ConfigErrors of app
        resolution and ``InvalidCredentialsError``.
        """
        return self._pipeline.get_token(
            self._pipeline.resolve_app(app_id), _token_kind(kind)
        )

    def check_credentials(
        self, kind: str = "tenant", *, app_id: str | None = None
    ) -> TokenRecord:
        """Fetch a new token from Feishu now, bypassing every cache: proves the app's secret.

        ``POST /open-apis/auth/v3/{kind}_access_token/internal``. Raises
        ``InvalidCredentialsError`` for a wrong secret, ``AppDisabledError`` for a disabled app.
        """
        return self._pipeline.fetch_token(
            self._pipeline.resolve_app(app_id), _token_kind(kind)
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        token: TokenKind | None = "tenant",
        app_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        binary: bool = False,
        idempotent: bool = True,
    ) -> ApiResponse:
        """Call any OpenAPI endpoint with the same tokens, retries and errors.

        ``path`` starts with ``/open-apis/``. Returns the checked response (``.data``, or
        ``.content`` with ``binary=True``); raises the :mod:`lark_service.errors` classes.
        Pass ``idempotent=False`` for a write that must not run twice: it is then retried only
        when Feishu surely did not get it (a rate limit, a connection never made).
        """
        if not path.startswith("/"):
            raise errors.ValidationError(
                f"path must start with '/', e.g. /open-apis/im/v1/messages (got {path!r})",
                field="path",
            )
        return self._pipeline.request(
            method.upper(),
            path,
            token=token,
            app_id=app_id,
            params=params,
            json=json,
            data=data,
            files=files,
            headers=headers,
            retry=retry,
            timeout=timeout,
            binary=binary,
            idempotent=idempotent,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> LarkClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(app_id={self.app_id!r})"


# cached_property domain clients that hold a pipeline (recreated by with_options)
_PIPELINE_BOUND = ("cards", "contact", "chats")


def _token_kind(kind: str) -> TokenKind:
    if kind not in ("tenant", "app"):
        raise errors.ValidationError(f"kind must be 'tenant' or 'app', not {kind!r}", field="kind")
    return kind  # type: ignore[return-value]


def _apply_log_level(level: str) -> None:
    logger = logging.getLogger("lark_service")
    if logger.level == logging.NOTSET:
        logger.setLevel(level.upper())


def _require_h2() -> None:
    try:
        import h2  # noqa: F401
    except ImportError as exc:
        raise errors.ConfigError(
            "HTTP/2 needs the h2 package", hint="pip install 'lark-service[http2]'"
        ) from exc

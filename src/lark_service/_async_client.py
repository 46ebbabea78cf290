"""The client entry point. This async source is the truth; the sync client is generated."""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import httpx

from . import errors
from ._app import AppCredentials, AppResolver, AppSource
from ._args import check_arguments, check_types, require_h2, token_kind
from ._async_pipeline import AsyncPipeline
from ._async_resource import AsyncResource
from ._http import ApiResponse, TokenKind, async_make_http_client, make_timeout
from ._options import RequestOptions
from ._pacing import Pacer, PacingTable
from ._paths import check_method, check_raw_path
from ._retry import RetryPolicy
from .config import Settings, get_settings
from .credentials import AsyncCredentialPool, TokenRecord, TokenStore, open_token_store
from .credentials._types import Clock
from .domains import get_domain

if TYPE_CHECKING:
    from .bitable._async_client import AsyncBitableClient
    from .cards._async_client import AsyncCardsClient
    from .chats._async_client import AsyncChatsClient
    from .contact._async_client import AsyncContactClient
    from .docs._async_client import AsyncDocsClient
    from .drive._async_client import AsyncDriveClient
    from .messaging import AsyncMessagingClient
    from .sheets._async_client import AsyncSheetsClient

__all__ = ["AsyncLarkClient"]


class AsyncLarkClient:
    """Feishu/Lark for one service: tokens, retries and errors handled.

    ``AsyncLarkClient()`` uses the default app (``LARK_APP_ID`` or the registry's only active
    app); ``AsyncLarkClient(app_id="cli_a1")`` a registered app;
    ``AsyncLarkClient(app_id=..., app_secret=...)`` an ad hoc app. Arguments override the
    ``LARK_*`` settings. One client holds one pooled HTTP connection pool: create it once and
    share it (it is safe across tasks); close it with ``aclose()`` or ``async with``.
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
        transport: httpx.AsyncBaseTransport | None = None,
        proxy: str | None = None,
        pacing: PacingTable | None = None,
        clock: Clock | None = None,
    ) -> None:
        check_arguments(app_id=app_id, app_secret=app_secret, base_url=base_url, proxy=proxy)
        check_types(
            settings=(settings, Settings, "a Settings"),
            retry=(retry, RetryPolicy, "a RetryPolicy"),
            pacing=(pacing, PacingTable, "a PacingTable"),
            transport=(transport, httpx.AsyncBaseTransport, "an httpx transport"),
            token_store=(token_store, TokenStore, "a TokenStore"),
        )
        if clock is not None and not callable(clock):
            raise errors.ValidationError(
                "clock must be a function returning seconds", field="clock"
            )
        for seconds in (timeout, connect_timeout):
            if seconds is not None:
                RequestOptions(timeout=seconds)  # the per-call check of a number of seconds
        self.settings = settings or get_settings()
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
            require_h2()
        self._timeout = make_timeout(
            connect_timeout or self.settings.connect_timeout, timeout or self.settings.read_timeout
        )
        make_http = functools.partial(
            async_make_http_client,
            timeout=self._timeout,
            http2=use_http2,
            transport=transport,
            proxy=proxy,
            backend=http_backend or self.settings.http_backend,
        )
        # By default tokens persist (encrypted) in the state database, opened on first need.
        store = token_store if token_store is not None else open_token_store(self.settings)
        self.credentials = AsyncCredentialPool(store, clock=clock)
        self._pipeline = AsyncPipeline(
            http=make_http,
            apps=self._apps,
            pool=self.credentials,
            retry=self.retry,
            timeout=self._timeout,
            settings=self.settings,
            pacer=Pacer.from_settings(self.settings, pacing),
        )
        self.options = RequestOptions()
        """The default options of every call made through this client."""

    if TYPE_CHECKING:  # the built-in domains (made on first use by __getattr__)
        messaging: AsyncMessagingClient
        cards: AsyncCardsClient
        contact: AsyncContactClient
        chats: AsyncChatsClient
        docs: AsyncDocsClient
        bitable: AsyncBitableClient
        sheets: AsyncSheetsClient
        drive: AsyncDriveClient

    @property
    def _http(self) -> httpx.AsyncClient:
        return self._pipeline.http

    def __getattr__(self, name: str) -> Any:
        """``client.<domain>``: the domain client from :mod:`lark_service.domains`, made on
        first use with this client's options."""
        if name.startswith("_"):
            raise AttributeError(name)
        domain = get_domain(name)
        if domain is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        value = domain.client_class(is_async=_IS_ASYNC)(self._pipeline, self.options)
        self.__dict__[name] = value
        return value

    def with_options(
        self,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        app_id: str | None = None,
        user: str | None = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncLarkClient:
        """This client with other per-call defaults, sharing its connections, tokens, apps and
        pacing: ``client.with_options(retry=NO_RETRY).messaging.send_text_message(...)``.

        Every domain (built-in or registered) is rebuilt with the new options. ``user=`` is
        :meth:`as_user`. Cheap to create per call. Closing either one closes the shared
        connections.
        """
        return self._with(
            self.options.merge(
                retry=retry,
                timeout=timeout,
                app_id=app_id,
                user=user,
                idempotent=idempotent,
                headers=headers,
            )
        )

    def as_user(self, open_id: str) -> AsyncLarkClient:
        """This client acting as the user ``open_id`` (the user's access token, every domain):
        ``client.as_user("ou_1").docs.create_document("Mine")``.

        Raises UserTokenMissingError on the first call when no user token is stored for the
        user (the user must authorize the app first).
        """
        if not isinstance(open_id, str) or not open_id.strip():
            raise errors.ValidationError("as_user() needs the user's open_id", field="open_id")
        return self._with(self.options.merge(user=open_id.strip(), token="user"))

    def _with(self, options: RequestOptions) -> AsyncLarkClient:
        clone = copy.copy(self)
        for name in list(clone.__dict__):
            if get_domain(name) is not None:  # domain clients bound to the old options
                del clone.__dict__[name]
        clone.options = options
        if options.retry is not None:
            clone.retry = options.retry
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

    async def access_token(self, kind: str = "tenant", *, app_id: str | None = None) -> str:
        """The app's current ``tenant`` or ``app`` access token, for tools that need a raw one.

        Domain methods and :meth:`request` never need this; the token comes from the same pool
        (fetched only when needed, refreshed ahead of expiry). Raises the ConfigErrors of app
        resolution and ``InvalidCredentialsError``.
        """
        return await self._pipeline.get_token(
            await self._pipeline.resolve_app(app_id), token_kind(kind)
        )

    async def check_credentials(
        self, kind: str = "tenant", *, app_id: str | None = None
    ) -> TokenRecord:
        """Fetch a new token from Feishu now, bypassing every cache: proves the app's secret.

        ``POST /open-apis/auth/v3/{kind}_access_token/internal``. Raises
        ``InvalidCredentialsError`` for a wrong secret, ``AppDisabledError`` for a disabled app.
        """
        return await self._pipeline.fetch_token(
            await self._pipeline.resolve_app(app_id), token_kind(kind)
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: TokenKind | str | None = "default",
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
        return await self._pipeline.request(
            check_method(method),
            check_raw_path(path),
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
            options=self.options,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncLarkClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(app_id={self.app_id!r})"


# True here, False in the generated sync twin (whose resources' _request is a plain function)
_IS_ASYNC = inspect.iscoroutinefunction(AsyncResource._request)

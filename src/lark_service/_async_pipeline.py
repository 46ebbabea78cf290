"""The request pipeline: the one path between a domain method and the socket.

resolve the app -> get the token -> request id -> pace -> send on the pooled client -> parse
the envelope -> map errors (per endpoint family) -> retry (ARCHITECTURE §4). Domain methods
give a path, a body and :class:`~lark_service._options.RequestOptions`; everything else
happens here, once. Every step is reported through :mod:`lark_service.instrumentation`
(logging is one subscriber of it).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from . import _concurrency, errors, instrumentation
from ._app import AppCredentials, AppResolver
from ._http import (
    ApiResponse,
    TokenKind,
    build_request,
    check_body,
    downloaded_response,
    emit_finished,
    is_download,
    parse_response,
    transport_error,
)
from ._options import RequestOptions
from ._pacing import Pacer, PacingRoute
from ._paths import check_method, route_of
from ._retry import RetryPolicy
from .credentials import AsyncCredentialPool, TokenKey, TokenRecord

if TYPE_CHECKING:
    from .config import Settings

__all__ = ["AsyncPipeline"]

S = TypeVar("S")
Sink = Callable[[httpx.Response], Awaitable[Any]]
"""Reads a streamed download's body (see :meth:`AsyncPipeline.send`)."""

_TOKEN_PATHS: Mapping[str, str] = {
    "tenant": "/open-apis/auth/v3/tenant_access_token/internal",
    "app": "/open-apis/auth/v3/app_access_token/internal",
}
# "token invalid" codes that name the kind of token Feishu rejected: only that kind is evicted
# (a 99991668 about a user token must not throw away the tenant token that was not used).
_INVALID_KIND: Mapping[int, str] = {99991663: "tenant", 99991664: "app", 99991668: "user"}


class AsyncPipeline:
    """Sends calls for one client (and every ``with_options`` copy of it): one pooled HTTP
    client, one credential pool, one default retry policy and timeout."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient | Callable[[], httpx.AsyncClient],
        apps: AppResolver,
        pool: AsyncCredentialPool,
        retry: RetryPolicy,
        timeout: httpx.Timeout,
        settings: Settings | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.pacer = pacer if pacer is not None else Pacer()
        """Keeps every call under Feishu's per-app limits (:mod:`lark_service._pacing`)."""
        self._make_http = http if callable(http) else None
        self.http = http() if callable(http) else http
        self.apps = apps
        self.pool = pool
        self.retry = retry
        self.timeout = timeout
        self._settings = settings
        self._shared: dict[str, Any] = {}
        self._shared_lock = threading.Lock()
        _FORK_SAFE.add(self)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = self.apps.settings
        return self._settings

    def shared(self, name: str, factory: Callable[[], S]) -> S:
        """The object called ``name`` that every domain client of this pipeline shares."""
        try:
            return self._shared[name]  # type: ignore[no-any-return]
        except KeyError:
            with self._shared_lock:
                if name not in self._shared:
                    self._shared[name] = factory()
                return self._shared[name]  # type: ignore[no-any-return]

    def set_shared(self, name: str, value: Any) -> None:
        """Replace the shared object called ``name`` (e.g. a test's limiter or cache)."""
        with self._shared_lock:
            self._shared[name] = value

    def _after_fork(self) -> None:
        """In a forked child: never reuse the parent's sockets (their bytes would interleave
        with the parent's). The old client is dropped, not closed: closing could shut down a
        TLS session the parent still uses. Shared objects set with :meth:`set_shared` (a
        test's limiter) are dropped too: the child makes its own."""
        if self._make_http is not None:
            self.http = self._make_http()
        # locks another thread held at fork time stay locked in the child: start them anew,
        # with the state they guard (the pacer's windows, shared limiters and caches)
        self._shared_lock = threading.Lock()
        self._shared = {}
        pacer = self.pacer
        self.pacer = Pacer(pacer.table, clock=pacer.clock, shared=pacer.shared)

    # -- entry points --------------------------------------------------------------------------

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
        timeout: float | httpx.Timeout | None = None,
        binary: bool = False,
        envelope: bool = True,
        request_id: str | None = None,
        idempotent: bool = True,
        options: RequestOptions | None = None,
    ) -> ApiResponse:
        """:meth:`send` with the options given as keywords (on top of ``options``);
        ``token="default"`` keeps the options' token (the tenant's, or the user's of
        ``as_user``)."""
        merged = (options or RequestOptions()).merge(
            app_id=app_id,
            retry=retry,
            timeout=timeout,
            headers=headers,
            idempotent=None if idempotent else False,
        )
        if token is None:
            merged = dataclasses.replace(merged, token=None, user=None)
        elif token != "default":
            if token not in ("tenant", "app", "user"):
                raise errors.ValidationError(
                    f"token must be 'tenant', 'app', 'user' or None, not {token!r}",
                    field="token",
                )
            merged = dataclasses.replace(merged, token=token)  # type: ignore[arg-type]
        return await self.send(
            method,
            path,
            merged,
            params=params,
            json=json,
            data=data,
            files=files,
            binary=binary,
            envelope=envelope,
            request_id=request_id,
        )

    async def send(
        self,
        method: str,
        path: str,
        options: RequestOptions,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        binary: bool = False,
        envelope: bool = True,
        request_id: str | None = None,
        sink: Sink | None = None,
    ) -> ApiResponse:
        """Call ``method path`` as the resolved app, with tokens, retries and typed errors.

        ``sink`` streams a download: ``await sink(response)`` reads the unread 2xx body (never
        all in memory) and its return value is ``ApiResponse.value``; a failure while reading
        is retried like any other (the sink starts again from the first byte).

        ``options.idempotent=False`` marks a write that must not be repeated blindly (an edit,
        a recall, an upload): after a failure that Feishu may have processed, it is not retried.
        """
        app = await self.resolve_app(options.app_id)
        return await self.call(
            app,
            method,
            path,
            options,
            params=params,
            json=json,
            data=data,
            files=files,
            binary=binary,
            envelope=envelope,
            request_id=request_id or str(uuid.uuid4()),
            sink=sink,
        )

    async def resolve_app(self, app_id: str | None = None) -> AppCredentials:
        """The app a call runs as; a registry read happens off the event loop."""
        if self.apps.needs_io(app_id):
            return await _concurrency.async_blocking(self.apps.resolve, app_id)
        return self.apps.resolve(app_id)

    async def call(
        self,
        app: AppCredentials,
        method: str,
        path: str,
        options: RequestOptions,
        *,
        request_id: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        binary: bool = False,
        envelope: bool = True,
        sink: Sink | None = None,
    ) -> ApiResponse:
        method = check_method(method)
        check_body(params, data, files)
        policy = options.retry or self.retry
        url = app.base_url + path
        key = self._token_key(app, options)
        family = options.error_family or errors.endpoint_family(method, path)
        send_timeout = self._timeout(options.timeout)
        headers = dict(options.headers)
        route = self.pacer.route(method, path, options.pacing_key)
        async with self.pacer.async_lease(app.app_id, route.family, route.key):
            return await self._attempts(
                app,
                method,
                route_of(path),  # what events (logs, metrics) show: the path without ids
                options,
                request_id=request_id,
                url=url,
                key=key,
                family=family,
                # an unpaced family (most endpoints) skips the pacing step outright
                route=route
                if options.pace and self.pacer.table.limits(route.family).paced
                else None,
                send_timeout=send_timeout,
                headers=headers,
                policy=policy,
                params=params,
                json=json,
                data=data,
                files=files,
                binary=binary,
                envelope=envelope,
                sink=sink,
            )

    async def _attempts(
        self,
        app: AppCredentials,
        method: str,
        path: str,
        options: RequestOptions,
        *,
        request_id: str,
        url: str,
        key: TokenKey | None,
        family: str,
        route: PacingRoute | None,
        send_timeout: httpx.Timeout,
        headers: dict[str, str],
        policy: RetryPolicy,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        files: Mapping[str, Any] | None,
        binary: bool,
        envelope: bool,
        sink: Sink | None,
    ) -> ApiResponse:
        """Send until an answer, a final failure, or the retry policy gives up (the lease of
        an exclusive pacing family is held around all of it)."""
        retries = 0
        waited = 0.0
        refetched = False
        attempt = 0
        while True:
            attempt += 1
            if route is not None:  # every attempt is a request Feishu counts
                await self._pace(app.app_id, route)
            request_headers = {"X-Request-Id": request_id, **headers}
            token_value = None
            if key is not None:
                token_value = await self.pool.get_token(key, lambda k: self._fetch_token(app, k))
                request_headers["Authorization"] = "Bearer " + token_value
            request = build_request(
                self.http, method, url, params, json, data, files, request_headers, send_timeout
            )
            observed = instrumentation.enabled()
            if observed and instrumentation.wanted("request.started"):
                instrumentation.emit(
                    "request.started",
                    app.app_id,
                    method=method,
                    path=path,
                    family=family,
                    attempt=attempt,
                    request_id=request_id,
                )
            started = time.perf_counter()
            error: errors.LarkError
            response: httpx.Response | None = None
            try:
                response, downloaded = await self._send(request, request_id, sink)
            except httpx.RequestError as exc:
                error = transport_error(exc, request_id=request_id, url=url)
            else:
                try:
                    result = downloaded or parse_response(
                        response,
                        request_id=request_id,
                        envelope=envelope,
                        binary=binary,
                        family=family,
                    )
                    if sink is not None and downloaded is None:
                        raise errors.ServerError(
                            "the download answered JSON instead of the file",
                            request_id=request_id,
                            log_id=result.log_id,
                            http_status=result.http_status,
                            retryable=False,
                        )
                except errors.LarkError as exc:
                    error = exc
                else:
                    result.attempts = attempt
                    if observed:
                        emit_finished(
                            app.app_id, method, path, family, request_id, attempt, started, response
                        )
                    return result
            if observed:
                emit_finished(
                    app.app_id, method, path, family, request_id, attempt, started, response, error
                )

            if (
                isinstance(error, errors.TokenInvalidError)
                and error.retryable
                and key is not None
                and token_value is not None
                and not refetched
                and _INVALID_KIND.get(error.code or 0, key.kind) == key.kind
            ):
                refetched = True
                await self.pool.invalidate(key, token_value)
                instrumentation.emit(
                    "request.retried",
                    app.app_id,
                    method=method,
                    path=path,
                    family=family,
                    request_id=request_id,
                    reason=f"token invalid (code {error.code}); refetched",
                    delay=0.0,
                    retry_number=retries,
                    attempt=attempt,
                )
                continue
            decision = policy.decide(
                error, retry_number=retries, waited=waited, idempotent=options.idempotent
            )
            if decision is None:
                raise self._in_context(error, app, options)
            retries += 1
            waited += decision.delay
            if isinstance(error, errors.RateLimitedError):
                instrumentation.emit(
                    "request.rate_limited",
                    app.app_id,
                    method=method,
                    path=path,
                    family=family,
                    request_id=request_id,
                    retry_after=error.retry_after,
                )
            instrumentation.emit(
                "request.retried",
                app.app_id,
                method=method,
                path=path,
                family=family,
                request_id=request_id,
                reason=decision.reason,
                delay=decision.delay,
                retry_number=retries,
                max_retries=policy.max_retries,
                attempt=attempt,
            )
            await _concurrency.async_sleep(decision.delay)

    async def _send(
        self, request: httpx.Request, request_id: str, sink: Sink | None
    ) -> tuple[httpx.Response, ApiResponse | None]:
        """Send; with a ``sink``, stream a 2xx file body into it (an error answer is read
        whole, to be parsed)."""
        if sink is None:
            return await self.http.send(request), None
        response = await self.http.send(request, stream=True)
        try:
            if is_download(response):
                return response, downloaded_response(response, request_id, await sink(response))
            await response.aread()
            return response, None
        finally:
            await response.aclose()

    async def _pace(self, app_id: str, route: PacingRoute) -> None:
        """Wait until the pacing table lets a call of ``route`` go (nothing for unpaced ones)."""
        pacer = self.pacer
        delay = pacer.reserve(app_id, route.family, route.key)
        if delay > 0:
            await _concurrency.async_pace(delay)
        while True:
            if pacer.needs_io(route.family):  # a Redis round trip: off the event loop
                wait = await _concurrency.async_blocking(
                    pacer.admit, app_id, route.family, route.key
                )
            else:
                wait = pacer.admit(app_id, route.family, route.key)
            if wait <= 0:
                return
            await _concurrency.async_pace(wait)

    # -- tokens -------------------------------------------------------------------------------

    def _token_key(self, app: AppCredentials, options: RequestOptions) -> TokenKey | None:
        kind = options.token_kind
        if kind is None:
            return None
        if kind == "user":
            if not options.user:
                raise errors.ValidationError(
                    "a user token needs the user: client.as_user(open_id)", field="user"
                )
            return TokenKey(app.app_id, app.fingerprint, "user", options.user)
        return TokenKey(app.app_id, app.fingerprint, kind)

    async def get_token(self, app: AppCredentials, kind: TokenKind) -> str:
        """The current ``kind`` token of ``app`` from the pool (fetched only when needed)."""
        key = TokenKey(app.app_id, app.fingerprint, kind)
        return await self.pool.get_token(key, lambda k: self._fetch_token(app, k))

    async def fetch_token(self, app: AppCredentials, kind: TokenKind) -> TokenRecord:
        """A new ``kind`` token straight from Feishu, bypassing every cache (checks the secret)."""
        return await self._fetch_token(app, TokenKey(app.app_id, app.fingerprint, kind))

    async def _fetch_token(self, app: AppCredentials, key: TokenKey) -> TokenRecord:
        """Fetch an app or tenant token with the app's secret (top-level answer, not enveloped).

        User tokens come from the user's authorization (user OAuth, :mod:`lark_service.auth`):
        the stored refresh token is rotated under the pool's locks; a user without a usable
        one gets :class:`AuthorizationRequiredError` (a :class:`UserTokenMissingError`).
        """
        kind = key.kind
        if kind == "user":
            from .auth._async_tokens import refresh_user_token

            return await refresh_user_token(self, app, key)
        response = await self.call(
            app,
            "POST",
            _TOKEN_PATHS[kind],
            _NO_TOKEN,
            json={"app_id": app.app_id, "app_secret": app.app_secret},
            envelope=False,
            request_id=str(uuid.uuid4()),
        )
        body = response.data
        value = body.get(f"{kind}_access_token")
        expire = body.get("expire")
        if not isinstance(value, str) or not value or not isinstance(expire, (int, float)):
            raise errors.ServerError(
                f"the {kind} token answer lacks {kind}_access_token/expire",
                request_id=response.request_id,
                log_id=response.log_id,
                http_status=response.http_status,
            )
        now = self.pool.clock()
        return TokenRecord(key=key, value=value, expires_at=now + float(expire), issued_at=now)

    # -- helpers ------------------------------------------------------------------------------

    def _in_context(
        self, error: errors.LarkError, app: AppCredentials, options: RequestOptions
    ) -> errors.LarkError:
        if options.error_context is None or not isinstance(error, errors.APIError):
            return error
        specific = options.error_context(error, app.app_id)
        if specific is not error and specific.__cause__ is None:
            specific.__cause__ = error
        return specific

    def _timeout(self, timeout: float | httpx.Timeout | None) -> httpx.Timeout:
        if timeout is None:
            return self.timeout
        if isinstance(timeout, httpx.Timeout):
            return timeout
        connect = self.timeout.connect
        return httpx.Timeout(timeout, connect=min(connect, timeout) if connect else timeout)


_NO_TOKEN = RequestOptions(token=None)


_FORK_SAFE: weakref.WeakSet[AsyncPipeline] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for pipeline in list(_FORK_SAFE):
        pipeline._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)

"""The request pipeline: the one path between a domain method and the socket.

resolve the app -> get the token -> request id -> send on the pooled client -> parse the
envelope -> map errors -> retry (ARCHITECTURE §4). Domain methods give a path, a body and a
result type; everything else happens here, once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from . import _concurrency, errors
from ._app import AppCredentials, AppResolver
from ._http import ApiResponse, TokenKind, parse_response, transport_error
from ._retry import RetryPolicy
from .credentials import AsyncCredentialPool, TokenKey, TokenRecord
from .logging import get_logger

__all__ = ["AsyncPipeline"]

logger = get_logger("lark_service.http")

_TOKEN_PATHS: Mapping[str, str] = {
    "tenant": "/open-apis/auth/v3/tenant_access_token/internal",
    "app": "/open-apis/auth/v3/app_access_token/internal",
}


class AsyncPipeline:
    """Sends calls for one client: one pooled HTTP client, one pool, one retry policy."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        apps: AppResolver,
        pool: AsyncCredentialPool,
        retry: RetryPolicy,
        timeout: httpx.Timeout,
    ) -> None:
        self.http = http
        self.apps = apps
        self.pool = pool
        self.retry = retry
        self.timeout = timeout

    async def request(
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
        timeout: float | httpx.Timeout | None = None,
        binary: bool = False,
        envelope: bool = True,
        request_id: str | None = None,
        idempotent: bool = True,
    ) -> ApiResponse:
        """Call ``method path`` as the resolved app, with tokens, retries and typed errors.

        ``idempotent=False`` marks a write that must not be repeated blindly (an edit, a
        recall, an upload): after a failure that Feishu may have processed, it is not retried.
        """
        if token == "user":
            raise errors.ValidationError(
                "user tokens are not available yet; call with token='tenant' or 'app'",
                field="token",
            )
        app = await self.resolve_app(app_id)
        return await self.call(
            app,
            method,
            path,
            token=token,
            params=params,
            json=json,
            data=data,
            files=files,
            headers=headers,
            retry=retry,
            timeout=timeout,
            binary=binary,
            envelope=envelope,
            request_id=request_id or str(uuid.uuid4()),
            idempotent=idempotent,
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
        *,
        token: TokenKind | None,
        request_id: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout | None = None,
        binary: bool = False,
        envelope: bool = True,
        idempotent: bool = True,
    ) -> ApiResponse:
        policy = retry or self.retry
        url = app.base_url + path
        key = TokenKey(app.app_id, app.fingerprint, token) if token else None
        send_timeout = self._timeout(timeout)
        retries = 0
        waited = 0.0
        refetched = False
        attempt = 0
        while True:
            attempt += 1
            request_headers = {"X-Request-Id": request_id}
            if headers:
                request_headers.update(headers)
            token_value = None
            if key is not None:
                token_value = await self.pool.get_token(key, lambda k: self._fetch_token(app, k))
                request_headers["Authorization"] = "Bearer " + token_value
            started = time.perf_counter()
            error: errors.LarkError
            try:
                response = await self.http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    files=files,
                    headers=request_headers,
                    timeout=send_timeout,
                )
            except httpx.RequestError as exc:
                error = transport_error(exc, request_id=request_id, url=url)
                self._log(app, method, path, request_id, started, attempt, error=error)
            else:
                try:
                    result = parse_response(
                        response, request_id=request_id, envelope=envelope, binary=binary
                    )
                except errors.LarkError as exc:
                    error = exc
                    self._log(app, method, path, request_id, started, attempt, response, error)
                else:
                    result.attempts = attempt
                    self._log(app, method, path, request_id, started, attempt, response)
                    return result

            if (
                isinstance(error, errors.TokenInvalidError)
                and error.retryable
                and key is not None
                and token_value is not None
                and not refetched
            ):
                refetched = True
                await self.pool.invalidate(key, token_value)
                logger.warning(
                    "token rejected (code %s); refetching once and retrying %s %s",
                    error.code,
                    method,
                    path,
                    extra=_extra(app, request_id, attempt=attempt, reason="token invalid"),
                )
                continue
            decision = policy.decide(
                error, retry_number=retries, waited=waited, idempotent=idempotent
            )
            if decision is None:
                raise error
            retries += 1
            waited += decision.delay
            logger.warning(
                "retry %d/%d of %s %s in %.2f s: %s",
                retries,
                policy.max_retries,
                method,
                path,
                decision.delay,
                decision.reason,
                extra=_extra(
                    app, request_id, attempt=attempt, reason=decision.reason, delay=decision.delay
                ),
            )
            await _concurrency.async_sleep(decision.delay)

    async def get_token(self, app: AppCredentials, kind: TokenKind) -> str:
        """The current ``kind`` token of ``app`` from the pool (fetched only when needed)."""
        key = TokenKey(app.app_id, app.fingerprint, kind)
        return await self.pool.get_token(key, lambda k: self._fetch_token(app, k))

    async def fetch_token(self, app: AppCredentials, kind: TokenKind) -> TokenRecord:
        """A new ``kind`` token straight from Feishu, bypassing every cache (checks the secret)."""
        return await self._fetch_token(app, TokenKey(app.app_id, app.fingerprint, kind))

    async def _fetch_token(self, app: AppCredentials, key: TokenKey) -> TokenRecord:
        """Fetch an app or tenant token with the app's secret (top-level answer, not enveloped)."""
        kind = key.kind
        response = await self.call(
            app,
            "POST",
            _TOKEN_PATHS[kind],
            token=None,
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

    def _timeout(self, timeout: float | httpx.Timeout | None) -> httpx.Timeout:
        if timeout is None:
            return self.timeout
        if isinstance(timeout, httpx.Timeout):
            return timeout
        connect = self.timeout.connect
        return httpx.Timeout(timeout, connect=min(connect, timeout) if connect else timeout)

    def _log(
        self,
        app: AppCredentials,
        method: str,
        path: str,
        request_id: str,
        started: float,
        attempt: int,
        response: httpx.Response | None = None,
        error: errors.LarkError | None = None,
    ) -> None:
        level = 20 if error is None else 30  # INFO / WARNING
        if not logger.isEnabledFor(level):
            return
        if level < 30 and not logger.hasHandlers():
            return  # nothing would print it: skip building and masking the record
        duration_ms = (time.perf_counter() - started) * 1000
        status = response.status_code if response is not None else None
        code = error.code if error is not None else 0
        log_id = response.headers.get("x-tt-logid") if response is not None else None
        logger.log(
            level,
            "%s %s -> %s code=%s %.1f ms%s",
            method,
            path,
            status if status is not None else "no answer",
            code,
            duration_ms,
            f" ({type(error).__name__}: {error.msg})" if error is not None else "",
            extra=_extra(
                app,
                request_id,
                attempt=attempt,
                method=method,
                path=path,
                status=status,
                code=code,
                duration_ms=round(duration_ms, 1),
                log_id=log_id,
            ),
        )


def _extra(app: AppCredentials, request_id: str, **fields: Any) -> dict[str, Any]:
    extra = {"lark_request_id": request_id, "lark_app_id": app.app_id}
    extra.update({f"lark_{name}": value for name, value in fields.items()})
    return extra

"""Pure pieces of the request pipeline shared by the async source and its sync twin."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import errors
from ._options import TokenKind
from ._version import __version__

__all__ = [
    "ApiResponse",
    "TokenKind",
    "async_make_http_client",
    "make_http_client",
    "make_timeout",
    "parse_response",
    "retry_after",
    "transport_error",
]

USER_AGENT = f"lark-service/{__version__}"


@dataclass
class ApiResponse:
    """One Feishu answer after the envelope was checked (``code == 0``).

    ``data`` is the envelope's ``data`` (or the whole body for top-level answers such as the
    token endpoints); ``content`` holds the bytes of binary downloads.
    """

    http_status: int
    data: dict[str, Any]
    request_id: str
    log_id: str | None
    headers: httpx.Headers
    body: dict[str, Any] = field(default_factory=dict)
    content: bytes | None = None
    attempts: int = 1
    value: Any = None
    """What a streaming ``sink`` returned (a download's saved path)."""

    @property
    def code(self) -> int:
        return int(self.body.get("code", 0) or 0)

    @property
    def msg(self) -> str:
        return str(self.body.get("msg", ""))


_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=50)


def make_http_client(
    *,
    timeout: httpx.Timeout,
    http2: bool = False,
    transport: httpx.BaseTransport | None = None,
    proxy: str | None = None,
    backend: str = "auto",
) -> httpx.Client:
    """The sync client's pooled HTTP client: always httpx's own (the fastest sync pool).

    ``proxy`` (or, without one, ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY``) is honoured.
    """
    _check_backend(backend)
    return httpx.Client(
        http2=http2,
        timeout=timeout,
        transport=transport,
        proxy=proxy,
        headers={"User-Agent": USER_AGENT},
        limits=_LIMITS,
    )


def async_make_http_client(
    *,
    timeout: httpx.Timeout,
    http2: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    proxy: str | None = None,
    backend: str = "auto",
) -> httpx.AsyncClient:
    """The async client's pooled HTTP client: aiohttp's transport (``"aiohttp"``, or
    ``"auto"`` without HTTP/2) or httpx's own (``"httpx"``, or ``"auto"`` with HTTP/2).

    httpx's async connection pool is several times slower than its sync one under concurrency;
    the aiohttp transport closes that gap (docs/performance.md). It speaks HTTP/1.1 only. Both
    honour ``proxy`` and, without one, ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY``.
    """
    _check_backend(backend)
    cls: type[httpx.AsyncClient] = httpx.AsyncClient
    if transport is None and not (backend == "httpx" or (backend == "auto" and http2)):
        if http2:
            raise errors.ConfigError(
                "HTTP/2 is not available with the aiohttp backend",
                hint="Use http_backend='httpx' (or 'auto') for HTTP/2, or turn http2 off.",
            )
        try:
            from httpx_aiohttp import HttpxAiohttpClient
        except ImportError as exc:
            if backend != "auto":
                raise errors.ConfigError(
                    "the aiohttp backend needs httpx-aiohttp", hint="pip install httpx-aiohttp"
                ) from exc
        else:
            cls = HttpxAiohttpClient
    return cls(
        http2=http2,
        timeout=timeout,
        transport=transport,
        proxy=proxy,
        headers={"User-Agent": USER_AGENT},
        limits=_LIMITS,
    )


def _check_backend(backend: str) -> None:
    if backend not in ("auto", "httpx", "aiohttp"):
        raise errors.ConfigError(
            f"unknown http_backend {backend!r}",
            hint="Use 'auto' (default), 'httpx' or 'aiohttp'.",
        )


def make_timeout(connect: float, read: float) -> httpx.Timeout:
    """Explicit timeouts: ``connect`` for the TCP/TLS handshake, ``read`` for everything else."""
    return httpx.Timeout(read, connect=connect)


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``x-ogw-ratelimit-reset`` (or ``Retry-After``), if present."""
    for name in ("x-ogw-ratelimit-reset", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            continue
    return None


def transport_error(exc: httpx.RequestError, *, request_id: str, url: str) -> errors.LarkError:
    """Map an httpx failure (no usable answer) to a lark-service error."""
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    unsent, timed_out = _classify(exc)
    if timed_out:
        return errors.TimeoutError(
            f"timed out calling {url} ({detail})",
            request_id=request_id,
            request_sent=not unsent,
            hint="Feishu did not answer in time; raise the timeout or check the network.",
        )
    if isinstance(exc, httpx.TransportError):
        return errors.ConnectionError(
            f"connection failed calling {url} ({detail})",
            request_id=request_id,
            request_sent=not unsent,
            hint="Check LARK_BASE_URL / the network path to Feishu.",
        )
    # DecodingError, TooManyRedirects: Feishu answered, but not with anything usable.
    return errors.ServerError(
        f"unusable answer from {url} ({detail})",
        request_id=request_id,
        hint="A proxy or gateway may be rewriting Feishu's answers.",
    )


def _classify(exc: httpx.RequestError) -> tuple[bool, bool]:
    """(surely never sent, timed out) for an httpx failure.

    Nothing reached Feishu when the connection (or a pooled one) could not be had. The aiohttp
    transport maps every aiohttp connection error to ``ConnectTimeout``, so its original error
    (the ``__cause__``) decides there: only a failed connect is unsent, only a timeout a timeout.
    """
    cause = exc.__cause__
    if cause is not None and type(cause).__module__.startswith("aiohttp"):
        names = {klass.__name__ for klass in type(cause).__mro__}
        return "ClientConnectorError" in names, isinstance(cause, TimeoutError)
    unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    return unsent, isinstance(exc, httpx.TimeoutException)


def _decode(response: httpx.Response) -> dict[str, Any] | None:
    try:
        value = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def parse_response(
    response: httpx.Response,
    *,
    request_id: str,
    envelope: bool = True,
    binary: bool = False,
    family: str | None = None,
) -> ApiResponse:
    """Check one HTTP answer and return it, or raise the mapped :mod:`errors` class.

    ``envelope=False`` is for the top-level token answers (``code``/``msg`` beside the token).
    ``binary=True`` accepts a non-JSON 2xx body as the downloaded content.
    """
    log_id = response.headers.get("x-tt-logid")
    status = response.status_code
    content_type = response.headers.get("content-type", "")
    if binary and 200 <= status < 300 and "application/json" not in content_type:
        return ApiResponse(
            http_status=status,
            data={},
            request_id=request_id,
            log_id=log_id,
            headers=response.headers,
            content=response.content,
        )
    body = _decode(response)
    ok = body is not None and body.get("code", 0) in (0, None) and 200 <= status < 300
    if ok and body is not None:
        if envelope:
            data = body.get("data")
            data = data if isinstance(data, dict) else {}
        else:
            data = body
        return ApiResponse(
            http_status=status,
            data=data,
            request_id=request_id,
            log_id=log_id,
            headers=response.headers,
            body=body,
        )
    if body is not None and not log_id:
        error = body.get("error")
        if isinstance(error, dict) and error.get("log_id"):
            log_id = str(error["log_id"])
    raise error_for(response, body, request_id=request_id, log_id=log_id, family=family)


def error_for(
    response: httpx.Response,
    body: dict[str, Any] | None,
    *,
    request_id: str,
    log_id: str | None,
    family: str | None = None,
) -> errors.LarkError:
    text = "" if body is not None else response.content[:400].decode("utf-8", "replace")
    return errors.error_from_response(
        http_status=response.status_code,
        body=body,
        text=text,
        request_id=request_id,
        log_id=log_id,
        retry_after=retry_after(response.headers),
        family=family,
    )

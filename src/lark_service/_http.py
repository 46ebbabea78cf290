"""Pure pieces of the request pipeline shared by the async source and its sync twin."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import errors, instrumentation
from ._options import TokenKind
from ._version import __version__

__all__ = [
    "ApiResponse",
    "TokenKind",
    "async_make_http_client",
    "build_request",
    "check_body",
    "check_files",
    "downloaded_response",
    "emit_finished",
    "is_download",
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


# -- pure pieces of the pipeline (shared by the async source and its sync twin) -------------


def build_request(
    http: httpx.Client | httpx.AsyncClient,
    method: str,
    url: str,
    params: Mapping[str, Any] | None,
    json: Any,
    data: Mapping[str, Any] | None,
    files: Mapping[str, Any] | None,
    headers: dict[str, str],
    timeout: httpx.Timeout,
) -> httpx.Request:
    """The request, or a ValidationError when the arguments cannot make one (nothing sent)."""
    try:
        return http.build_request(
            method,
            url,
            params=params,
            json=json,
            data=data,
            files=files,
            headers=headers,
            timeout=timeout,
        )
    except (httpx.InvalidURL, UnicodeError, TypeError, ValueError, AttributeError) as exc:
        raise errors.ValidationError(
            f"the request cannot be encoded: {type(exc).__name__}: {str(exc)[:200]}",
            hint="Check the ids, params, headers and body: text must be valid Unicode "
            "(no lone surrogates) and JSON-serialisable.",
        ) from None


def is_download(response: httpx.Response) -> bool:
    return 200 <= response.status_code < 300 and "application/json" not in response.headers.get(
        "content-type", ""
    )


def downloaded_response(response: httpx.Response, request_id: str, value: Any) -> ApiResponse:
    return ApiResponse(
        http_status=response.status_code,
        data={},
        request_id=request_id,
        log_id=response.headers.get("x-tt-logid"),
        headers=response.headers,
        value=value,
    )


def check_body(
    params: Mapping[str, Any] | None,
    data: Mapping[str, Any] | None,
    files: Mapping[str, Any] | None,
) -> None:
    """Refuse request arguments httpx would reject or misread, before any token or request."""
    for name, value in (("params", params), ("data", data), ("files", files)):
        if value is not None and not isinstance(value, Mapping):
            raise errors.ValidationError(
                f"{name} must be a mapping, not {type(value).__name__}", field=name
            )
    if files:
        check_files(files)


def check_files(files: Mapping[str, Any]) -> None:
    """Multipart parts are read while sending: refuse what cannot be read now."""

    def readable(content: object) -> bool:
        return isinstance(content, (bytes, bytearray, str)) or hasattr(content, "read")

    for name, part in files.items():
        content = part[1] if isinstance(part, tuple) and len(part) >= 2 else part
        if not readable(content):
            raise errors.ValidationError(
                f"files[{name!r}] must be bytes, a binary file or (file_name, bytes[, type]), "
                f"not {type(content).__name__}",
                field="files",
            )


def emit_finished(
    app_id: str,
    method: str,
    path: str,
    family: str,
    request_id: str,
    attempt: int,
    started: float,
    response: httpx.Response | None,
    error: errors.LarkError | None = None,
) -> None:
    """The ``request.finished`` event of one attempt."""
    instrumentation.emit(
        "request.finished",
        app_id,
        method=method,
        path=path,
        family=family,
        attempt=attempt,
        request_id=request_id,
        status=response.status_code if response is not None else None,
        code=(error.code if error is not None else 0),
        outcome="ok" if error is None else type(error).__name__,
        error_msg=error.msg if error is not None else None,
        duration=time.perf_counter() - started,
        log_id=response.headers.get("x-tt-logid") if response is not None else None,
    )

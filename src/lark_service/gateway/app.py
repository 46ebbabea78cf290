"""The gateway as a FastAPI app: every registered operation, the raw passthrough and the
token endpoint, behind API keys, per-key rate limits and idempotency keys.

:func:`mount_gateway` mounts it at ``/api/v1`` in the callback server (``serve --gateway`` or
``LARK_GATEWAY_ENABLED=true``); :func:`create_gateway` builds it alone (tests, your own app).
Requests run in this order: request id → API key (401) → scope (403) → rate limit (429) →
validation (422) → app (403 outside the key's apps) → idempotency replay → the domain
method, through the same pipeline as Python callers (tokens, retries, Feishu's per-app
pacing, error mapping) → the envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import inspect
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Body, Depends, FastAPI, File, Form, Header, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import errors, instrumentation
from .._async_pagination import AsyncPager
from .._version import __version__
from ._registry import GatewayQuery, Operation, expose, operations
from .envelope import Envelope, error_body, jsonable, ok_body
from .idempotency import IdempotencyStore, feishu_uuid, fingerprint
from .keys import ApiKey, ApiKeyStore
from .ratelimit import Bucket, Buckets, LocalBuckets, RedisBuckets, Take

if TYPE_CHECKING:
    from .._async_client import AsyncLarkClient
    from ..config import Settings

__all__ = ["PREFIX", "Gateway", "create_gateway", "mount_gateway"]

PREFIX = "/api/v1"
_log = logging.getLogger("lark_service.gateway")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_ERROR_STATUSES = (400, 401, 403, 404, 409, 422, 429, 502, 503, 504)
_DEFAULT_PAGE_LIMIT = 100
_IDEMPOTENCY_HEADER = Header(
    default=None,
    alias="Idempotency-Key",
    min_length=1,
    max_length=255,
    pattern=r"^[!-~]+$",
    description="Writes: the first answer is kept 24 h and replayed to repeats of this key "
    "(message sends also carry it as Feishu's uuid).",
)


class Gateway:
    """What the gateway's routes share: settings, the client, keys, buckets, answers."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: AsyncLarkClient | None = None,
        keys: ApiKeyStore | None = None,
        buckets: Buckets | None = None,
        idempotency: IdempotencyStore | None = None,
    ) -> None:
        self.settings = settings
        self._client = client
        self.keys = keys or ApiKeyStore.from_settings(settings)
        if buckets is None:
            buckets = RedisBuckets(settings.redis_url) if settings.redis_url else LocalBuckets()
        self.buckets = buckets
        self._remote_buckets = isinstance(buckets, RedisBuckets)
        self.idempotency = idempotency or IdempotencyStore(settings.resolved_database_url)
        self._clients: dict[str, AsyncLarkClient] = {}

    @property
    def client(self) -> AsyncLarkClient:
        """The client every call goes through (made on first use, from the settings: apps
        come from the registry)."""
        if self._client is None:
            from .._async_client import AsyncLarkClient

            self._client = AsyncLarkClient(settings=self.settings)
        return self._client

    def client_for(self, app_id: str) -> AsyncLarkClient:
        found = self._clients.get(app_id)
        if found is None:
            found = self._clients[app_id] = self.client.with_options(app_id=app_id)
        return found

    async def authenticate(self, key: str | None) -> ApiKey:
        found = self.keys.authenticate_cached(key)  # no I/O: stays on the event loop
        if found is not None:
            return found
        record: ApiKey = await self.stored(self.keys.authenticate, key)
        return record

    async def stored(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` in a thread; a database failure is StorageUnavailableError (503:
        no request runs unauthenticated, or without its Idempotency-Key check)."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return await asyncio.to_thread(function, *args)
        except (SQLAlchemyError, OSError) as exc:
            _log.error("gateway: the state database failed: %s", type(exc).__name__)
            raise errors.StorageUnavailableError(
                "the gateway's state database cannot be used now; retry shortly",
                hint="Check LARK_DATABASE_URL and the database server.",
            ) from None

    async def finish(self, key_id: int, key: str, status: int, body: dict[str, Any]) -> None:
        """Store an answer; a failure is logged (the claim is abandoned after 10 min)."""
        with contextlib.suppress(errors.StorageUnavailableError):
            await self.stored(self.idempotency.finish, key_id, key, status, body)

    async def take(self, record: ApiKey) -> Take | None:
        if record.rate is None:
            return None
        bucket = Bucket(record.rate, record.burst or max(1, round(record.rate)))
        if self._remote_buckets:
            return await asyncio.to_thread(self.buckets.take, str(record.id), bucket)
        return self.buckets.take(str(record.id), bucket)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def create_gateway(
    settings: Settings | None = None,
    *,
    client: AsyncLarkClient | None = None,
    keys: ApiKeyStore | None = None,
    buckets: Buckets | None = None,
    idempotency: IdempotencyStore | None = None,
    ops: Sequence[Operation] | None = None,
) -> FastAPI:
    """The gateway app (routes relative to where it is mounted: ``/messages``, ...).

    ``client``: the AsyncLarkClient every call uses (default: one from ``settings``; apps from
    the registry). ``keys`` / ``buckets`` / ``idempotency``: the stores (defaults: the state
    database; Redis buckets when ``LARK_REDIS_URL`` is set). ``ops``: the operations (default:
    every registered one).
    """
    from ..config import get_settings

    gateway = Gateway(
        settings or get_settings(),
        client=client,
        keys=keys,
        buckets=buckets,
        idempotency=idempotency,
    )
    app = FastAPI(
        title="lark-service gateway",
        version=__version__,
        description="Feishu/Lark through lark-service for services not written in Python: "
        "API keys (`Authorization: Bearer <key>`), per-key rate limits, idempotency keys, "
        "one envelope for every answer. See docs/gateway.md.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.gateway = gateway
    _add_error_handlers(app)
    for op in list(ops) if ops is not None else operations():
        _add_operation(app, gateway, op)
    _add_token_route(app, gateway)
    _add_raw_routes(app, gateway)
    app.add_middleware(_RequestIdMiddleware)
    return app


def mount_gateway(app: FastAPI, **kw: Any) -> FastAPI:
    """Serve the gateway at ``/api/v1`` in ``app`` (the callback server); the gateway app."""
    gateway_app = create_gateway(**kw)
    # a middleware rather than app.mount(): Mount's pattern does not match every path (a
    # newline in a path parameter), and the gateway must answer its own envelope for all
    app.add_middleware(_GatewayDispatch, gateway_app=gateway_app)
    gateway: Gateway = gateway_app.state.gateway
    app.state.gateway = gateway
    outer = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(parent: Any) -> AsyncIterator[Any]:
        # a mounted app's own lifespan never runs: close the gateway's client with the server
        async with outer(parent) as state:
            try:
                yield state
            finally:
                await gateway.aclose()

    app.router.lifespan_context = lifespan
    return gateway_app


class _GatewayDispatch:
    """Send every request under ``/api/v1`` to the gateway app, as a mount would."""

    def __init__(self, app: ASGIApp, gateway_app: ASGIApp) -> None:
        self.app = app
        self.gateway_app = gateway_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, root = scope["path"], scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if path == PREFIX or path.startswith(PREFIX + "/"):
                child = {
                    **scope,
                    "app_root_path": scope.get("app_root_path", root),
                    "root_path": root + PREFIX,
                }
                await self.gateway_app(child, receive, send)
                return
        await self.app(scope, receive, send)


# -- request id and extra headers ----------------------------------------------------------


class _RequestIdMiddleware:
    """Give each request an id (the caller's ``X-Request-Id`` when sane), echo it, and add
    the headers a route left in ``scope["state"]["extra_headers"]`` (rate limits)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = given if _REQUEST_ID.match(given) else str(uuid.uuid4())
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
                for name, value in (state.get("extra_headers") or {}).items():
                    headers[name] = value
                if instrumentation.enabled():
                    _emit(scope, state, int(message["status"]), headers, started)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _emit(scope: Scope, state: dict[str, Any], status: int, headers: Any, started: float) -> None:
    instrumentation.emit(
        "gateway.request",
        state.get("app_id"),
        operation=state.get("operation") or "unmatched",
        method=scope.get("method"),
        status=status,
        outcome=state.get("outcome") or ("ok" if status < 400 else f"http_{status}"),
        key=state.get("api_key_name"),
        replayed=headers.get("Idempotent-Replayed") == "true",
        duration=time.perf_counter() - started,
    )


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or uuid.uuid4())


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return JSONResponse(body, status_code=status, headers=headers)


def _error_response(request: Request, exc: BaseException) -> Any:
    request_id = _request_id(request)
    status, body = error_body(exc, request_id)
    request.state.outcome = body["error"]["type"]
    # set here too: a 500 is answered outside the middleware that adds it to the others
    headers: dict[str, str] = {"X-Request-Id": request_id}
    if isinstance(exc, errors.AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer realm="lark-service"'
    retry_after = getattr(exc, "retry_after", None)
    if status == 429 and retry_after is not None:
        headers["Retry-After"] = str(max(1, int(-(-float(retry_after) // 1))))
    if status >= 500:
        if isinstance(exc, errors.LarkError):
            _log.warning("gateway %s: %s", request_id, exc)
        else:
            _log.error("gateway %s: unexpected error", request_id, exc_info=exc)
    return _answer(status, body, headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.LarkError)
    async def lark_error(request: Request, exc: errors.LarkError) -> Any:
        return _error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Any:
        problems = exc.errors()
        first = problems[0] if problems else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        msg = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in problems[:5]
        )
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or where
        request_id = _request_id(request)
        request.state.outcome = "RequestValidationError"
        body = {
            "code": 422,
            "msg": f"invalid request: {msg}",
            "request_id": request_id,
            "data": None,
            "error": {
                "type": "RequestValidationError",
                "hint": "Fix the field named in msg; nothing was sent to Feishu.",
                "log_id": None,
                "missing_scopes": [],
                "field": field,
            },
        }
        return _answer(422, body)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        request_id = _request_id(request)
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        request.state.outcome = kind
        body = {
            "code": exc.status_code,
            "msg": str(exc.detail),
            "request_id": request_id,
            "data": None,
            "error": {
                "type": kind,
                "hint": "See /api/v1/openapi.json for the operations.",
                "log_id": None,
                "missing_scopes": [],
                "field": None,
            },
        }
        return _answer(exc.status_code, body, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Any:
        return _error_response(request, exc)


# -- authentication, scopes, rate limits ---------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="A gateway API key: `lark-service apikey create` prints it once.",
)


def _auth(gateway: Gateway, scopes: Sequence[str], operation_id: str) -> Callable[..., Any]:
    async def authenticate(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiKey:
        request.state.operation = operation_id
        record = await gateway.authenticate(credentials.credentials if credentials else None)
        request.state.api_key_name = record.name
        missing = record.missing_scopes(scopes)
        if missing:
            raise errors.ForbiddenError(
                f"the API key {record.name!r} lacks the scope(s) {', '.join(missing)}",
                missing_scopes=missing,
                hint="Create a key with the scope: lark-service apikey create --scopes ...",
            )
        take = await gateway.take(record)
        if take is not None:
            request.state.extra_headers = take.headers()
            if not take.allowed:
                raise errors.KeyRateLimitedError(
                    f"the API key {record.name!r} is over its rate limit "
                    f"({record.rate:g}/s, burst {take.limit})",
                    retry_after=take.retry_after,
                    hint="Slow down, or ask for a higher --rate.",
                )
        return record

    return authenticate


def _choose_app(record: ApiKey, requested: str | None) -> str:
    if requested:
        if not record.allows_app(requested):
            raise errors.ForbiddenError(
                f"the API key {record.name!r} may not use app {requested}",
                hint=f"Its apps: {', '.join(record.apps)}.",
            )
        return requested
    if len(record.apps) == 1 and record.apps[0] != "*":
        return record.apps[0]
    raise errors.ValidationError(
        "name the app: app_id in the body or the query (this key has several apps)",
        field="app_id",
        hint=f"The key's apps: {', '.join(record.apps)}.",
    )


# -- generated operations ------------------------------------------------------------------


def _responses() -> dict[int | str, dict[str, Any]]:
    described = {
        400: "Bad request (a local check failed, or Feishu refused a parameter)",
        401: "No API key, or an unknown, revoked or expired one",
        403: "Outside the key's apps or scopes, or Feishu denied a permission",
        404: "Not found",
        409: "Conflict (an Idempotency-Key in use or reused)",
        422: "The request does not match the schema (error.field names the field)",
        429: "Rate limited (the key's limit, or Feishu's); see Retry-After",
        502: "Feishu failed or answered something unusable",
        503: "The gateway is not configured to serve this now",
        504: "Feishu did not answer in time",
    }
    return {s: {"model": Envelope, "description": described[s]} for s in _ERROR_STATUSES}


def _add_operation(app: FastAPI, gateway: Gateway, op: Operation) -> None:
    params: list[inspect.Parameter] = [
        _param("request", Request),
        _param("caller", ApiKey, Depends(_auth(gateway, op.scopes, op.name))),
    ]
    for name in op.path_params:
        params.append(_param(name, str, PathParam(min_length=1, max_length=512)))
    query_model: type[BaseModel] = op.query or GatewayQuery
    params.append(_param("query", Annotated[query_model, Query()]))
    if op.upload:
        params.append(_param("file", UploadFile, File(description="The file's bytes.")))
        if op.body is not None:
            # the form also carries the file field: the model must not refuse it as extra
            form_model = type(
                op.body.__name__,
                (op.body,),
                {
                    "model_config": {**op.body.model_config, "extra": "ignore"},
                    "__module__": op.body.__module__,
                },
            )
            params.append(_param("form", Annotated[form_model, Form()]))
    elif op.body is not None:
        params.append(_param("body", op.body, Body()))
    if op.write:
        params.append(_param("idempotency_key", str | None, _IDEMPOTENCY_HEADER))

    async def endpoint(**kw: Any) -> Any:
        return await _run(gateway, op, kw)

    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    endpoint.__name__ = op.name
    app.add_api_route(
        op.path,
        endpoint,
        methods=[op.method],
        response_model=Envelope,
        responses=_responses(),
        summary=op.summary or None,
        description=op.description or None,
        operation_id=op.name,
        tags=[op.domain or "apps"],
        openapi_extra={"x-scopes": list(op.scopes)},
    )


def _param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> Any:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


async def _run(gateway: Gateway, op: Operation, kw: dict[str, Any]) -> Any:
    request: Request = kw["request"]
    caller: ApiKey = kw["caller"]
    args: dict[str, Any] = {name: kw[name] for name in op.path_params}
    requested = args.pop("app_id", None) if "app_id" in op.path_params else None
    for model in (kw.get("query"), kw.get("body"), kw.get("form")):
        if isinstance(model, BaseModel):
            dumped = model.model_dump()
            args.update({k: dumped[k] for k in model.model_fields_set})
    requested = requested or args.pop("app_id", None)
    args.pop("app_id", None)
    app_id = _choose_app(caller, requested)
    request.state.app_id = app_id
    upload: UploadFile | None = kw.get("file")
    if op.upload and upload is not None:
        if upload.size is not None and upload.size > op.max_upload:
            raise errors.ValidationError(
                f"the file is {upload.size:,} bytes; this operation takes at most "
                f"{op.max_upload:,}",
                field="file",
            )
        args[op.upload] = await upload.read()
        if upload.filename:
            args["_file_name"] = upload.filename
    key: str | None = kw.get("idempotency_key") if op.write else None
    if key and op.uuid_argument:
        args[op.uuid_argument] = feishu_uuid(caller.id, key)
    if not key:
        return await _call(gateway, op, app_id, args, request)
    print_ = _fingerprint(op, request, app_id, args)
    replay = await gateway.stored(gateway.idempotency.begin, caller.id, key, print_)
    if replay is not None:
        return _answer(replay.status_code, replay.body, {"Idempotent-Replayed": "true"})
    response = None
    try:
        response = await _call(gateway, op, app_id, args, request)
    finally:
        if response is None:  # an unexpected error: release the key
            await gateway.finish(caller.id, key, 500, {})
        else:
            body = json.loads(bytes(response.body))
            await gateway.finish(caller.id, key, response.status_code, body)
    return response


_PARAMETERS: dict[tuple[str, type[Any]], frozenset[str]] = {}


def _parameters(op: Operation, target: Any, function: Callable[..., Any]) -> frozenset[str]:
    """The argument names ``function`` takes (cached per operation and target class)."""
    key = (op.name, type(target))
    found = _PARAMETERS.get(key)
    if found is None:
        found = _PARAMETERS[key] = frozenset(inspect.signature(function).parameters)
    return found


def _fingerprint(op: Operation, request: Request, app_id: str, args: dict[str, Any]) -> str:
    def default(value: Any) -> Any:
        if isinstance(value, bytes | bytearray):
            return "sha256:" + hashlib.sha256(value).hexdigest()
        return str(value)

    text = json.dumps({"app": app_id, "args": args}, sort_keys=True, default=default)
    return fingerprint(op.method, op.path, request.url.path, text.encode())


async def _call(
    gateway: Gateway, op: Operation, app_id: str, args: dict[str, Any], request: Request
) -> Any:
    try:
        client = gateway.client_for(app_id)
        if op.as_user:
            client = client.as_user(str(args.pop(op.as_user, "") or ""))
        target: Any = getattr(client, op.domain) if op.domain else client
        if isinstance(op.call, str):
            function: Callable[..., Any] = getattr(target, op.call)
        else:
            function = functools.partial(op.call, target)
        accepted = _parameters(op, target, function)
        file_name = args.pop("_file_name", None)
        if file_name and "file_name" in accepted:
            args.setdefault("file_name", file_name)
        limit = _DEFAULT_PAGE_LIMIT
        if "limit" in args and "limit" not in accepted:
            limit = int(args.pop("limit"))
        if "app_id" in accepted:
            args["app_id"] = app_id
        result = await function(**args)
        if isinstance(result, AsyncPager):
            result = await result.first(limit)
        return _answer(200, ok_body(jsonable(result), _request_id(request)))
    except errors.LarkError as exc:
        return _error_response(request, exc)


# -- the token endpoint and the raw passthrough ------------------------------------------


class TokenQuery(BaseModel):
    model_config = {"extra": "forbid"}

    kind: Literal["tenant", "app"] = Field(
        default="tenant", description="tenant_access_token or app_access_token."
    )


async def _access_token(client: AsyncLarkClient, *, kind: str = "tenant", app_id: str) -> Any:
    token = await client.access_token(kind, app_id=app_id)
    return {"app_id": app_id, "kind": kind, "access_token": token}


def _add_token_route(app: FastAPI, gateway: Gateway) -> None:
    op = expose(
        "GET",
        "/apps/{app_id}/token",
        _access_token,
        scopes=["apps:token"],
        query=TokenQuery,
        summary="An app's current access token (scope apps:token, never part of '*')",
        description="For services that insist on calling Feishu themselves: the token comes "
        "from the same pool (cached, refreshed ahead of expiry). Prefer the wrapped "
        "operations or the raw passthrough: they keep the retries, pacing and errors.",
        operation_id="get_app_token",
    )
    _add_operation(app, gateway, op)


def _add_raw_routes(app: FastAPI, gateway: Gateway) -> None:
    for method in ("GET", "DELETE", "POST", "PUT", "PATCH"):
        _add_raw_route(app, gateway, method)


def _add_raw_route(app: FastAPI, gateway: Gateway, method: str) -> None:
    has_body = method in ("POST", "PUT", "PATCH")
    params: list[inspect.Parameter] = [
        _param("request", Request),
        _param("caller", ApiKey, Depends(_auth(gateway, ("raw:call",), f"raw_{method.lower()}"))),
        _param("path", str, PathParam(min_length=1, max_length=1024)),
        _param(
            "app_id",
            str | None,
            Query(default=None, max_length=64, description="The app to act as."),
        ),
    ]
    if has_body:
        params.append(_param("payload", dict[str, Any] | None, Body(default=None, examples=[{}])))
    if method != "GET":
        params.append(_param("idempotency_key", str | None, _IDEMPOTENCY_HEADER))

    async def endpoint(**kw: Any) -> Any:
        request: Request = kw["request"]
        caller: ApiKey = kw["caller"]
        app_id = _choose_app(caller, kw.get("app_id"))
        request.state.app_id = app_id
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "app_id"]
        payload = kw.get("payload")
        args = {"path": kw["path"], "query": query, "json": payload}
        key = kw.get("idempotency_key")

        async def call() -> Any:
            try:
                response = await gateway.client_for(app_id).request(
                    method,
                    "/open-apis/" + kw["path"],
                    app_id=app_id,
                    params=dict(query) if query else None,
                    json=payload,
                    idempotent=method == "GET",
                )
            except errors.LarkError as exc:
                return _error_response(request, exc)
            return _answer(200, ok_body(jsonable(response.data), _request_id(request)))

        if not key:
            return await call()
        op_print = fingerprint(
            method, "/raw", request.url.path, json.dumps(args, sort_keys=True).encode()
        )
        replay = await gateway.stored(gateway.idempotency.begin, caller.id, key, op_print)
        if replay is not None:
            return _answer(replay.status_code, replay.body, {"Idempotent-Replayed": "true"})
        response = None
        try:
            response = await call()
        finally:
            status = 500 if response is None else response.status_code
            body = {} if response is None else json.loads(bytes(response.body))
            await gateway.finish(caller.id, key, status, body)
        return response

    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    endpoint.__name__ = f"raw_{method.lower()}"
    app.add_api_route(
        "/raw/open-apis/{path:path}",
        endpoint,
        methods=[method],
        response_model=Envelope,
        responses=_responses(),
        summary=f"Any Feishu OpenAPI endpoint ({method}), with tokens, retries and errors "
        "(scope raw:call)",
        operation_id=f"raw_{method.lower()}",
        tags=["raw"],
        openapi_extra={"x-scopes": ["raw:call"]},
    )

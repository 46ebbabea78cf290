"""The base of every domain client. This async source is the truth; ``Resource`` is generated.

A domain method validates its arguments, builds a path (:func:`~lark_service._paths.api_path`)
and a body, and calls :meth:`AsyncResource._request` or :meth:`AsyncResource._paginate` with
the call's options. Tokens, retries, pacing, error mapping, logging and instrumentation all
happen in the pipeline, once (openai-python's ``_resource.py`` is the model).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ._async_pagination import AsyncPager
from ._http import ApiResponse
from ._options import RequestOptions
from ._pagination import Page, page_of

if TYPE_CHECKING:
    from ._async_pipeline import AsyncPipeline, Sink
    from .config import Settings

__all__ = ["AsyncResource"]

T = TypeVar("T")
S = TypeVar("S")


class AsyncResource:
    """A domain client bound to a pipeline and a set of default :class:`RequestOptions`.

    Subclasses get ``self._request`` / ``self._paginate`` and, for state shared by every
    client made from one ``LarkClient`` (a limiter, a cache), :meth:`_shared`.
    """

    def __init__(self, pipeline: AsyncPipeline, options: RequestOptions | None = None) -> None:
        self._pipeline = pipeline
        self._options = options or RequestOptions()

    @property
    def settings(self) -> Settings:
        """The settings of the client this resource belongs to."""
        return self._pipeline.settings

    def _shared(self, name: str, factory: Callable[[], S]) -> S:
        """The object called ``name`` shared by this client and every ``with_options`` /
        ``as_user`` copy of it, made by ``factory`` on first use."""
        return self._pipeline.shared(name, factory)

    def _domain(self, name: str) -> Any:
        """Another registered domain's client with these options (``self._domain("drive")``):
        how one domain uses another without importing its internals."""
        from .domains import get_domain

        domain = get_domain(name)
        if domain is None:
            raise LookupError(f"no domain {name!r} is registered")
        return domain.client_class(is_async=_IS_ASYNC)(self._pipeline, self._options)

    def _opts(self, **changes: Any) -> RequestOptions:
        """This client's options with the call's own (``app_id=``, ``idempotent=``...)."""
        return self._options.merge(**changes)

    async def _app_id(self, app_id: str | None = None) -> str:
        """The app a call with ``app_id`` runs as (for caches and pacing keyed by app)."""
        return (await self._pipeline.resolve_app(self._opts(app_id=app_id).app_id)).app_id

    async def _request(
        self,
        method: str,
        path: str,
        *,
        options: RequestOptions | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        binary: bool = False,
        sink: Sink | None = None,
    ) -> ApiResponse:
        """Send one call through the pipeline; the answer after the envelope was checked.

        ``sink``: stream a download instead of reading it into memory (``await sink(response)``
        reads the body; its return value is ``ApiResponse.value``; retried from the start).
        """
        return await self._pipeline.send(
            method,
            path,
            options or self._options,
            params=params,
            json=json,
            data=data,
            files=files,
            binary=binary,
            sink=sink,
        )

    def _paginate(
        self,
        path: str,
        parse: Callable[[ApiResponse, dict[str, Any]], T],
        *,
        options: RequestOptions | None = None,
        params: Mapping[str, Any] | None = None,
        page_size: int,
        method: str = "GET",
        json: Any = None,
        item_key: str = "items",
    ) -> AsyncPager[T]:
        """A lazy pager over a ``page_token`` list; ``page_size`` is the endpoint's maximum.

        ``parse(response, item)`` turns each raw item into the result type.
        """
        opts = options or self._options
        base = dict(params or {})
        base["page_size"] = page_size

        async def fetch(token: str | None) -> Page[T]:
            query = dict(base)
            if token:
                query["page_token"] = token
            response = await self._request(method, path, options=opts, params=query, json=json)
            return page_of(
                response.data, lambda item: parse(response, dict(item)), item_key=item_key
            )

        return AsyncPager(fetch)


# True here, False in the generated sync twin (whose _request is a plain function)
_IS_ASYNC = inspect.iscoroutinefunction(AsyncResource._request)

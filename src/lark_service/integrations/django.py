"""The callback endpoints inside your own Django project.

::

    # urls.py
    from lark_service.integrations.django import callback_urls

    urlpatterns = [...]
    urlpatterns += callback_urls(router)

serves ``POST callbacks/<app_id>/event``, ``callbacks/<app_id>/card``, ``callbacks/event`` and
``callbacks/card`` exactly as ``lark-service serve`` does. The views are CSRF-exempt (Feishu
posts without a CSRF token; the signature is checked instead) and synchronous: the
:class:`~lark_service.callbacks.CallbackHandler` runs its dispatcher on a background event loop
started by the first callback and stopped at interpreter exit (or by ``handler.close()``).
Needs the ``django`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import (  # type: ignore[import-untyped]
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
    UnreadablePostError,
)
from django.urls import path  # type: ignore[import-untyped]
from django.views.decorators.csrf import csrf_exempt  # type: ignore[import-untyped]

from ..errors import PayloadTooLargeError
from ._common import build_handler, check_declared, too_large

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..callbacks.handler import CallbackAnswer, CallbackHandler
    from ..callbacks.router import CallbackRouter
    from ..callbacks.verify import Kind

__all__ = ["callback_urls"]


class _AnswerResponse(JsonResponse):  # type: ignore[misc]
    """A JSON response telling the handler when it has been sent (closed by the server)."""

    def __init__(self, answer: CallbackAnswer) -> None:
        super().__init__(answer.body, status=answer.status)
        self._answer = answer

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._answer.sent()


def _read_body(request: Any, limit: int) -> bytes:
    check_declared(request.META.get("CONTENT_LENGTH"), limit)
    chunks = bytearray()
    while True:
        chunk = request.read(min(65536, limit + 1 - len(chunks)))
        if not chunk:
            return bytes(chunks)
        chunks.extend(chunk)
        if len(chunks) > limit:
            raise too_large(limit)


def callback_urls(
    router: CallbackRouter | None = None,
    *,
    handler: CallbackHandler | None = None,
    prefix: str = "callbacks/",
    **options: Any,
) -> list[Any]:
    """URL patterns serving the callback endpoints under ``prefix`` (``urlpatterns += ...``).

    ``router``: your handlers; ``options``: :class:`~lark_service.callbacks.CallbackHandler`'s
    (``keys=``, ``dispatcher=``, ``database_url=``, ``config=``, …) — or a ready ``handler=``.
    With no arguments the keys come from the same places as ``lark-service serve``.
    """
    core: CallbackHandler = build_handler(router, handler, options)

    def view(kind: Kind) -> Callable[..., HttpResponse]:
        @csrf_exempt  # type: ignore[untyped-decorator]
        def callback(request: HttpRequest, app_id: str | None = None) -> HttpResponse:
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            try:
                body = _read_body(request, core.config.max_body)
            except PayloadTooLargeError as exc:
                return _AnswerResponse(core.reject(kind, app_id, exc))
            except UnreadablePostError:
                core.disconnected(kind, app_id)
                return HttpResponse(status=400)
            return _AnswerResponse(core.process(kind, app_id, request.headers, body))

        callback.__name__ = f"lark_{kind}_callback"
        return callback  # type: ignore[no-any-return]

    event, card = view("event"), view("card")
    return [
        path(f"{prefix}<str:app_id>/event", event, name="lark_callbacks_app_event"),
        path(f"{prefix}<str:app_id>/card", card, name="lark_callbacks_app_card"),
        path(f"{prefix}event", event, name="lark_callbacks_event"),
        path(f"{prefix}card", card, name="lark_callbacks_card"),
    ]

"""The callback endpoints inside your own Flask app.

::

    from flask import Flask
    from lark_service.integrations.flask import callbacks_blueprint

    app = Flask(__name__)
    app.register_blueprint(callbacks_blueprint(router))

serves ``POST /callbacks/{app_id}/event``, ``/callbacks/{app_id}/card``, ``/callbacks/event``
and ``/callbacks/card`` exactly as ``lark-service serve`` does. Views are synchronous: the
:class:`~lark_service.callbacks.CallbackHandler` runs its dispatcher on a background event loop
started by the first callback and stopped at interpreter exit (or by ``handler.close()``).
Needs the ``flask`` extra.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import ClientDisconnected

from ..errors import PayloadTooLargeError
from ._common import build_handler, check_declared, too_large

if TYPE_CHECKING:
    from ..callbacks.handler import CallbackHandler
    from ..callbacks.router import CallbackRouter
    from ..callbacks.verify import Kind

__all__ = ["callbacks_blueprint"]


def _read_body(limit: int) -> bytes:
    check_declared(request.headers.get("Content-Length"), limit)
    chunks = bytearray()
    stream = request.stream
    while True:
        chunk = stream.read(min(65536, limit + 1 - len(chunks)))
        if not chunk:
            return bytes(chunks)
        chunks.extend(chunk)
        if len(chunks) > limit:
            raise too_large(limit)


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def callbacks_blueprint(
    router: CallbackRouter | None = None,
    *,
    handler: CallbackHandler | None = None,
    url_prefix: str = "/callbacks",
    name: str = "lark_callbacks",
    **options: Any,
) -> Blueprint:
    """A ``Blueprint`` serving the callback endpoints under ``url_prefix``.

    ``router``: your handlers; ``options``: :class:`~lark_service.callbacks.CallbackHandler`'s
    (``keys=``, ``dispatcher=``, ``database_url=``, ``config=``, …) — or a ready ``handler=``.
    With no arguments the keys come from the same places as ``lark-service serve``.
    """
    core: CallbackHandler = build_handler(router, handler, options)
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix)

    def answer(kind: Kind, app_id: str | None) -> Response:
        try:
            body = _read_body(core.config.max_body)
        except PayloadTooLargeError as exc:
            refused = core.reject(kind, app_id, exc)
            return _json(refused.status, refused.body)
        except ClientDisconnected:
            core.disconnected(kind, app_id)
            return Response(status=400)
        result = core.process(kind, app_id, request.headers, body)
        response = _json(result.status, result.body)
        response.call_on_close(result.sent)
        return response

    def app_event(app_id: str) -> Response:
        return answer("event", app_id)

    def app_card(app_id: str) -> Response:
        return answer("card", app_id)

    def default_event() -> Response:
        return answer("event", None)

    def default_card() -> Response:
        return answer("card", None)

    blueprint.add_url_rule("/<app_id>/event", view_func=app_event, methods=["POST"])
    blueprint.add_url_rule("/<app_id>/card", view_func=app_card, methods=["POST"])
    blueprint.add_url_rule("/event", view_func=default_event, methods=["POST"])
    blueprint.add_url_rule("/card", view_func=default_card, methods=["POST"])
    return blueprint

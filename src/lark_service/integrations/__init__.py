"""Mounting the callback endpoints inside an existing web app (docs/integrations.md).

- :func:`lark_service.integrations.fastapi.callbacks_router` — FastAPI / Starlette
  (``app.include_router(callbacks_router(router))``; the ``server`` extra);
- :func:`lark_service.integrations.flask.callbacks_blueprint` — Flask
  (``app.register_blueprint(callbacks_blueprint(router))``; the ``flask`` extra);
- :func:`lark_service.integrations.django.callback_urls` — Django
  (``urlpatterns += callback_urls(router)``; the ``django`` extra).

Each serves the paths of ``lark-service serve`` — ``/callbacks/{app_id}/event``,
``/callbacks/{app_id}/card``, ``/callbacks/event``, ``/callbacks/card`` — over one
:class:`~lark_service.callbacks.CallbackHandler`, reading the app keys where the server does
(``LARK_APP_ID`` / ``LARK_ENCRYPT_KEY`` / ``LARK_VERIFICATION_TOKEN``, or the app registry).
Importing this package imports no web framework.
"""

from __future__ import annotations

__all__: list[str] = []

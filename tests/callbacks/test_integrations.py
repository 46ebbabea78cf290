"""The callback endpoints mounted inside an existing FastAPI, Starlette, Flask or Django app:
a real test client of each posting a signed, encrypted callback and the handler running."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from lark_service.callbacks import (
    CallbackHandler,
    CallbackRouter,
    CardResponse,
    StaticKeys,
    Toast,
)
from lark_service.callbacks.simulate import card_action_payload, message_event_payload

from ._support import APP, EK, VT, FakeClock, sign, wait_until

# FastAPI's TestClient (what users test with) still warns about plain httpx
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


@pytest.fixture
def texts(router: CallbackRouter) -> list[str]:
    seen: list[str] = []
    router.event("im.message.receive_v1")(lambda e: seen.append(e.message.text))
    router.card_action(value_key="action", value="approve")(
        lambda e: CardResponse(toast=Toast("Approved", type="success"))
    )
    return seen


@pytest.fixture
def handler(
    router: CallbackRouter, keys: StaticKeys, db_url: str, clock: FakeClock
) -> Iterator[CallbackHandler]:
    core = CallbackHandler(router, keys=keys, database_url=db_url, clock=clock)
    yield core
    core.close()


def _requests(clock: Any, text: str) -> list[tuple[str, dict[str, str], bytes, int, Any]]:
    """(path, headers, body, status, json) for the four paths."""
    out = []
    for i, path in enumerate((f"/callbacks/{APP}/event", "/callbacks/event")):
        headers, body = sign(message_event_payload(APP, f"{text}{i}", verification_token=VT), clock)
        out.append((path, headers, body, 200, {"msg": "success"}))
    card = card_action_payload(APP, value={"action": "approve"}, verification_token=VT)
    for path in (f"/callbacks/{APP}/card", "/callbacks/card"):
        headers, body = sign(card, clock)
        ok = (
            {"toast": {"type": "success", "content": "Approved"}}
            if path.endswith(APP + "/card")
            else {}
        )
        out.append((path, headers, body, 200, ok))  # the second card is a duplicate: {}
    headers, body = sign(message_event_payload(APP, "forged", verification_token=VT), clock)
    out.append(
        (f"/callbacks/{APP}/event", {**headers, "X-Lark-Signature": "0" * 64}, body, 401, None)
    )
    return out


# --- FastAPI / Starlette ---------------------------------------------------------------------


def test_fastapi_router_inside_an_app_with_its_own_lifespan(
    handler: CallbackHandler, texts: list[str], clock: FakeClock
) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from lark_service.integrations.fastapi import callbacks_router

    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        events.append("app up")
        yield
        events.append("app down")

    app = FastAPI(lifespan=lifespan)
    app.include_router(callbacks_router(handler=handler))

    @app.get("/mine")
    def mine() -> dict[str, str]:
        return {"mine": "yes"}

    with TestClient(app) as http:
        assert handler.running  # started by the router's lifespan, with the app's
        for path, headers, body, status, expected in _requests(clock, "fa"):
            r = http.post(path, headers=headers, content=body)
            assert r.status_code == status, (path, r.text)
            if expected is not None:
                assert r.json() == expected
        assert http.get("/mine").json() == {"mine": "yes"}
        wait_until(lambda: sorted(texts) == ["fa0", "fa1"], what="handlers")
    assert events == ["app up", "app down"] and not handler.running


def test_fastapi_router_works_when_no_lifespan_runs(
    handler: CallbackHandler, texts: list[str], clock: FakeClock
) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from lark_service.integrations.fastapi import callbacks_router

    app = FastAPI()
    app.include_router(callbacks_router(handler=handler))
    http = TestClient(app)  # no `with`: the lifespan never runs, each request its own loop
    for path, headers, body, status, expected in _requests(clock, "nl"):
        r = http.post(path, headers=headers, content=body)
        assert r.status_code == status, (path, r.text)
        if expected is not None:
            assert r.json() == expected
    wait_until(lambda: sorted(texts) == ["nl0", "nl1"], what="handlers")


def test_the_server_app_mounted_inside_a_starlette_app_with_its_own_lifespan(
    router: CallbackRouter, keys: StaticKeys, db_url: str, clock: FakeClock, texts: list[str]
) -> None:
    """Issue 10.18: this answered 503 "shutting down" (the mounted app's lifespan never ran)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    from lark_service.server import create_app

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield

    inner = create_app(router, keys=keys, database_url=db_url, clock=clock)
    app = Starlette(lifespan=lifespan, routes=[Mount("/", app=inner)])
    try:
        with TestClient(app) as http:
            for path, headers, body, status, expected in _requests(clock, "st"):
                r = http.post(path, headers=headers, content=body)
                assert r.status_code == status, (path, r.text)
                if expected is not None:
                    assert r.json() == expected
            wait_until(lambda: sorted(texts) == ["st0", "st1"], what="handlers")
    finally:
        inner.state.callbacks.close()


# --- Flask -----------------------------------------------------------------------------------


def test_flask_blueprint(handler: CallbackHandler, texts: list[str], clock: FakeClock) -> None:
    from flask import Flask

    from lark_service.integrations.flask import callbacks_blueprint

    app = Flask(__name__)
    app.register_blueprint(callbacks_blueprint(handler=handler))
    http = app.test_client()
    for path, headers, body, status, expected in _requests(clock, "fl"):
        r = http.post(path, headers=headers, data=body)
        assert r.status_code == status, (path, r.get_data(as_text=True))
        if expected is not None:
            assert r.get_json() == expected
    assert http.get(f"/callbacks/{APP}/event").status_code == 405
    big = http.post("/callbacks/event", data=b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert big.status_code == 413
    wait_until(lambda: sorted(texts) == ["fl0", "fl1"], what="handlers")


# --- Django ----------------------------------------------------------------------------------


def _django() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="test-only",
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF="tests.callbacks.test_integrations",
            MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
            INSTALLED_APPS=[],
            USE_TZ=True,
        )
        django.setup()


urlpatterns: list[Any] = []  # ROOT_URLCONF of the Django test (filled per test)


def test_django_urls_are_csrf_exempt(
    handler: CallbackHandler, texts: list[str], clock: FakeClock
) -> None:
    _django()
    from django.test import Client, override_settings
    from django.urls import clear_url_caches

    from lark_service.integrations.django import callback_urls

    urlpatterns[:] = callback_urls(handler=handler)
    clear_url_caches()
    with override_settings(ROOT_URLCONF=__name__):
        http = Client(enforce_csrf_checks=True)  # Feishu sends no CSRF token
        for path, headers, body, status, expected in _requests(clock, "dj"):
            r = http.post(path, data=body, content_type="application/json", headers=headers)
            assert r.status_code == status, (path, r.content)
            if expected is not None:
                assert r.json() == expected
        assert http.get(f"/callbacks/{APP}/event").status_code == 405
    urlpatterns.clear()
    clear_url_caches()
    wait_until(lambda: sorted(texts) == ["dj0", "dj1"], what="handlers")


# --- no arguments: the keys of `lark-service serve` ------------------------------------------


def test_mounted_with_no_arguments_they_read_the_single_app_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from flask import Flask

    from lark_service.integrations import _common
    from lark_service.integrations.fastapi import callbacks_router
    from lark_service.integrations.flask import callbacks_blueprint

    made: list[CallbackHandler] = []
    build = _common.build_handler

    def recording(*args: Any) -> Any:
        made.append(build(*args))
        return made[-1]

    monkeypatch.setattr(_common, "build_handler", recording)
    monkeypatch.setattr("lark_service.integrations.flask.build_handler", recording)
    monkeypatch.setattr("lark_service.integrations.fastapi.build_handler", recording)
    monkeypatch.setenv("LARK_APP_ID", APP)
    monkeypatch.setenv("LARK_ENCRYPT_KEY", EK)
    monkeypatch.setenv("LARK_VERIFICATION_TOKEN", VT)
    headers, body = sign(message_event_payload(APP, "env", verification_token=VT), time.time)
    wrong = {**headers, "X-Lark-Signature": "0" * 64}

    flask_app = Flask(__name__)
    blueprint = callbacks_blueprint()
    flask_app.register_blueprint(blueprint)
    http = flask_app.test_client()
    assert http.post("/callbacks/event", headers=headers, data=body).get_json() == {
        "msg": "success"
    }
    assert http.post("/callbacks/event", headers=wrong, data=body).status_code == 401

    fastapi_app = FastAPI()
    fastapi_app.include_router(callbacks_router())
    with TestClient(fastapi_app) as client:
        r = client.post(f"/callbacks/{APP}/event", headers=headers, content=body)
        assert r.status_code == 200  # stored before: a duplicate, acknowledged
        assert client.post("/callbacks/event", headers=wrong, content=body).status_code == 401
    for handler in made:
        handler.close()
    assert len(made) == 2

"""Property-based fuzz of the callback endpoints: random headers and bodies never crash it."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lark_service.callbacks import CallbackKeys, CallbackRouter, StaticKeys, crypto
from lark_service.callbacks.simulate import card_action_payload, message_event_payload
from lark_service.errors import ConfigError
from lark_service.server import ServerConfig, create_app

from ._support import APP, EK, VT, FakeClock, serve, sign

HEADER_NAMES = [
    "X-Lark-Request-Timestamp",
    "X-Lark-Request-Nonce",
    "X-Lark-Signature",
    "Content-Type",
    "Content-Length-Ignored",
]
ascii_text = st.text(alphabet=string.printable.strip() + " ", max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ascii_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ascii_text, inner, max_size=4),
    max_leaves=12,
)


def _bodies(clock: FakeClock) -> st.SearchStrategy[tuple[dict[str, str], bytes]]:
    def signed(value: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        payload = card_action_payload(APP, value=value, verification_token=VT)
        return sign(payload, clock)

    def signed_event(text: str) -> tuple[dict[str, str], bytes]:
        return sign(message_event_payload(APP, text, verification_token=VT), clock)

    def encrypted(value: Any) -> tuple[dict[str, str], bytes]:
        body = json.dumps({"encrypt": crypto.encrypt(EK, json.dumps(value).encode())}).encode()
        return {}, body

    def tampered(pair: tuple[dict[str, str], bytes], cut: int) -> tuple[dict[str, str], bytes]:
        headers, body = pair
        return headers, body[: max(0, len(body) - cut)]

    plain = st.tuples(st.just({}), st.binary(max_size=300))
    as_json = json_values.map(lambda v: ({}, json.dumps(v).encode()))
    good = st.dictionaries(ascii_text, json_values, max_size=3).map(signed)
    event = ascii_text.map(signed_event)
    return st.one_of(
        plain,
        as_json,
        json_values.map(encrypted),
        good,
        event,
        st.tuples(good, st.integers(1, 40)).map(lambda p: tampered(*p)),
        st.just(({}, b"{" + b" " * 3000 + b"}")),
        st.just(({}, json.dumps({"encrypt": "A" * 64}).encode())),
    )


def test_random_requests_only_get_200_400_401_413(tmp_path: Path) -> None:
    from anyio.from_thread import start_blocking_portal

    clock = FakeClock()
    keys = StaticKeys(CallbackKeys(APP, encrypt_key=EK, verification_token=VT))
    router = CallbackRouter()
    router.card_action()(lambda e: {"elements": []})
    app = create_app(
        router,
        keys=keys,
        database_url=f"sqlite:///{tmp_path / 'fuzz.db'}",
        clock=clock,
        config=ServerConfig(max_body=2048, reply_wait=0.0),
    )
    seen: set[int] = set()
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(serve(app)) as http:

        @settings(
            max_examples=200,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(
            request=_bodies(clock),
            extra=st.dictionaries(st.sampled_from(HEADER_NAMES), ascii_text, max_size=4),
            keep=st.booleans(),
            path=st.sampled_from(
                [f"/callbacks/{APP}/event", f"/callbacks/{APP}/card", "/callbacks/card"]
            ),
        )
        def check(
            request: tuple[dict[str, str], bytes], extra: dict[str, str], keep: bool, path: str
        ) -> None:
            headers, body = request
            merged = dict(headers) if keep else {**headers, **extra}
            response = portal.call(lambda: http.post(path, headers=merged, content=body))
            assert response.status_code in (200, 400, 401, 413), (
                response.status_code,
                response.text,
            )
            assert "Traceback" not in response.text
            assert EK not in response.text and VT not in response.text
            seen.add(response.status_code)

        check()
    assert {200, 400, 401, 413} <= seen


class FlakyKeys:
    """A registry-like key source (blocking: verified in a thread) that fails on demand, as a
    config database that is down or an encryption key that does not open the secrets would."""

    def __init__(self) -> None:
        self.failing = False
        self._keys = StaticKeys(CallbackKeys(APP, encrypt_key=EK, verification_token=VT))

    def _check(self) -> None:
        if self.failing:
            raise ConfigError("the app registry at postgresql://u:pw@db/x failed")

    def get(self, app_id: str) -> CallbackKeys | None:
        self._check()
        return self._keys.get(app_id)

    def default_app_id(self) -> str | None:
        self._check()
        return APP


def test_random_requests_with_a_failing_key_source_get_503_not_500(tmp_path: Path) -> None:
    from anyio.from_thread import start_blocking_portal

    clock = FakeClock()
    keys = FlakyKeys()
    router = CallbackRouter()
    router.card_action()(lambda e: {"elements": []})
    app = create_app(
        router,
        keys=keys,
        database_url=f"sqlite:///{tmp_path / 'fuzz.db'}",
        clock=clock,
        config=ServerConfig(max_body=2048, reply_wait=0.0),
    )
    seen: set[int] = set()
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(serve(app)) as http:

        @settings(
            max_examples=100,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(
            request=_bodies(clock),
            failing=st.booleans(),
            path=st.sampled_from(
                [f"/callbacks/{APP}/event", f"/callbacks/{APP}/card", "/callbacks/card"]
            ),
        )
        def check(request: tuple[dict[str, str], bytes], failing: bool, path: str) -> None:
            headers, body = request
            keys.failing = failing
            response = portal.call(lambda: http.post(path, headers=headers, content=body))
            allowed = {413, 503} if failing else {200, 400, 401, 413}
            assert response.status_code in allowed, (failing, response.status_code, response.text)
            assert "Traceback" not in response.text and "pw" not in response.text
            assert EK not in response.text and VT not in response.text
            seen.add(response.status_code)

        check()
    assert {200, 503} <= seen

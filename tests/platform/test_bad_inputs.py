"""Typed errors for every bad input (issue 10.5): whatever a caller passes as a string or path
argument, what escapes is a ``LarkError`` — a ValidationError before sending, or an
APIError/TransportError from Feishu — never httpx.InvalidURL, UnicodeEncodeError, TypeError,
AttributeError or LookupError."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lark_service import NO_RETRY, AsyncLarkClient, LarkClient, errors
from lark_service.testing import Emulator

from .conftest import APP_A

NASTY = [
    "",
    " ",
    ".",
    "..",
    "/",
    "a/../b",
    "%2e%2e",
    "\x00",
    "\r\nX-Injected: 1",
    "\ud800",
    "\udfff" * 3,
    "x" * 100_000,
    "é",
    "😀",
    "ou_" + "\u202e",
    "a@b.c\x00",
    "oc_\t",
    "?page_size=1",
    "#frag",
    "http://evil.example/",
]

any_text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=64)
strings = st.one_of(st.sampled_from(NASTY), any_text)
values = st.one_of(strings, st.none(), st.integers(), st.binary(max_size=8), st.just(["ou_1"]))
HYPOTHESIS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def world(lark_emulator_session: Emulator) -> Iterator[Emulator]:
    """One emulator state for the whole module (Hypothesis runs many examples per test)."""
    from lark_service.testing import reset_process_state

    lark_emulator_session.reset()
    reset_process_state()
    lark_emulator_session.add_app(*APP_A)
    lark_emulator_session.add_user("alice", open_id="ou_alice", email="alice@example.com")
    lark_emulator_session.add_chat("oc_platform", "Platform", bot_app_ids=[APP_A[0]])
    yield lark_emulator_session
    lark_emulator_session.reset()


@pytest.fixture(scope="module")
def lark(world: Emulator) -> Iterator[LarkClient]:
    with LarkClient(APP_A[0], APP_A[1], base_url=world.url, retry=NO_RETRY) as client:
        yield client


def only_lark_errors(call: Callable[[], Any]) -> None:
    with contextlib.suppress(errors.LarkError):
        call()


@HYPOTHESIS
@given(receive_id=values, text=values)
@example(receive_id="ou_1", text="\ud800")
def test_send_text_message(lark: LarkClient, receive_id: Any, text: Any) -> None:
    only_lark_errors(lambda: lark.messaging.send_text_message(receive_id, text))


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.messaging.send_text_message("ou_1", "ok \udfff"),
        lambda c: c.messaging.send_markdown_message("ou_1", "**\ud800**"),
        lambda c: c.messaging.reply_message("om_1", "\ud800"),
        lambda c: c.messaging.edit_message("om_1", "\ud800"),
    ],
    ids=["send_text", "send_markdown", "reply", "edit"],
)
def test_message_text_with_a_lone_surrogate_is_a_validation_error(
    lark: LarkClient, world: Emulator, call: Callable[[LarkClient], Any]
) -> None:
    before = len(world.requests())
    with pytest.raises(errors.ValidationError):
        call(lark)
    assert len(world.requests()) == before


@HYPOTHESIS
@given(chat_id=values)
def test_get_chat(lark: LarkClient, chat_id: Any) -> None:
    only_lark_errors(lambda: lark.chats.get_chat(chat_id))


@HYPOTHESIS
@given(message_id=values)
def test_message_lifecycle(lark: LarkClient, message_id: Any) -> None:
    only_lark_errors(lambda: lark.messaging.get_message(message_id))
    only_lark_errors(lambda: lark.messaging.recall_message(message_id))


@HYPOTHESIS
@given(email=values)
def test_get_user_by_email(lark: LarkClient, email: Any) -> None:
    only_lark_errors(lambda: lark.contact.get_user_by_email(email))


@HYPOTHESIS
@given(user_id=values)
@example(user_id="\ud800")
def test_get_user(lark: LarkClient, user_id: Any) -> None:
    only_lark_errors(lambda: lark.contact.get_user(user_id))


@HYPOTHESIS
@given(
    method=st.one_of(st.sampled_from(["GET", "get", "POST", "DELETE"]), values),
    path=st.one_of(
        st.builds(lambda tail: "/open-apis/im/v1/chats/" + tail, strings),
        values,
    ),
    params=st.one_of(
        st.none(),
        st.dictionaries(strings, st.one_of(strings, st.integers(), st.none()), max_size=3),
    ),
)
def test_request(lark: LarkClient, method: Any, path: Any, params: Any) -> None:
    only_lark_errors(lambda: lark.request(method, path, params=params))


@HYPOTHESIS
@given(headers=st.dictionaries(strings, strings, max_size=2))
def test_request_headers(lark: LarkClient, headers: Any) -> None:
    only_lark_errors(lambda: lark.request("GET", "/open-apis/im/v1/chats", headers=headers))


@pytest.mark.parametrize(
    ("app_id", "app_secret"),
    [
        ("cli_x", 5),
        ("cli_x", b"secret"),
        ("cli_x", ["secret"]),
        (5, "secret"),
        (None, 5),
        ("cli_x", "\ud800"),
    ],
)
@pytest.mark.parametrize("client_class", [LarkClient, AsyncLarkClient])
def test_a_client_with_a_bad_app_or_secret_raises_a_lark_error(
    client_class: type[Any], app_id: Any, app_secret: Any
) -> None:
    """``LarkClient("cli_x", app_secret=5)`` raised AttributeError ('int' object has no
    attribute 'encode'); a bad app id or secret is a ValidationError or ConfigError, at
    construction or at the first call."""
    try:
        client = client_class(app_id, app_secret=app_secret, base_url="http://127.0.0.1:9")
        client.resolve_app()
    except (errors.ValidationError, errors.ConfigError):
        return
    pytest.fail(f"{client_class.__name__}({app_id!r}, app_secret={app_secret!r}) was accepted")


OPTION_CASES = [
    pytest.param(
        lambda c: c.with_options(timeout="5").chats.get_chat("oc_platform"),
        id="with_options-timeout-str",
    ),
    pytest.param(
        lambda c: c.with_options(timeout=-1).chats.get_chat("oc_platform"),
        id="with_options-timeout-negative",
    ),
    pytest.param(
        lambda c: c.with_options(timeout=float("nan")).chats.get_chat("oc_platform"),
        id="with_options-timeout-nan",
    ),
    pytest.param(
        lambda c: c.with_options(headers="x").chats.get_chat("oc_platform"),
        id="with_options-headers-str",
    ),
    pytest.param(
        lambda c: c.with_options(retry="x").chats.get_chat("oc_platform"),
        id="with_options-retry-str",
    ),
    pytest.param(
        lambda c: c.with_options(user=5).chats.get_chat("oc_platform"),
        id="with_options-user-int",
    ),
    pytest.param(
        lambda c: c.request("GET", "/open-apis/im/v1/chats", timeout="5"),
        id="request-timeout-str",
    ),
    pytest.param(
        lambda c: c.request("GET", "/open-apis/im/v1/chats", timeout=-1),
        id="request-timeout-negative",
    ),
    pytest.param(
        lambda c: c.request("GET", "/open-apis/im/v1/chats", headers="x"),
        id="request-headers-str",
    ),
    pytest.param(
        lambda c: c.request("POST", "/open-apis/im/v1/images", files={"image": 5}),
        id="request-files-int",
    ),
    pytest.param(
        lambda c: c.messaging.upload_image("x" * 100_000),
        id="upload_image-100k-path",
    ),
    pytest.param(
        lambda c: c.messaging.send_image_message("ou_alice", "x" * 100_000),
        id="send_image_message-100k-path",
    ),
    pytest.param(
        lambda c: c.messaging.send_batch(["ou_alice"], "\ud800"),
        id="send_batch-lone-surrogate",
    ),
]


@pytest.mark.parametrize("call", OPTION_CASES)
def test_option_arguments_of_the_wrong_type_are_validation_errors(
    lark: LarkClient, world: Emulator, call: Callable[[LarkClient], Any]
) -> None:
    """Arguments beside ids and text: a wrong type or value is a ValidationError before any
    request, never TypeError/ValueError/AttributeError/OSError, and never silently accepted."""
    with pytest.raises(errors.ValidationError):
        call(lark)


def test_good_option_values_are_accepted(lark: LarkClient) -> None:
    view = lark.with_options(idempotent=False, timeout=5, headers={"X-A": "1"}, retry=NO_RETRY)
    assert view.chats.get_chat("oc_platform").chat_id == "oc_platform"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"retry": "x"},
        {"settings": "x"},
        {"http_backend": 5},
        {"base_url": "ftp://x"},
    ],
)
def test_client_arguments_of_the_wrong_type_raise_lark_errors(kwargs: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"retry": NO_RETRY, "base_url": "http://127.0.0.1:9", **kwargs}
    with pytest.raises((errors.ValidationError, errors.ConfigError)):
        with LarkClient(APP_A[0], APP_A[1], **arguments) as client:
            client.request("GET", "/open-apis/im/v1/chats")

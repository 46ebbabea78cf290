"""Every verification step and failure mode of CallbackVerifier (clock injected)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lark_service.callbacks import (
    CallbackKeys,
    CallbackVerifier,
    CardActionEvent,
    GenericEvent,
    LegacyCardActionEvent,
    MessageReceiveEvent,
    StaticKeys,
)
from lark_service.callbacks.simulate import (
    card_action_payload,
    legacy_card_payload,
    message_event_payload,
    signed_request,
    url_verification_payload,
)
from lark_service.callbacks.verify import (
    KeysUnavailableError,
    MalformedCallbackError,
    PayloadTooLargeError,
    UnknownAppError,
)
from lark_service.errors import (
    CallbackError,
    ConfigError,
    DecryptError,
    EncryptionKeyError,
    ReplayError,
    SignatureError,
)

from ._support import APP, EK, VT, FakeClock, sign


@pytest.fixture
def verifier(keys: StaticKeys, clock: FakeClock) -> CallbackVerifier:
    return CallbackVerifier(keys, clock=clock, window=300, max_body=64 * 1024)


def card(**kw: Any) -> dict[str, Any]:
    kw.setdefault("verification_token", VT)
    return card_action_payload(APP, value={"action": "approve", "id": 7}, **kw)


def expect(exc_type: type[CallbackError], status: int, fn: Any, *args: Any) -> CallbackError:
    with pytest.raises(exc_type) as info:
        fn(*args)
    assert info.value.http_status == status
    for secret in (EK, VT):
        assert secret not in str(info.value)
    return info.value


def test_a_signed_encrypted_card_action_verifies(
    verifier: CallbackVerifier, clock: FakeClock
) -> None:
    payload = card(open_id="ou_alice", open_message_id="om_1", card_token="c-tok")
    headers, body = sign(payload, clock)
    result = verifier.verify("card", APP, headers, body)
    event = result.event
    assert isinstance(event, CardActionEvent)
    assert event.action.value == {"action": "approve", "id": 7}
    assert event.operator.open_id == "ou_alice"
    assert event.context.open_message_id == "om_1"
    assert event.token == "c-tok"
    assert event.dedup_keys == [f"{APP}:evt:{payload['header']['event_id']}"]
    assert result.app_id == APP and result.challenge is None


def test_the_verification_token_is_dropped_once_verified(
    verifier: CallbackVerifier, clock: FakeClock
) -> None:
    payload = card(card_token="c-keep-me")
    result = verifier.verify("card", APP, *sign(payload, clock))
    assert "token" not in result.payload["header"] and VT not in json.dumps(result.payload)
    assert isinstance(result.event, CardActionEvent) and result.event.header.token is None
    assert VT not in json.dumps(result.event.raw)
    # the card's c- token stays (the delayed update needs it) but is not in any repr
    assert result.payload["event"]["token"] == result.event.token == "c-keep-me"
    assert "c-keep-me" not in repr(result.event) and "c-keep-me" not in str(result.event)
    v1 = {"uuid": "u1", "token": VT, "ts": "1", "type": "event_callback", "event": {"type": "x"}}
    result = verifier.verify("event", APP, *sign(v1, clock))
    assert "token" not in result.payload and VT not in json.dumps(result.payload)
    legacy = legacy_card_payload(card_token="c-legacy")
    headers, body = signed_request(
        legacy, verification_token=VT, legacy=True, timestamp=str(int(clock()))
    )
    result = verifier.verify("card", APP, headers, body)
    assert result.payload["token"] == "c-legacy"  # the legacy flat token is the card's
    assert "c-legacy" not in repr(result.event)


def test_headers_are_case_insensitive(verifier: CallbackVerifier, clock: FakeClock) -> None:
    headers, body = sign(card(), clock)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert verifier.verify("card", APP, lowered, body).event is not None


def test_message_event_has_event_and_message_dedup_keys(
    verifier: CallbackVerifier, clock: FakeClock
) -> None:
    payload = message_event_payload(APP, "hi bot", message_id="om_m1", verification_token=VT)
    headers, body = sign(payload, clock)
    event = verifier.verify("event", APP, headers, body).event
    assert isinstance(event, MessageReceiveEvent)
    assert event.message.text == "hi bot"
    assert event.dedup_keys[1] == f"{APP}:msg:om_m1"


def test_dedup_keys_are_per_app(clock: FakeClock) -> None:
    both = StaticKeys(
        CallbackKeys("cli_a", encrypt_key=EK, verification_token=VT),
        CallbackKeys("cli_b", encrypt_key=EK, verification_token=VT),
    )
    verifier = CallbackVerifier(both, clock=clock)
    keys = []
    for app in ("cli_a", "cli_b"):
        payload = message_event_payload(
            app, "hi", message_id="om_group", event_id="ev_same", verification_token=VT
        )
        event = verifier.verify("event", app, *sign(payload, clock)).event
        assert event is not None
        keys.append(event.dedup_keys)
    assert keys == [
        ["cli_a:evt:ev_same", "cli_a:msg:om_group"],
        ["cli_b:evt:ev_same", "cli_b:msg:om_group"],
    ]
    # the legacy callback names no app: the app of the URL it came to is used
    legacy = legacy_card_payload(card_token="c-1")
    events = []
    for app in ("cli_a", "cli_b"):
        headers, body = signed_request(
            legacy, verification_token=VT, legacy=True, timestamp=str(int(clock()))
        )
        events.append(verifier.verify("card", app, headers, body).event)
    assert [e.app_id for e in events if e] == ["cli_a", "cli_b"]
    assert events[0] and events[1] and events[0].event_id == events[1].event_id
    assert events[0].dedup_keys[0].startswith("cli_a:evt:legacy-")
    assert events[1].dedup_keys[0].startswith("cli_b:evt:legacy-")


def test_other_events_are_generic(verifier: CallbackVerifier, clock: FakeClock) -> None:
    payload = {
        "schema": "2.0",
        "header": {"event_id": "e1", "event_type": "contact.user.created_v3", "token": VT},
        "event": {"object": {"open_id": "ou_x"}},
    }
    headers, body = sign(payload, clock)
    event = verifier.verify("event", APP, headers, body).event
    assert isinstance(event, GenericEvent)
    assert (
        event.event_type == "contact.user.created_v3" and event.event["object"]["open_id"] == "ou_x"
    )
    v1 = {"uuid": "u1", "token": VT, "ts": "1", "type": "event_callback", "event": {"type": "x.y"}}
    headers, body = sign(v1, clock)
    event = verifier.verify("event", APP, headers, body).event
    assert isinstance(event, GenericEvent) and event.event_id == "u1" and event.event_type == "x.y"


# --- url_verification --------------------------------------------------------------------


def test_url_verification_plain_and_encrypted(verifier: CallbackVerifier) -> None:
    payload = url_verification_payload("ch-1", VT)
    plain = json.dumps(payload).encode()
    assert verifier.verify("event", APP, {}, plain).challenge == "ch-1"
    _, body = signed_request(payload, encrypt_key=EK)
    assert verifier.verify("card", APP, {}, body).challenge == "ch-1"


def test_url_verification_with_a_wrong_token_is_401(verifier: CallbackVerifier) -> None:
    body = json.dumps(url_verification_payload("ch-1", "wrong")).encode()
    expect(SignatureError, 401, verifier.verify, "event", APP, {}, body)


def test_url_verification_without_a_token_is_trusted_only_when_encrypted(clock: FakeClock) -> None:
    only_key = CallbackVerifier(StaticKeys(CallbackKeys(APP, encrypt_key=EK)), clock=clock)
    _, body = signed_request(url_verification_payload("c", None), encrypt_key=EK)
    assert only_key.verify("event", APP, {}, body).challenge == "c"
    plain = json.dumps(url_verification_payload("c", None)).encode()
    expect(SignatureError, 401, only_key.verify, "event", APP, {}, plain)


def test_url_verification_needs_a_challenge_string(verifier: CallbackVerifier) -> None:
    body = json.dumps({"type": "url_verification", "token": VT, "challenge": 5}).encode()
    expect(MalformedCallbackError, 400, verifier.verify, "event", APP, {}, body)


# --- failures ----------------------------------------------------------------------------


def test_too_large_is_413(verifier: CallbackVerifier) -> None:
    expect(
        PayloadTooLargeError, 413, verifier.verify, "event", APP, {}, b"{" + b" " * 70_000 + b"}"
    )


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[1, 2]", b'"x"', b"\xff\xfe", b'{"encrypt": 5}']
)
def test_malformed_bodies_are_400(verifier: CallbackVerifier, body: bytes) -> None:
    expect(MalformedCallbackError, 400, verifier.verify, "event", APP, {}, body)


def test_undecryptable_is_400(verifier: CallbackVerifier, clock: FakeClock) -> None:
    headers, body = sign(card(), clock, encrypt_key="another-key")
    expect(DecryptError, 400, verifier.verify, "card", APP, headers, body)


def test_decrypted_garbage_is_400(verifier: CallbackVerifier) -> None:
    from lark_service.callbacks import crypto

    body = json.dumps({"encrypt": crypto.encrypt(EK, b"not json")}).encode()
    expect(MalformedCallbackError, 400, verifier.verify, "card", APP, {}, body)


def test_encrypted_body_for_an_app_without_encrypt_key_is_400(clock: FakeClock) -> None:
    verifier = CallbackVerifier(StaticKeys(CallbackKeys(APP, verification_token=VT)), clock=clock)
    headers, body = sign(card(), clock)
    expect(MalformedCallbackError, 400, verifier.verify, "card", APP, headers, body)


@pytest.mark.parametrize(
    "drop", ["X-Lark-Signature", "X-Lark-Request-Nonce", "X-Lark-Request-Timestamp"]
)
def test_missing_signature_headers_are_401(
    verifier: CallbackVerifier, clock: FakeClock, drop: str
) -> None:
    headers, body = sign(card(), clock)
    del headers[drop]
    expect(CallbackError, 401, verifier.verify, "card", APP, headers, body)


def test_wrong_signature_is_401(verifier: CallbackVerifier, clock: FakeClock) -> None:
    headers, body = sign(card(), clock)
    headers["X-Lark-Signature"] = "0" * 64
    expect(SignatureError, 401, verifier.verify, "card", APP, headers, body)


def test_a_tampered_body_is_401(verifier: CallbackVerifier, clock: FakeClock) -> None:
    headers, _ = sign(card(), clock)
    _, other_body = sign(card(), clock)
    expect(SignatureError, 401, verifier.verify, "card", APP, headers, other_body)


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_stale_or_future_timestamps_are_401(
    verifier: CallbackVerifier, clock: FakeClock, offset: int
) -> None:
    headers, body = signed_request(card(), encrypt_key=EK, timestamp=str(int(clock() + offset)))
    expect(ReplayError, 401, verifier.verify, "card", APP, headers, body)


def test_the_window_edge_is_accepted_and_moves_with_the_clock(
    verifier: CallbackVerifier, clock: FakeClock
) -> None:
    headers, body = sign(card(), clock)
    clock.advance(300)
    assert verifier.verify("card", APP, headers, body).event is not None
    clock.advance(1)
    expect(ReplayError, 401, verifier.verify, "card", APP, headers, body)


@pytest.mark.parametrize("ts", ["abc", "nan", "inf", ""])
def test_malformed_timestamps_are_401(verifier: CallbackVerifier, ts: str) -> None:
    headers, body = signed_request(card(), encrypt_key=EK, timestamp=ts)
    expect(CallbackError, 401, verifier.verify, "card", APP, headers, body)


def test_wrong_verification_token_in_payload_is_401(
    verifier: CallbackVerifier, clock: FakeClock
) -> None:
    headers, body = sign(card(verification_token="not-the-token"), clock)
    expect(SignatureError, 401, verifier.verify, "card", APP, headers, body)


def test_token_only_app_checks_the_token_and_a_present_timestamp(clock: FakeClock) -> None:
    verifier = CallbackVerifier(StaticKeys(CallbackKeys(APP, verification_token=VT)), clock=clock)
    good = json.dumps(card()).encode()
    assert verifier.verify("card", APP, {}, good).event is not None
    bad = json.dumps(card(verification_token="nope")).encode()
    expect(SignatureError, 401, verifier.verify, "card", APP, {}, bad)
    stale = {"X-Lark-Request-Timestamp": str(int(clock() - 1000))}
    expect(ReplayError, 401, verifier.verify, "card", APP, stale, good)


def test_unknown_app_is_404_and_app_without_keys_is_401(clock: FakeClock) -> None:
    verifier = CallbackVerifier(
        StaticKeys(CallbackKeys(APP), CallbackKeys("cli_other", encrypt_key=EK)), clock=clock
    )
    expect(UnknownAppError, 404, verifier.verify, "event", "cli_nobody", {}, b"{}")
    expect(SignatureError, 401, verifier.verify, "event", APP, {}, b"{}")
    expect(UnknownAppError, 404, verifier.verify, "event", None, {}, b"{}")  # no default app


class FailingKeys:
    """A key source whose database is down (or whose encryption key is wrong)."""

    def __init__(self, exc: Exception, *, default: bool = False) -> None:
        self.exc = exc
        self.default = default

    def get(self, app_id: str) -> CallbackKeys | None:
        raise self.exc

    def default_app_id(self) -> str | None:
        if self.default:
            raise self.exc
        return APP


@pytest.mark.parametrize(
    "exc",
    [
        ConfigError("the app registry at postgresql://u:pw@db/x failed (OperationalError: ...)"),
        EncryptionKeyError("the key does not decrypt the secrets"),
        OSError("disk gone"),
    ],
)
@pytest.mark.parametrize("default", [False, True])
def test_an_unreadable_key_source_is_503(clock: FakeClock, exc: Exception, default: bool) -> None:
    verifier = CallbackVerifier(FailingKeys(exc, default=default), clock=clock)
    for app_id in (APP, None):
        if app_id is not None and default:
            continue
        err = expect(KeysUnavailableError, 503, verifier.verify, "card", app_id, {}, b"{}")
        assert "pw" not in str(err) and type(exc).__name__ in err.msg
    # the body size is still checked first
    big = b"{" + b" " * (verifier.max_body + 1) + b"}"
    expect(PayloadTooLargeError, 413, verifier.verify, "card", APP, {}, big)


def test_a_callback_for_another_app_is_400(clock: FakeClock) -> None:
    verifier = CallbackVerifier(
        StaticKeys(CallbackKeys(APP, encrypt_key=EK), CallbackKeys("cli_b", encrypt_key=EK)),
        clock=clock,
    )
    payload = card_action_payload("cli_b", value={})
    headers, body = signed_request(payload, encrypt_key=EK, timestamp=str(int(clock())))
    expect(MalformedCallbackError, 400, verifier.verify, "card", APP, headers, body)


def test_wrong_field_types_are_400(verifier: CallbackVerifier, clock: FakeClock) -> None:
    payload = card()
    payload["event"]["action"] = {"value": "not a dict"}
    headers, body = sign(payload, clock)
    expect(MalformedCallbackError, 400, verifier.verify, "card", APP, headers, body)


# --- the legacy card callback (SHA-1 over the verification token) ------------------------


def test_legacy_card_callback(verifier: CallbackVerifier, clock: FakeClock) -> None:
    payload = legacy_card_payload(value={"k": "v"}, open_id="ou_l", open_message_id="om_l")
    headers, body = signed_request(
        payload, verification_token=VT, legacy=True, timestamp=str(int(clock()))
    )
    event = verifier.verify("card", APP, headers, body).event
    assert isinstance(event, LegacyCardActionEvent)
    assert event.action.value == {"k": "v"}
    assert event.operator.open_id == "ou_l" and event.context.open_message_id == "om_l"
    assert event.event_id.startswith("legacy-")
    # a SHA-256 (event-style) signature is not accepted for it
    bad = dict(headers)
    bad["X-Lark-Signature"] = sign(payload, clock)[0]["X-Lark-Signature"]
    expect(SignatureError, 401, verifier.verify, "card", APP, bad, body)
    headers_wrong, body2 = signed_request(
        payload, verification_token="other", legacy=True, timestamp=str(int(clock()))
    )
    expect(SignatureError, 401, verifier.verify, "card", APP, headers_wrong, body2)


def test_legacy_card_callback_needs_a_verification_token(clock: FakeClock) -> None:
    verifier = CallbackVerifier(StaticKeys(CallbackKeys(APP, encrypt_key=EK)), clock=clock)
    body = json.dumps(legacy_card_payload()).encode()
    expect(SignatureError, 401, verifier.verify, "card", APP, {}, body)

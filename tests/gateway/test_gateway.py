"""The gateway against the emulator: envelope, keys, scopes, apps, limits, idempotency,
validation, Feishu errors, every domain's generated operations, raw passthrough, token."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from lark_service.gateway.idempotency import feishu_uuid
from lark_service.gateway.keys import ApiKeyStore
from lark_service.testing import Emulator

if TYPE_CHECKING:
    from starlette.testclient import TestClient

from .conftest import APP_A, APP_B, APP_C, CHAT, FakeClock, bearer

ENVELOPE_KEYS = {"code", "msg", "request_id", "data", "error"}
ERROR_KEYS = {"type", "hint", "log_id", "missing_scopes", "field"}


def test_send_a_text_message_answers_the_envelope_and_echoes_the_request_id(
    gateway: TestClient, emu: Emulator, make_key: Callable[..., str]
) -> None:
    key = make_key(scopes=("messages:send",))
    answer = gateway.post(
        "/messages",
        json={"receive_id": CHAT, "content": "from Go"},
        headers={**bearer(key), "X-Request-Id": "billing-42"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["code"] == 0 and body["error"] is None and body["request_id"] == "billing-42"
    assert answer.headers["X-Request-Id"] == "billing-42"
    assert body["data"]["message_id"].startswith("om_")
    sent = emu.messages(app_id=APP_A[0])
    assert [m.content for m in sent] == [{"text": "from Go"}]


def test_a_bad_request_id_is_replaced(gateway: TestClient, make_key: Callable[..., str]) -> None:
    answer = gateway.get("/chats", headers={**bearer(make_key()), "X-Request-Id": "bad id\t!"})
    assert answer.headers["X-Request-Id"] != "bad id\t!"
    assert answer.json()["request_id"] == answer.headers["X-Request-Id"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwdw=="},
        bearer("nope"),
        bearer("lsk_0123456789ab_" + "A" * 43),
    ],
)
def test_no_or_unknown_key_is_401_with_www_authenticate(
    gateway: TestClient, emu: Emulator, headers: dict[str, str]
) -> None:
    answer = gateway.post("/messages", json={"receive_id": CHAT, "content": "x"}, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    body = answer.json()
    assert body["error"]["type"] == "AuthenticationError" and body["data"] is None
    assert emu.messages() == []


def test_a_tampered_key_with_a_real_prefix_is_401(
    gateway: TestClient, make_key: Callable[..., str]
) -> None:
    key = make_key()
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert gateway.get("/chats", headers=bearer(forged)).status_code == 401
    assert gateway.get("/chats", headers=bearer(key)).status_code == 200


def test_revoked_and_expired_keys_are_401(
    gateway: TestClient, keys: ApiKeyStore, clock: FakeClock, make_key: Callable[..., str]
) -> None:
    revoked = make_key(name="old")
    expiring = make_key(name="temp", expires_at=clock.now + 60)
    assert gateway.get("/chats", headers=bearer(revoked)).status_code == 200
    keys.revoke("old")
    answer = gateway.get("/chats", headers=bearer(revoked))
    assert answer.status_code == 401 and "revoked" in answer.json()["msg"]
    assert gateway.get("/chats", headers=bearer(expiring)).status_code == 200
    clock.advance(61)
    answer = gateway.get("/chats", headers=bearer(expiring))
    assert answer.status_code == 401 and "expired" in answer.json()["msg"]


def test_the_key_is_stored_only_as_a_hash(keys: ApiKeyStore) -> None:
    from sqlalchemy import select

    from lark_service.storage.tables import api_keys

    made = keys.create("billing", apps=["cli_a1"], scopes=["messages:send"])
    with keys.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(api_keys))]
    assert len(rows) == 1
    assert made.key not in repr(rows)
    assert made.key[len("lsk_") + 13 :] not in repr(rows)
    assert rows[0]["key_hash"] != made.key and len(rows[0]["key_hash"]) == 64


def test_a_missing_scope_is_403_naming_it(
    gateway: TestClient, emu: Emulator, make_key: Callable[..., str]
) -> None:
    key = make_key(scopes=("contact:read",))
    answer = gateway.post(
        "/messages", json={"receive_id": CHAT, "content": "x"}, headers=bearer(key)
    )
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["type"] == "ForbiddenError" and error["missing_scopes"] == ["messages:send"]
    assert emu.messages() == []


def test_an_app_outside_the_key_is_403_and_several_apps_need_a_name(
    gateway: TestClient, emu: Emulator, make_key: Callable[..., str]
) -> None:
    key = make_key(apps=(APP_A[0], APP_B[0]))
    outside = gateway.post(
        "/messages",
        json={"receive_id": CHAT, "content": "x", "app_id": APP_C[0]},
        headers=bearer(key),
    )
    assert outside.status_code == 403 and outside.json()["error"]["type"] == "ForbiddenError"
    unnamed = gateway.post(
        "/messages", json={"receive_id": CHAT, "content": "x"}, headers=bearer(key)
    )
    assert unnamed.status_code == 400 and unnamed.json()["error"]["field"] == "app_id"
    by_query = gateway.post(
        f"/messages?app_id={APP_B[0]}",
        json={"receive_id": CHAT, "content": "b"},
        headers=bearer(key),
    )
    assert by_query.status_code == 200, by_query.text
    assert [m.content["text"] for m in emu.messages(app_id=APP_B[0])] == ["b"]
    assert emu.messages(app_id=APP_C[0]) == []


def test_an_invalid_body_is_422_naming_the_field_and_nothing_is_sent(
    gateway: TestClient, emu: Emulator, make_key: Callable[..., str]
) -> None:
    key = make_key()
    answer = gateway.post("/messages", json={"content": "no receiver"}, headers=bearer(key))
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"]["field"] == "receive_id" and "receive_id" in body["msg"]
    extra = gateway.post(
        "/messages", json={"receive_id": CHAT, "content": "x", "colour": "red"}, headers=bearer(key)
    )
    assert extra.status_code == 422 and extra.json()["error"]["field"] == "colour"
    local = gateway.post(
        "/messages",
        json={"receive_id": CHAT, "msg_type": "image", "content": "/etc/passwd"},
        headers=bearer(key),
    )
    assert local.status_code == 422
    assert emu.messages() == []
    assert [r for r in emu.requests() if "/auth/" not in r.path] == []


def test_authentication_comes_before_validation(gateway: TestClient) -> None:
    assert gateway.post("/messages", json={}).status_code == 401


def test_feishu_errors_keep_their_class_status_and_log_id(
    gateway: TestClient, emu: Emulator, make_key: Callable[..., str]
) -> None:
    emu.add_chat("oc_nobot", "No bot", bot_app_ids=[])
    key = make_key()
    answer = gateway.post(
        "/messages", json={"receive_id": "oc_nobot", "content": "x"}, headers=bearer(key)
    )
    body = answer.json()
    assert answer.status_code in (400, 403, 404), body
    assert body["code"] not in (0, None) and body["error"]["type"].endswith("Error")
    assert body["error"]["log_id"]
    assert "Traceback" not in answer.text


def test_rate_limit_answers_429_with_headers_then_refills(
    gateway: TestClient, clock: FakeClock, make_key: Callable[..., str]
) -> None:
    key = make_key(rate=2.0, burst=3)
    answers = [gateway.get("/chats", headers=bearer(key)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["RateLimit-Limit"] == "3"
    assert answers[0].headers["RateLimit-Remaining"] == "2"
    assert answers[2].headers["RateLimit-Remaining"] == "0"
    refused = answers[3]
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["error"]["type"] == "KeyRateLimitedError"
    clock.advance(0.5)  # one token at 2/s
    assert gateway.get("/chats", headers=bearer(key)).status_code == 200
    assert gateway.get("/chats", headers=bearer(key)).status_code == 429
    other = make_key(name="other", rate=2.0, burst=1)  # keys do not share buckets
    assert gateway.get("/chats", headers=bearer(other)).status_code == 200


def test_idempotency_key_replays_the_first_answer_and_is_feishus_uuid(
    gateway: TestClient, emu: Emulator, keys: ApiKeyStore, make_key: Callable[..., str]
) -> None:
    key = make_key()
    headers = {**bearer(key), "Idempotency-Key": "invoice-1001"}
    payload = {"receive_id": CHAT, "content": "Invoice 1001 paid"}
    first = gateway.post("/messages", json=payload, headers=headers)
    again = gateway.post("/messages", json=payload, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    sent = emu.messages()
    assert len(sent) == 1
    key_id = keys.list_keys()[0].id
    assert sent[0].uuid == feishu_uuid(key_id, "invoice-1001")
    other = gateway.post("/messages", json={**payload, "content": "changed"}, headers=headers)
    assert other.status_code == 409 and other.json()["error"]["type"] == "IdempotencyConflictError"
    assert len(emu.messages()) == 1


def test_idempotency_answers_expire_after_24_hours(
    gateway: TestClient, emu: Emulator, clock: FakeClock, make_key: Callable[..., str]
) -> None:
    headers = {**bearer(make_key()), "Idempotency-Key": "k1"}
    payload = {"receive_id": CHAT, "content": "hello"}
    gateway.post("/messages", json=payload, headers=headers)
    clock.advance(24 * 3600 + 1)
    answer = gateway.post("/messages", json=payload, headers=headers)
    assert answer.status_code == 200 and "Idempotent-Replayed" not in answer.headers


def test_failed_answers_are_not_kept_so_the_caller_can_retry(
    gateway: TestClient, emu: Emulator, make_key: Callable[..., str]
) -> None:
    headers = {**bearer(make_key()), "Idempotency-Key": "k2"}
    payload = {"receive_id": CHAT, "content": "x"}
    emu.inject_fault("/open-apis/im/v1/messages", "status", status=500, count=None)
    first = gateway.post("/messages", json=payload, headers=headers)
    assert first.status_code == 502 and first.json()["error"]["type"] == "ServerError"
    emu.clear_faults()
    again = gateway.post("/messages", json=payload, headers=headers)
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    assert len(emu.messages()) == 1


def test_reply_edit_recall_and_read(
    gateway: TestClient, emu: Emulator, make_key: Callable[..., str]
) -> None:
    key = bearer(make_key())
    sent = gateway.post("/messages", json={"receive_id": CHAT, "content": "v1"}, headers=key).json()
    message_id = sent["data"]["message_id"]
    reply = gateway.post(f"/messages/{message_id}/reply", json={"content": "re"}, headers=key)
    assert reply.status_code == 200, reply.text
    edited = gateway.put(f"/messages/{message_id}", json={"text": "v2"}, headers=key)
    assert edited.status_code == 200, edited.text
    read = gateway.get(f"/messages/{message_id}", headers=key)
    assert read.status_code == 200 and "v2" in str(read.json()["data"])
    assert gateway.delete(f"/messages/{message_id}", headers=key).status_code == 200
    again = gateway.delete(f"/messages/{message_id}", headers=key)
    assert again.status_code == 404 and again.json()["error"]["type"] == "NotFoundError"


def test_batch_reports_each_receiver(
    gateway: TestClient, emu: Emulator, make_key: Callable[..., str]
) -> None:
    answer = gateway.post(
        "/messages/batch",
        json={"receive_ids": [CHAT, "alice@example.com", "oc_missing"], "content": "hi"},
        headers=bearer(make_key()),
    )
    assert answer.status_code == 200, answer.text
    items = answer.json()["data"]["items"]
    assert [i["receive_id"] for i in items] == [CHAT, "alice@example.com", "oc_missing"]
    assert items[0]["error"] is None and items[2]["error"]["type"].endswith("Error")


def test_upload_an_image_then_send_it(
    gateway: TestClient, emu: Emulator, make_key: Callable[..., str]
) -> None:
    from ..messaging.conftest import PNG

    key = bearer(make_key())
    up = gateway.post("/images", files={"file": ("a.png", PNG, "image/png")}, headers=key)
    assert up.status_code == 200, up.text
    image_key = up.json()["data"]["image_key"]
    sent = gateway.post(
        "/messages",
        json={"receive_id": CHAT, "msg_type": "image", "content": {"image_key": image_key}},
        headers=key,
    )
    assert sent.status_code == 200, sent.text
    assert emu.messages(msg_type="image")[0].content == {"image_key": image_key}
    empty = gateway.post("/files", files={"file": ("e.pdf", b"", "application/pdf")}, headers=key)
    assert empty.status_code == 400 and empty.json()["error"]["field"] == "file"


def test_cards_contact_and_chats(
    gateway: TestClient, emu: Emulator, make_key: Callable[..., str]
) -> None:
    key = bearer(make_key())
    card = {"elements": [{"tag": "markdown", "content": "**hi**"}]}
    sent = gateway.post("/cards", json={"receive_id": CHAT, "card": card}, headers=key)
    assert sent.status_code == 200, sent.text
    assert emu.messages(msg_type="interactive")
    user = gateway.get("/contact/users?email=alice@example.com", headers=key)
    assert user.status_code == 200 and user.json()["data"]["name"] == "Alice"
    nobody = gateway.get("/contact/users?email=nobody@example.com", headers=key)
    assert nobody.status_code == 404
    both = gateway.get("/contact/users?email=a@b.c&mobile=123", headers=key)
    assert both.status_code == 422
    chat = gateway.get("/chats?name=Gateway team", headers=key)
    assert chat.status_code == 200 and chat.json()["data"]["chat_id"] == CHAT
    listed = gateway.get("/chats?limit=5", headers=key)
    assert CHAT in [c["chat_id"] for c in listed.json()["data"]]


def test_docs_and_bitable(gateway: TestClient, emu: Emulator, make_key: Callable[..., str]) -> None:
    key = bearer(make_key())
    doc = gateway.post("/docs", json={"title": "Report", "content": "# Hi\n\ntext"}, headers=key)
    assert doc.status_code == 200, doc.text
    document_id = doc.json()["data"]["document_id"]
    more = gateway.post(f"/docs/{document_id}/markdown", json={"markdown": "- one"}, headers=key)
    assert more.status_code == 200, more.text
    text = gateway.get(f"/docs/{document_id}/markdown", headers=key)
    assert "one" in text.json()["data"]
    local = gateway.post(
        f"/docs/{document_id}/markdown", json={"markdown": "![x](/etc/hosts)"}, headers=key
    )
    assert local.status_code == 422 and local.json()["error"]["field"] == "markdown"
    missing = gateway.get("/bitable/bascnX/tables/tblX/records/recX", headers=key)
    assert missing.status_code in (400, 404) and missing.json()["error"]["type"].endswith("Error")


def test_raw_passthrough_and_token_need_their_own_scopes(
    gateway: TestClient, emu: Emulator, make_key: Callable[..., str]
) -> None:
    everything = bearer(make_key(name="all"))
    assert gateway.get("/raw/open-apis/im/v1/chats", headers=everything).status_code == 403
    assert gateway.get(f"/apps/{APP_A[0]}/token", headers=everything).status_code == 403
    raw = bearer(make_key(name="raw", scopes=("raw:call",)))
    answer = gateway.get("/raw/open-apis/im/v1/chats?page_size=5", headers=raw)
    assert answer.status_code == 200, answer.text
    assert CHAT in str(answer.json()["data"])
    posted = gateway.post(
        "/raw/open-apis/im/v1/messages?receive_id_type=chat_id",
        json={"receive_id": CHAT, "msg_type": "text", "content": '{"text":"raw"}'},
        headers=raw,
    )
    assert posted.status_code == 200, posted.text
    assert [m.content["text"] for m in emu.messages()] == ["raw"]
    tokens = bearer(make_key(name="tok", scopes=("apps:token",)))
    token = gateway.get(f"/apps/{APP_A[0]}/token", headers=tokens)
    assert token.status_code == 200, token.text
    value = token.json()["data"]["access_token"]
    assert value in {t.value for t in emu.state.tokens(APP_A[0])}
    assert gateway.get(f"/apps/{APP_B[0]}/token", headers=tokens).status_code == 403


def test_unknown_route_and_method_answer_the_envelope(
    gateway: TestClient, make_key: Callable[..., str]
) -> None:
    missing = gateway.get("/nothing-here", headers=bearer(make_key()))
    assert missing.status_code == 404 and set(missing.json()) == ENVELOPE_KEYS
    wrong = gateway.patch("/chats", headers=bearer(make_key()))
    assert wrong.status_code == 405 and wrong.json()["error"]["type"] == "MethodNotAllowed"


def test_each_request_emits_one_gateway_event_without_the_key(
    gateway: TestClient, emu: Emulator, make_key: Callable[..., str]
) -> None:
    from lark_service import instrumentation

    key = make_key(name="billing", scopes=("messages:send",))
    with instrumentation.EventRecorder(prefix="gateway.") as events:
        gateway.post("/messages", json={"receive_id": CHAT, "content": "x"}, headers=bearer(key))
        gateway.post("/messages", json={}, headers=bearer(key))
        gateway.get("/chats", headers=bearer(key))
    ok, invalid, denied = events.named("gateway.request")
    assert (ok["operation"], ok["status"], ok["outcome"], ok["key"]) == (
        "post_messages",
        200,
        "ok",
        "billing",
    )
    assert ok.app_id == APP_A[0] and ok["duration"] > 0 and ok["replayed"] is False
    assert (invalid["status"], invalid["outcome"]) == (422, "RequestValidationError")
    assert (denied["status"], denied["outcome"]) == (403, "ForbiddenError")
    assert key not in repr([e.fields for e in events.named("gateway.request")])


def test_an_upload_over_the_operations_limit_is_refused_unread(
    gateway: TestClient, make_key: Callable[..., str]
) -> None:
    big = b"%PDF-1.7\n" + b"0" * (30 * 1024 * 1024)
    answer = gateway.post(
        "/files", files={"file": ("big.pdf", big, "application/pdf")}, headers=bearer(make_key())
    )
    assert answer.status_code == 400 and answer.json()["error"]["field"] == "file"
    assert "at most" in answer.json()["msg"]


def test_a_failing_state_database_is_503_not_a_crash(
    gateway: TestClient, emu: Emulator, keys: ApiKeyStore, make_key: Callable[..., str]
) -> None:
    from sqlalchemy.exc import OperationalError

    key = make_key()

    def broken(*args: object) -> None:
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    state = gateway.app.state.gateway  # type: ignore[attr-defined]
    state.idempotency.begin = broken
    answer = gateway.post(
        "/messages",
        json={"receive_id": CHAT, "content": "x"},
        headers={**bearer(key), "Idempotency-Key": "db-down"},
    )
    assert answer.status_code == 503
    assert answer.json()["error"]["type"] == "StorageUnavailableError"
    assert emu.messages() == []  # nothing sent without the idempotency check
    keys._cache.clear()
    keys._load = broken  # type: ignore[method-assign]
    assert gateway.get("/chats", headers=bearer(key)).status_code == 503

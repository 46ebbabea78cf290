"""client.auth against the emulator: consent links (state, PKCE, 10-minute single-use
sessions), the code exchange, user tokens refreshed with rotation, dead and revoked
authorizations, the device flow, cards and links."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from lark_service import LarkClient, errors
from lark_service.auth import AuthorizationURL, accounts_url, code_challenge
from lark_service.testing import Emulator
from lark_service.testing.emulator.oauth_state import oauth
from lark_service.testing.emulator.routes_oauth import revocation_payload

from .conftest import APP_ID, REDIRECT, consent, open_id


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _authorize(client: LarkClient, emu: Emulator, *, hint: bool = True) -> str:
    user = open_id(emu)
    url = client.auth.authorization_url(
        user if hint else None, scopes=["apaas:read"], redirect_uri=REDIRECT
    )
    answer = consent(url)
    client.auth.complete_authorization(answer["code"], answer["state"])
    return user


def test_accounts_host_defaults() -> None:
    assert accounts_url("https://open.feishu.cn") == "https://accounts.feishu.cn"
    assert accounts_url("https://open.larksuite.com") == "https://accounts.larksuite.com"
    assert accounts_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert accounts_url("https://open.feishu.cn", "https://acc.example/") == "https://acc.example"


def test_authorization_url_has_state_pkce_and_offline_access(
    client: LarkClient, emu: Emulator
) -> None:
    url = client.auth.authorization_url(scopes="docx:document", redirect_uri=REDIRECT)
    assert isinstance(url, AuthorizationURL) and url.url == str(url)
    assert url.startswith(emu.url + "/open-apis/authen/v1/authorize?")
    q = _query(url)
    assert q["client_id"] == APP_ID and q["redirect_uri"] == REDIRECT
    assert q["scope"].split() == ["offline_access", "docx:document"]
    assert q["state"] == url.state and len(url.state) >= 32
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert url.expires_at - client._pipeline.pool.clock() == pytest.approx(600, abs=5)


def test_no_redirect_uri_is_a_validation_error(client: LarkClient) -> None:
    with pytest.raises(errors.ValidationError, match="LARK_OAUTH_REDIRECT_URL"):
        client.auth.authorization_url()


def test_completed_authorization_stores_the_hinted_user(client: LarkClient, emu: Emulator) -> None:
    user = _authorize(client, emu)
    status = client.auth.status(user)
    assert status.authorized and status.refresh_expires_at is not None
    assert set(status.scopes) == {"offline_access", "apaas:read"}
    info = client.as_user(user).auth.user_info()
    assert info.open_id == user and info.name == "Alice"
    assert client.auth.get_user_access_token(user).startswith("u-")


def test_without_a_hint_the_user_comes_from_user_info(client: LarkClient, emu: Emulator) -> None:
    url = client.auth.authorization_url(redirect_uri=REDIRECT)
    answer = consent(url, user_id="bob")
    done = client.auth.complete_authorization(answer["code"], answer["state"])
    assert done.open_id == open_id(emu, "bob")
    assert client.auth.status(done.open_id).authorized


def test_a_session_works_once(client: LarkClient, emu: Emulator) -> None:
    url = client.auth.authorization_url(open_id(emu), redirect_uri=REDIRECT)
    answer = consent(url)
    client.auth.complete_authorization(answer["code"], answer["state"])
    with pytest.raises(errors.AuthSessionExpiredError, match="already used") as caught:
        client.auth.complete_authorization(answer["code"], answer["state"])
    assert "again" in (caught.value.hint or "")
    with pytest.raises(errors.AuthSessionExpiredError, match="unknown"):
        client.auth.complete_authorization(answer["code"], "no-such-state")


def test_a_session_expires_after_10_minutes(client: LarkClient, emu: Emulator) -> None:
    url = client.auth.authorization_url(open_id(emu), redirect_uri=REDIRECT)
    answer = consent(url)
    pool = client._pipeline.pool
    now = pool.clock()
    pool.clock = lambda: now + 601
    with pytest.raises(errors.AuthSessionExpiredError, match="expired"):
        client.auth.complete_authorization(answer["code"], answer["state"])


def test_a_code_lives_5_minutes_on_the_emulator(client: LarkClient, emu: Emulator) -> None:
    url = client.auth.authorization_url(open_id(emu), redirect_uri=REDIRECT)
    answer = consent(url)
    emu.advance_clock(301)
    with pytest.raises(errors.TokenInvalidError, match="invalid_grant"):
        client.auth.complete_authorization(answer["code"], answer["state"])


def test_denied_consent_redirects_with_access_denied(client: LarkClient) -> None:
    url = client.auth.authorization_url(redirect_uri=REDIRECT)
    answer = consent(url, decision="deny")
    assert answer == {"error": "access_denied", "state": url.state}


def test_a_due_token_is_refreshed_and_rotated(client: LarkClient, emu: Emulator) -> None:
    user = _authorize(client, emu)
    pool = client._pipeline.pool
    first = pool._memory[next(k for k in pool._memory if k.subject == user)]
    now = pool.clock()
    pool.clock = lambda: now + 7200  # expired locally: the next call must refresh
    assert client.as_user(user).auth.user_info().open_id == user
    second = pool._memory[first.key]
    assert second.value != first.value and second.refresh_token != first.refresh_token
    assert oauth(emu.state).refresh_requests == 1
    stored = pool.store.load(first.key)
    assert stored is not None and stored.refresh_token == second.refresh_token
    # the old refresh token is spent: Feishu (and the emulator) refuse it
    answer = httpx.post(
        emu.url + "/open-apis/authen/v2/oauth/token",
        json={
            "grant_type": "refresh_token",
            "client_id": APP_ID,
            "client_secret": "auth-test-secret",
            "refresh_token": first.refresh_token,
        },
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_a_dead_refresh_token_requires_authorization_with_a_fresh_link(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LARK_OAUTH_REDIRECT_URL", REDIRECT)
    with LarkClient(APP_ID, "auth-test-secret", base_url=emu.url) as client:
        user = _authorize(client, emu)
        oauth(emu.state).revoke_user(APP_ID, "alice")  # Feishu-side: the refresh token died
        pool = client._pipeline.pool
        now = pool.clock()
        pool.clock = lambda: now + 7200
        with pytest.raises(errors.AuthorizationRequiredError) as caught:
            client.as_user(user).auth.user_info()
        link = caught.value.authorization_url
        assert link and _query(link)["redirect_uri"] == REDIRECT
        assert isinstance(caught.value, errors.UserTokenMissingError)
        assert not client.auth.status(user).authorized
        # the fresh link works: the user authorizes again
        answer = consent(link)
        client.auth.complete_authorization(answer["code"], answer["state"])
        assert client.auth.status(user).authorized


def test_a_user_who_never_authorized(client: LarkClient, emu: Emulator) -> None:
    with pytest.raises(errors.AuthorizationRequiredError) as caught:
        client.as_user(open_id(emu)).auth.user_info()
    assert caught.value.authorization_url is None  # no redirect URI configured
    assert "send_auth_card" in (caught.value.hint or "")


def test_a_rejected_user_token_is_refreshed_once(client: LarkClient, emu: Emulator) -> None:
    user = _authorize(client, emu)
    emu.revoke_tokens(kind="user")  # the access token only; the refresh token lives
    assert client.as_user(user).auth.user_info().open_id == user
    assert oauth(emu.state).refresh_requests == 1


def test_the_revocation_event_ends_the_authorization(client: LarkClient, emu: Emulator) -> None:
    user = _authorize(client, emu)
    payload = revocation_payload(emu.state, APP_ID, "alice")
    assert client.auth.handle_revocation(payload) is True
    assert not client.auth.status(user).authorized
    with pytest.raises(errors.AuthorizationRequiredError):
        client.as_user(user).auth.user_info()


def test_revoke_forgets_the_tokens(client: LarkClient, emu: Emulator) -> None:
    user = _authorize(client, emu)
    assert client.auth.revoke(user) is True
    assert client.auth.status(user).authorized is False
    assert client.auth.revoke(user) is False


def test_device_flow(client: LarkClient, emu: Emulator, sleeps: list[float]) -> None:
    device = client.auth.start_device_authorization(["apaas:read"])
    assert device.verification_uri_complete and device.user_code in device.verification_uri_complete
    httpx.post(f"{emu.url}/_emulator/oauth/device/{device.user_code}", json={"user_id": "bob"})
    done = client.auth.poll_device_authorization(device)
    assert done.open_id == open_id(emu, "bob") and done.method == "device"
    assert client.auth.status(done.open_id).authorized


def test_device_flow_pending_then_approved(
    client: LarkClient, emu: Emulator, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    device = client.auth.start_device_authorization()
    from lark_service import _concurrency

    def approve_on_first_wait(seconds: float) -> None:
        sleeps.append(seconds)
        url = f"{emu.url}/_emulator/oauth/device/{device.user_code}"
        httpx.post(url, json={"user_id": "alice"})

    monkeypatch.setattr(_concurrency, "sleep", approve_on_first_wait)
    done = client.auth.poll_device_authorization(device)
    assert done.open_id == open_id(emu) and sleeps == [5.0]


def test_send_auth_card_and_link(client: LarkClient, emu: Emulator) -> None:
    user = open_id(emu)
    client.auth.send_auth_card(user, ["apaas:read"], "To read your tables", redirect_uri=REDIRECT)
    client.auth.send_auth_link(user, reason="Please", redirect_uri=REDIRECT)
    card, text = emu.messages()[-2:]
    content = card.content if isinstance(card.content, dict) else json.loads(card.content_raw)
    button = content["elements"][1]["actions"][0]
    assert _query(button["url"])["scope"] == "offline_access apaas:read"
    assert "To read your tables" in content["elements"][0]["text"]["content"]
    body = text.content if isinstance(text.content, dict) else json.loads(text.content_raw)
    assert emu.url + "/open-apis/authen/v1/authorize?" in body["text"]
    answer = consent(button["url"])
    assert client.auth.complete_authorization(answer["code"], answer["state"]).method == "card"


def test_pkce_challenge_is_s256() -> None:
    # RFC 7636 appendix B
    assert (
        code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )

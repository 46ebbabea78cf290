"""Tokens through the public client and the emulator, persisted in the SQLite state database."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from lark_service import AsyncLarkClient, LarkClient, errors
from lark_service._app import secret_fingerprint
from lark_service.apps import AppRegistry
from lark_service.config import Settings
from lark_service.credentials import LockHandle, SqlTokenStore, TokenKey
from lark_service.storage import dispose_all, get_engine, tokens
from lark_service.storage.crypto import SecretBox, generate_key
from lark_service.testing import Emulator

APP, SECRET = "cli_cred", "cred-secret-0123456789"
CHAT = "oc_cred"
TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
SEND_PATH = "/open-apis/im/v1/messages"


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    dispose_all()


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    lark_emulator.add_app(APP, SECRET)
    lark_emulator.add_chat(CHAT, "Credentials")
    return lark_emulator


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", config_encryption_key=generate_key())


def client_for(emu: Emulator, settings: Settings, **kw: object) -> LarkClient:
    options: dict[str, object] = {"base_url": emu.url, "settings": settings, "clock": emu.now}
    options.update(kw)
    app_id = str(options.pop("app_id", APP))
    secret = options.pop("app_secret", SECRET)
    return LarkClient(app_id, secret, **options)  # type: ignore[arg-type]


def send(client: LarkClient, text: str = "hi") -> str:
    return client.messaging.send_text_message(CHAT, text).message_id


class GatedStore(SqlTokenStore):
    """The SQLite store, whose cross-process lock waits for ``gate`` once armed."""

    gate: threading.Event | None = None

    def lock(self, key: TokenKey, timeout: float) -> LockHandle:
        if self.gate is not None:
            assert self.gate.wait(10), "nobody opened the gate"
        return super().lock(key, timeout)


def test_a_new_client_reuses_the_persisted_token(emu: Emulator, settings: Settings) -> None:
    with client_for(emu, settings) as first:
        send(first)
    with client_for(emu, settings) as second:  # a fresh pool: memory is empty
        send(second)
    assert emu.token_fetches(APP) == 1
    assert (settings.home / "state.db").exists()


def test_proactive_refresh_never_makes_a_caller_wait(emu: Emulator, settings: Settings) -> None:
    store = GatedStore(
        settings.resolved_database_url,
        box_for(settings),
        home=settings.home,
    )
    with client_for(emu, settings, token_store=store) as client:
        send(client)
        lifetime = client.credentials.store.load(_key(emu)).lifetime  # type: ignore[union-attr]
        emu.advance_clock(lifetime * 0.92)  # client clock = emulator clock
        store.gate = threading.Event()  # any fetch now blocks until the gate opens
        for n in range(20):
            send(client, f"call {n}")  # would hang if a caller waited on the refresh
        assert emu.token_fetches(APP) == 1
        assert len(emu.messages()) == 21
        store.gate.set()
        client.credentials.background.wait()
        assert emu.token_fetches(APP) == 2
        send(client)
        send(client)
    assert emu.token_fetches(APP) == 2
    stored = store.load(_key(emu))
    assert stored is not None and stored.remaining(emu.now()) > lifetime * 0.5


def test_async_client_refreshes_in_the_background_too(emu: Emulator, settings: Settings) -> None:
    async def main() -> None:
        async with AsyncLarkClient(
            APP, SECRET, base_url=emu.url, settings=settings, clock=emu.now
        ) as client:
            await client.messaging.send_text_message(CHAT, "one")
            emu.advance_clock(7200 * 0.95)
            await client.messaging.send_text_message(CHAT, "two")
            await client.credentials.background.wait()
            await client.messaging.send_text_message(CHAT, "three")

    asyncio.run(main())
    assert emu.token_fetches(APP) == 2
    assert len(emu.messages()) == 3


def test_revoked_token_is_evicted_and_refetched_once(emu: Emulator, settings: Settings) -> None:
    with client_for(emu, settings) as client:
        send(client)
        old = client.credentials.store.load(_key(emu))
        assert emu.revoke_tokens(APP) >= 1
        send(client)  # 99991663 -> evict exactly that token -> fetch -> retry
    assert emu.token_fetches(APP) == 2
    with client_for(emu, settings) as other:
        send(other)  # reads the new token from the store
    assert emu.token_fetches(APP) == 2
    new = other.credentials.store.load(_key(emu))
    assert old is not None and new is not None and new.value != old.value


def test_a_second_token_invalid_answer_is_final(emu: Emulator, settings: Settings) -> None:
    emu.inject_fault(SEND_PATH, "code", code=99991663, http_status=400, count=2)
    with client_for(emu, settings) as client, pytest.raises(errors.TokenInvalidError):
        send(client)
    assert emu.token_fetches(APP) == 2  # the first token, then exactly one refetch
    assert len(emu.requests(path=SEND_PATH)) == 2
    assert emu.messages() == []


def test_wrong_secret_is_invalid_credentials_without_retries(
    emu: Emulator, settings: Settings
) -> None:
    with client_for(emu, settings) as right:
        send(right)  # a valid token is now stored for the right secret
    with (
        client_for(emu, settings, app_secret="wrong-secret") as wrong,
        pytest.raises(errors.InvalidCredentialsError),
    ):
        send(wrong)
    assert len(emu.requests(path=TOKEN_PATH)) == 2  # one for each secret, no retry
    assert len(emu.messages()) == 1


def test_disabled_registry_app_fails_without_a_network_call(
    emu: Emulator, settings: Settings
) -> None:
    registry = AppRegistry.from_settings(settings)
    registry.add_app(APP, SECRET, domain=emu.url)
    registry.disable_app(APP)
    with LarkClient(APP, settings=settings) as client, pytest.raises(errors.AppDisabledError):
        send(client)
    assert emu.requests() == []


def test_registry_app_uses_the_persisted_store_and_its_domain(
    emu: Emulator, settings: Settings
) -> None:
    AppRegistry.from_settings(settings).add_app(APP, SECRET, domain=emu.url)
    with LarkClient(settings=settings) as client:  # the only active app
        send(client)
    with LarkClient(settings=settings) as client:
        send(client)
    assert emu.token_fetches(APP) == 1


def test_env_app_uses_the_persisted_store(
    emu: Emulator, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LARK_APP_ID", APP)
    monkeypatch.setenv("LARK_APP_SECRET", SECRET)
    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    env_settings = Settings(
        home=settings.home, config_encryption_key=settings.config_encryption_key
    )
    for _ in range(2):
        with LarkClient(settings=env_settings) as client:
            send(client)
    assert emu.token_fetches(APP) == 1
    store = SqlTokenStore(env_settings.resolved_database_url, box_for(settings))
    (row,) = store.records()
    assert (row.app_id, row.kind) == (APP, "tenant")


def test_corrupted_row_is_dropped_and_refetched(
    emu: Emulator, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with client_for(emu, settings) as client:
        send(client)
    with get_engine(settings.resolved_database_url).begin() as conn:
        conn.execute(update(tokens).values(value_enc="gAAAAA-this-is-not-a-fernet-token"))
    with caplog.at_level(logging.ERROR, "lark_service"), client_for(emu, settings) as client:
        send(client)
    assert emu.token_fetches(APP) == 2
    assert "unreadable" in caplog.text


def test_unreachable_store_keeps_calls_working(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    broken = Settings(
        home=tmp_path / "home",
        config_encryption_key=generate_key(),
        database_url=f"sqlite:///{blocker / 'state.db'}",
    )
    with caplog.at_level(logging.ERROR, "lark_service"), client_for(emu, broken) as client:
        for _ in range(3):
            send(client)
    assert len(emu.messages()) == 3
    assert emu.token_fetches(APP) == 1
    assert any(
        r.levelno == logging.ERROR and "token store" in r.getMessage() for r in caplog.records
    )


def test_no_secret_or_token_in_logs_or_database_files(
    emu: Emulator, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    encrypt_key, verification = "encrypt-key-VALUE-4242", "verification-VALUE-4343"
    caplog.set_level(logging.DEBUG)
    registry = AppRegistry.from_settings(settings)
    registry.add_app(
        APP,
        SECRET,
        encrypt_key=encrypt_key,
        verification_token=verification,
        domain=emu.url,
    )
    registry.update_app(APP, name="renamed", app_secret=SECRET + "-v2")
    emu.add_app(APP, SECRET + "-v2")
    with LarkClient(APP, settings=settings, clock=emu.now) as client:
        send(client)
        emu.revoke_tokens(APP)
        send(client)  # eviction + refetch
        emu.advance_clock(7200 * 0.95)
        send(client)
        client.credentials.background.wait()
        send(client)
    with client_for(emu, settings, app_secret="a-wrong-secret-999") as wrong:
        with pytest.raises(errors.InvalidCredentialsError):
            send(wrong)
    dispose_all()  # checkpoint and close the SQLite files

    issued = [t.value for t in emu.tokens(APP)]
    assert len(issued) >= 3
    key_text = settings.config_encryption_key.get_secret_value()  # type: ignore[union-attr]
    secrets = [SECRET, SECRET + "-v2", "a-wrong-secret-999", encrypt_key, verification, key_text]
    log_text = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    files = [p for p in settings.home.rglob("*") if p.is_file() and p.name != ".env"]
    assert any(p.name == "state.db" for p in files) and any(p.name == "config.db" for p in files)
    for value in [*secrets, *issued]:
        assert value not in log_text, "a secret or token reached a log record"
        for path in files:
            assert value.encode() not in path.read_bytes(), f"plain secret in {path.name}"


def _key(emu: Emulator) -> TokenKey:
    return TokenKey(APP, secret_fingerprint(SECRET, emu.url), "tenant")


def box_for(settings: Settings) -> SecretBox:
    return SecretBox.from_settings(settings)


def test_making_a_client_opens_no_database(tmp_path: Path) -> None:
    """Construction stays cheap: no SQLAlchemy import, no file, until a token is needed."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from lark_service import LarkClient, Settings\n"
        "settings = Settings(home=Path(sys.argv[1]), config_encryption_key=sys.argv[2])\n"
        "client = LarkClient('cli_lazy', 'lazy-secret', settings=settings)\n"
        "print(type(client.credentials.store).__name__,\n"
        "      sorted(m for m in ('sqlalchemy', 'alembic') if m in sys.modules))\n"
    )
    home = tmp_path / "home"
    out = subprocess.run(
        [sys.executable, "-c", code, str(home), generate_key()],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.split() == ["SqlTokenStore", "[]"]
    assert not home.exists()


def test_a_token_is_never_sent_to_another_host(settings: Settings, lark_emulator: Emulator) -> None:
    # the same app and secret against two hosts (the emulator, then "Feishu" behind a proxy):
    # each host's token stays with it, even through the shared token store
    with Emulator() as other:
        for host in (lark_emulator, other):
            host.add_app(APP, SECRET)
            host.add_chat(CHAT, "Chat")
        for host in (lark_emulator, other, lark_emulator):
            with LarkClient(APP, SECRET, base_url=host.url, settings=settings) as client:
                client.messaging.send_text_message(CHAT, "hi")
        assert lark_emulator.token_fetches(APP) == 1 and other.token_fetches(APP) == 1
        rejected = [r for r in other.requests() if r.code in (99991663, 99991661)]
        assert rejected == []

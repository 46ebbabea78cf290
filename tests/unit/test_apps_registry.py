"""The app registry: CRUD, validation, encryption, audit, live changes, resolution by clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from lark_service import LarkClient, errors
from lark_service.apps import AppRegistry, open_registry, resolve_domain
from lark_service.config import LARK_BASE_URL, Settings
from lark_service.storage import application_audit, applications, dispose_all, get_engine
from lark_service.storage.crypto import SecretBox, generate_key

SECRET = "registry-secret-abcdef"


class Ticker:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    dispose_all()


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
def settings(tmp_path: Path, key: str) -> Settings:
    return Settings(home=tmp_path / "home", config_encryption_key=key)


@pytest.fixture
def registry(settings: Settings) -> AppRegistry:
    return AppRegistry.from_settings(settings, actor="tester")


def test_add_then_read_back(registry: AppRegistry) -> None:
    info = registry.add_app(
        "cli_a1", SECRET, name="Ops bot", description="alerts", encrypt_key="ek-1"
    )
    assert (info.app_id, info.name, info.status) == ("cli_a1", "Ops bot", "active")
    assert info.domain == "https://open.feishu.cn"
    assert info.created_by == "tester" and info.has_encrypt_key
    assert not info.has_verification_token
    creds = registry.get_app("cli_a1")
    assert creds is not None
    assert (creds.app_secret, creds.source, creds.base_url) == (
        SECRET,
        "registry",
        "https://open.feishu.cn",
    )
    secrets = registry.get_secrets("cli_a1")
    assert (secrets.encrypt_key, secrets.verification_token) == ("ek-1", None)
    assert SECRET not in repr(creds) + repr(secrets) + repr(info)
    assert registry.get_app("cli_missing") is None


def test_secrets_are_encrypted_at_rest(registry: AppRegistry, settings: Settings) -> None:
    registry.add_app("cli_a1", SECRET, encrypt_key="ek-plain-1", verification_token="vt-plain-1")
    with get_engine(settings.resolved_config_db_url).connect() as conn:
        row = conn.execute(select(applications)).one()
    for column in ("app_secret_enc", "encrypt_key_enc", "verification_token_enc"):
        assert getattr(row, column).startswith("gAAAA")
    dispose_all()
    raw = b"".join(p.read_bytes() for p in settings.home.glob("config.db*") if p.is_file())
    for value in (SECRET, "ek-plain-1", "vt-plain-1"):
        assert value.encode() not in raw


def test_duplicate_and_missing_apps_are_clear_errors(registry: AppRegistry) -> None:
    registry.add_app("cli_a1", SECRET)
    with pytest.raises(errors.ValidationError, match="already registered"):
        registry.add_app("cli_a1", "other")
    for call in (
        lambda: registry.get_info("cli_nope"),
        lambda: registry.update_app("cli_nope", name="x"),
        lambda: registry.disable_app("cli_nope"),
        lambda: registry.remove_app("cli_nope"),
    ):
        with pytest.raises(errors.AppNotFoundError, match="cli_nope"):
            call()


@pytest.mark.parametrize(
    ("app_id", "secret", "domain"),
    [
        ("", SECRET, "feishu"),
        ("has space", SECRET, "feishu"),
        ("x" * 65, SECRET, "feishu"),
        ("cli_ok", "", "feishu"),
        ("cli_ok", " padded ", "feishu"),
        ("cli_ok", SECRET, "ftp://example.com"),
        ("cli_ok", SECRET, "example.com"),
    ],
)
def test_bad_input_is_refused_before_writing(
    registry: AppRegistry, app_id: str, secret: str, domain: str
) -> None:
    with pytest.raises(errors.ValidationError):
        registry.add_app(app_id, secret, domain=domain)
    assert registry.list_apps() == []


def test_domains() -> None:
    assert resolve_domain("feishu") == "https://open.feishu.cn"
    assert resolve_domain("LARK") == LARK_BASE_URL
    assert resolve_domain("http://127.0.0.1:8900/") == "http://127.0.0.1:8900"


def test_update_enable_disable_remove_and_the_audit_trail(
    registry: AppRegistry, settings: Settings
) -> None:
    registry.add_app("cli_a1", SECRET)
    registry.update_app("cli_a1", name="New name", app_secret="rotated-secret-1")
    registry.update_app("cli_a1", name="New name")  # no change, no audit row
    registry.update_app("cli_a1", verification_token="vt-1")
    registry.update_app("cli_a1", verification_token="")  # cleared
    registry.disable_app("cli_a1")
    registry.disable_app("cli_a1")  # already disabled: no row
    registry.enable_app("cli_a1", actor="someone-else")
    registry.remove_app("cli_a1")
    trail = registry.audit("cli_a1")
    assert [(e.action, e.fields) for e in reversed(trail)] == [
        ("add", ("app_secret", "description", "domain", "name", "status")),
        ("update", ("app_secret", "name")),
        ("update", ("verification_token",)),
        ("update", ("verification_token",)),
        ("disable", ("status",)),
        ("enable", ("status",)),
        ("remove", ()),
    ]
    assert {e.actor for e in trail} == {"tester", "someone-else"}
    assert all(e.at > 0 for e in trail)
    with get_engine(settings.resolved_config_db_url).connect() as conn:
        stored = " ".join(str(r) for r in conn.execute(select(application_audit)).all())
    for value in (SECRET, "rotated-secret-1", "vt-1"):
        assert value not in stored
    assert registry.list_apps() == []


def test_without_a_key_apps_are_listed_but_secrets_refused(
    tmp_path: Path, registry: AppRegistry, settings: Settings
) -> None:
    registry.add_app("cli_a1", SECRET)
    keyless = AppRegistry(settings.resolved_config_db_url, None)
    assert [a.app_id for a in keyless.list_apps()] == ["cli_a1"]
    assert keyless.active_app_ids() == ["cli_a1"]
    with pytest.raises(errors.EncryptionKeyError, match="not set"):
        keyless.get_app("cli_a1")
    with pytest.raises(errors.EncryptionKeyError):
        keyless.add_app("cli_a2", SECRET)


def test_a_wrong_key_cannot_read_or_add(registry: AppRegistry, settings: Settings) -> None:
    registry.add_app("cli_a1", SECRET)
    wrong = AppRegistry(settings.resolved_config_db_url, SecretBox(generate_key()))
    with pytest.raises(errors.EncryptionKeyError):
        wrong.get_app("cli_a1")
    with pytest.raises(errors.EncryptionKeyError):
        wrong.check_key()
    with pytest.raises(errors.EncryptionKeyError):  # no mixed-key registry
        wrong.add_app("cli_a2", SECRET)
    assert [a.app_id for a in registry.list_apps()] == ["cli_a1"]


def test_rotation_round_trip(registry: AppRegistry, settings: Settings, key: str) -> None:
    registry.add_app("cli_a1", SECRET, encrypt_key="ek-1")
    registry.add_app("cli_a2", SECRET + "2")
    new = generate_key()
    assert registry.rotate_key(SecretBox([new, key])) == 2
    only_new = AppRegistry(settings.resolved_config_db_url, SecretBox(new))
    assert only_new.get_app("cli_a1").app_secret == SECRET  # type: ignore[union-attr]
    assert only_new.get_secrets("cli_a1").encrypt_key == "ek-1"
    only_old = AppRegistry(settings.resolved_config_db_url, SecretBox(key))
    with pytest.raises(errors.EncryptionKeyError):
        only_old.get_app("cli_a2")
    rotations = [e for e in registry.audit() if e.action == "rotate"]
    assert sorted((e.app_id, e.fields) for e in rotations) == [
        ("cli_a1", ("app_secret", "encrypt_key")),
        ("cli_a2", ("app_secret",)),
    ]


def test_changes_reach_a_running_registry_within_max_age(
    registry: AppRegistry, settings: Settings
) -> None:
    ticker = Ticker()
    reader = AppRegistry.from_settings(settings, max_age=1.0, clock=ticker)
    registry.add_app("cli_a1", SECRET)
    assert reader.get_app("cli_a1").status == "active"  # type: ignore[union-attr]
    registry.disable_app("cli_a1")  # another process, say the CLI
    assert reader.get_app("cli_a1").status == "active"  # type: ignore[union-attr]  # cached
    ticker.now += 1.0
    assert reader.get_app("cli_a1").status == "disabled"  # type: ignore[union-attr]
    registry.update_app("cli_a1", app_secret="new-secret-value")
    registry.add_app("cli_a2", SECRET)
    ticker.now += 1.0
    assert reader.get_app("cli_a1").app_secret == "new-secret-value"  # type: ignore[union-attr]
    assert reader.active_app_ids() == ["cli_a2"]


def test_a_running_client_sees_a_disabled_app_without_restart(
    registry: AppRegistry, settings: Settings
) -> None:
    registry.add_app("cli_a1", SECRET, domain="http://127.0.0.1:9")
    ticker = Ticker()
    live = AppRegistry.from_settings(settings, clock=ticker)
    with LarkClient("cli_a1", settings=settings, registry=live) as client:
        assert client.resolve_app().status == "active"
        registry.disable_app("cli_a1")
        ticker.now += 1.0
        with pytest.raises(errors.AppDisabledError, match="cli_a1"):
            client.resolve_app()
        registry.enable_app("cli_a1")
        ticker.now += 1.0
        assert client.resolve_app().app_id == "cli_a1"


def test_unreadable_database_keeps_the_apps_read_before(
    registry: AppRegistry, settings: Settings, tmp_path: Path
) -> None:
    registry.add_app("cli_a1", SECRET)
    ticker = Ticker()
    reader = AppRegistry.from_settings(settings, clock=ticker)
    assert reader.get_app("cli_a1") is not None
    reader.url = f"sqlite:///{tmp_path / 'file' / 'gone.db'}"
    (tmp_path / "file").write_text("not a directory")
    ticker.now += 5
    assert reader.get_app("cli_a1") is not None
    fresh = AppRegistry(reader.url, registry.box)
    with pytest.raises(errors.ConfigError, match="app registry"):
        fresh.get_app("cli_a1")


def test_the_client_registry_creates_nothing_and_notices_a_later_database(
    settings: Settings,
) -> None:
    found = open_registry(settings)
    assert isinstance(found, AppRegistry)
    assert found.active_app_ids() == [] and found.get_app("cli_a1") is None
    assert not settings.home.exists()  # looking did not create anything
    with LarkClient(settings=settings, registry=found) as client:
        with pytest.raises(errors.AppNotSpecifiedError, match="no app is registered"):
            client.resolve_app()
        with pytest.raises(errors.AppNotFoundError):
            client.resolve_app("cli_a1")
        AppRegistry.from_settings(settings).add_app("cli_a1", SECRET)  # e.g. the CLI
        found.refresh()  # what max_age (1 s) does for a running client
        assert client.resolve_app().app_id == "cli_a1"


def test_clients_resolve_registry_apps_each_with_its_domain(
    registry: AppRegistry, settings: Settings
) -> None:
    registry.add_app("cli_feishu", SECRET, domain="feishu")
    registry.add_app("cli_lark", SECRET, domain="lark")
    registry.add_app("cli_local", SECRET, domain="http://127.0.0.1:8900")
    registry.disable_app("cli_local")
    with LarkClient(settings=settings) as client:
        with pytest.raises(errors.AppNotSpecifiedError, match="cli_feishu, cli_lark"):
            client.resolve_app()
        assert client.resolve_app("cli_lark").base_url == LARK_BASE_URL
        with client.use_app("cli_feishu"):
            assert client.resolve_app().base_url == "https://open.feishu.cn"
        with pytest.raises(errors.AppDisabledError):
            client.resolve_app("cli_local")
        with pytest.raises(errors.AppNotFoundError, match="cli_feishu"):
            client.resolve_app("cli_unknown")
    registry.remove_app("cli_lark")
    with LarkClient(settings=settings) as client:  # the only active app now
        assert client.resolve_app().app_id == "cli_feishu"


def test_lark_app_id_picks_a_registry_app(
    registry: AppRegistry, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.add_app("cli_a1", SECRET)
    registry.add_app("cli_a2", SECRET + "2")
    monkeypatch.setenv("LARK_APP_ID", "cli_a2")
    env = Settings(home=settings.home, config_encryption_key=settings.config_encryption_key)
    with LarkClient(settings=env) as client:
        assert client.resolve_app().app_secret == SECRET + "2"

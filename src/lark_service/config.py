"""Settings: one class reading the ``LARK_*`` environment variables and ``.env``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

__all__ = ["FEISHU_BASE_URL", "LARK_BASE_URL", "Settings", "get_settings"]

FEISHU_BASE_URL = "https://open.feishu.cn"
LARK_BASE_URL = "https://open.larksuite.com"


class Settings(BaseSettings):
    """Everything lark-service reads from the environment (prefix ``LARK_``) or ``.env``.

    Highest first: arguments, environment variables, ``./.env``, then ``$LARK_HOME/.env``
    (where ``lark-service init`` writes the generated encryption key). Arguments given to
    :class:`~lark_service.LarkClient` override these.
    """

    model_config = SettingsConfigDict(
        env_prefix="LARK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(default_factory=lambda: Path.home() / ".lark-service")
    config_db_url: str | None = None
    database_url: str | None = None
    config_encryption_key: SecretStr | None = None
    base_url: str = FEISHU_BASE_URL
    amqp_url: str | None = None
    redis_url: str | None = None
    """``LARK_REDIS_URL``: share the pacing budget of every process through Redis."""
    log_level: str = "INFO"
    log_json: bool = False

    app_id: str | None = None
    app_secret: SecretStr | None = None
    encrypt_key: SecretStr | None = None
    verification_token: SecretStr | None = None

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    http2: bool = False
    http_backend: Literal["auto", "httpx", "aiohttp"] = "auto"
    max_retries: int = 3

    contact_cache_ttl: float = 24 * 3600.0
    contact_negative_ttl: float = 600.0

    otel_enabled: bool = False
    """``LARK_OTEL_ENABLED``: OpenTelemetry spans (the ``otel`` extra), see lark_service.tracing."""
    status_token: SecretStr | None = None
    """``LARK_STATUS_TOKEN``: lets ``GET /status`` answer beyond localhost (Bearer token)."""
    # The scheduler's per-job LARK_SCHEDULER_<JOB>_INTERVAL|_CRON|_ENABLED live in
    # lark_service.scheduler.SchedulerSettings (same sources), not here.

    accounts_url: str | None = None
    """``LARK_ACCOUNTS_URL``: the OAuth accounts host of the user authorization page (default:
    ``https://accounts.feishu.cn`` for Feishu, ``https://accounts.larksuite.com`` for Lark, and
    the base URL itself for any other base, such as the emulator)."""

    oauth_redirect_url: str | None = None
    """``LARK_OAUTH_REDIRECT_URL``: the public URL of the server's ``/oauth/callback``, where
    Feishu sends a user back after the consent page (``client.auth`` default redirect)."""

    gateway_enabled: bool = False
    """``LARK_GATEWAY_ENABLED``: ``serve`` also answers the HTTP gateway under ``/api/v1``."""
    gateway_key_secret: SecretStr | None = None
    """``LARK_GATEWAY_KEY_SECRET``: the server secret API keys are hashed with (HMAC-SHA256);
    default: a random one kept in ``$LARK_HOME/gateway-key-secret``. Set the same value on
    every host that shares the state database."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        home_env = _HomeDotEnvSource(settings_cls, init_settings, env_settings, dotenv_settings)
        return init_settings, env_settings, dotenv_settings, home_env, file_secret_settings

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("home")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def resolved_config_db_url(self) -> str:
        """The app registry's database URL (default: SQLite under ``home``)."""
        return self.config_db_url or f"sqlite:///{self.home / 'config.db'}"

    @property
    def resolved_database_url(self) -> str:
        """The state database URL (tokens, caches, outbox; default: SQLite under ``home``)."""
        return self.database_url or f"sqlite:///{self.home / 'state.db'}"


class _HomeDotEnvSource(PydanticBaseSettingsSource):
    """``$LARK_HOME/.env``, below ``./.env``; ``home`` comes from the sources above it."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        *above: PydanticBaseSettingsSource,
    ) -> None:
        super().__init__(settings_cls)
        self._above = above

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        home: Any = None
        for source in self._above:
            home = source().get("home")
            if home:
                break
        path = (Path(home) if home else Path.home() / ".lark-service").expanduser() / ".env"
        if not path.is_file() or path.resolve() == Path(".env").resolve():
            return {}
        values = DotEnvSettingsSource(self.settings_cls, env_file=path)()
        values.pop("home", None)  # a home's .env does not move the home
        return values


def get_settings(**overrides: object) -> Settings:
    """Read the settings now (environment and ``.env``), with ``overrides`` on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]

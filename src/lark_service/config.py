"""Settings: one class reading the ``LARK_*`` environment variables and ``.env``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["FEISHU_BASE_URL", "LARK_BASE_URL", "Settings", "get_settings"]

FEISHU_BASE_URL = "https://open.feishu.cn"
LARK_BASE_URL = "https://open.larksuite.com"


class Settings(BaseSettings):
    """Everything lark-service reads from the environment (prefix ``LARK_``) or ``.env``.

    Arguments given to :class:`~lark_service.LarkClient` override these.
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
    log_level: str = "INFO"
    log_json: bool = False

    app_id: str | None = None
    app_secret: SecretStr | None = None
    encrypt_key: SecretStr | None = None
    verification_token: SecretStr | None = None

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    http2: bool = False
    max_retries: int = 3

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


def get_settings(**overrides: object) -> Settings:
    """Read the settings now (environment and ``.env``), with ``overrides`` on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]

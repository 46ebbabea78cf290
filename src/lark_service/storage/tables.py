"""The tables of both databases, as SQLAlchemy Core metadata.

``config_metadata`` holds the app registry (``LARK_CONFIG_DB_URL``); ``state_metadata`` holds
tokens, caches, OAuth sessions, the callback outbox, event dedup and gateway API keys
(``LARK_DATABASE_URL``). The schema itself is created and changed only by the Alembic
migrations in ``migrations/``; a test checks that they and these definitions agree.

Conventions (see docs/storage.md):

- every time is a float of Unix epoch seconds (UTC), as ``time.time()`` returns it;
- columns ending in ``_enc`` hold Fernet tokens made by
  :class:`~lark_service.storage.crypto.SecretBox`;
- JSON columns are ``JSON`` (``JSONB`` on PostgreSQL);
- enumerations are short strings guarded by CHECK constraints (their values are exported
  below as tuples, for callers and for the migrations' tests).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from ..config import FEISHU_BASE_URL

__all__ = [
    "APPLICATION_STATUSES",
    "AUDIT_ACTIONS",
    "AUTH_METHODS",
    "NAMING_CONVENTION",
    "NEGATIVE_KINDS",
    "OUTBOX_KINDS",
    "OUTBOX_STATUSES",
    "TOKEN_KINDS",
    "api_keys",
    "application_audit",
    "applications",
    "auth_sessions",
    "callback_outbox",
    "config_metadata",
    "gateway_idempotency",
    "processed_events",
    "state_metadata",
    "tokens",
    "user_cache",
    "user_cache_negative",
]

APPLICATION_STATUSES = ("active", "disabled")
AUDIT_ACTIONS = ("add", "update", "enable", "disable", "remove", "rotate")
TOKEN_KINDS = ("tenant", "app", "user")
NEGATIVE_KINDS = ("email", "mobile")
AUTH_METHODS = ("card", "link")
OUTBOX_KINDS = ("event", "card")
OUTBOX_STATUSES = ("pending", "running", "done", "failed", "dead", "no_handler")

DEFAULT_DOMAIN = FEISHU_BASE_URL

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Autoincrementing ids: BIGINT on PostgreSQL, INTEGER PRIMARY KEY (the rowid) on SQLite.
BigId: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")
Json: TypeEngine[object] = JSON().with_variant(JSONB(), "postgresql")
Epoch = Double  # Unix epoch seconds, UTC

APP_ID = 64
USER_ID = 128
NAME = 255


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


# --- config database: the app registry ---------------------------------------------------

config_metadata = MetaData(naming_convention=NAMING_CONVENTION)

applications = Table(
    "applications",
    config_metadata,
    Column("app_id", String(APP_ID), primary_key=True),
    Column("name", String(NAME), nullable=False, server_default=""),
    Column("description", Text, nullable=False, server_default=""),
    Column("app_secret_enc", Text, nullable=False),
    Column("encrypt_key_enc", Text, nullable=True),
    Column("verification_token_enc", Text, nullable=True),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("domain", String(NAME), nullable=False, server_default=DEFAULT_DOMAIN),
    Column("created_by", String(NAME), nullable=False, server_default=""),
    Column("created_at", Epoch, nullable=False),
    Column("updated_at", Epoch, nullable=False),
    _one_of("status", APPLICATION_STATUSES, "status"),
)

application_audit = Table(
    "application_audit",
    config_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", String(APP_ID), nullable=False),
    Column("action", String(16), nullable=False),
    Column("actor", String(NAME), nullable=False, server_default=""),
    Column("fields_changed", Json, nullable=False),  # a list of field NAMES, never values
    Column("at", Epoch, nullable=False),
    _one_of("action", AUDIT_ACTIONS, "action"),
    Index("ix_application_audit_app_id_at", "app_id", "at"),
)

# --- state database ----------------------------------------------------------------------

state_metadata = MetaData(naming_convention=NAMING_CONVENTION)

tokens = Table(
    "tokens",
    state_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", String(APP_ID), nullable=False),
    # fingerprint(app_secret) for app and tenant tokens; '' for user tokens (see docs).
    Column("secret_fingerprint", String(64), nullable=False, server_default=""),
    Column("kind", String(16), nullable=False),
    Column("subject", String(USER_ID), nullable=False, server_default=""),
    Column("value_enc", Text, nullable=False),
    Column("expires_at", Epoch, nullable=False),
    Column("refresh_token_enc", Text, nullable=True),
    Column("refresh_expires_at", Epoch, nullable=True),
    Column("updated_at", Epoch, nullable=False),
    Column("scopes", Text, nullable=True),  # user tokens: the granted scopes, space-separated
    UniqueConstraint("app_id", "secret_fingerprint", "kind", "subject", name="uq_tokens_key"),
    _one_of("kind", TOKEN_KINDS, "kind"),
    Index("ix_tokens_expires_at", "expires_at"),
)

user_cache = Table(
    "user_cache",
    state_metadata,
    Column("app_id", String(APP_ID), nullable=False),
    Column("open_id", String(USER_ID), nullable=False),
    Column("user_id", String(USER_ID), nullable=True),
    Column("union_id", String(USER_ID), nullable=True),
    Column("email", String(320), nullable=True),
    Column("mobile", String(64), nullable=True),
    Column("name", String(NAME), nullable=True),
    Column("en_name", String(NAME), nullable=True),
    Column("avatar", Text, nullable=True),
    Column("department_ids", Json, nullable=True),
    Column("job_title", String(NAME), nullable=True),
    Column("employee_no", String(USER_ID), nullable=True),
    Column("status", Json, nullable=True),
    Column("raw", Json, nullable=True),
    Column("cached_at", Epoch, nullable=False),
    Column("expires_at", Epoch, nullable=False),
    PrimaryKeyConstraint("app_id", "open_id"),
    Index("ix_user_cache_app_id_email", "app_id", "email"),
    Index("ix_user_cache_app_id_mobile", "app_id", "mobile"),
    Index("ix_user_cache_app_id_user_id", "app_id", "user_id"),
    Index("ix_user_cache_app_id_union_id", "app_id", "union_id"),
    Index("ix_user_cache_expires_at", "expires_at"),
)

user_cache_negative = Table(
    "user_cache_negative",
    state_metadata,
    Column("app_id", String(APP_ID), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(320), nullable=False),
    Column("expires_at", Epoch, nullable=False),
    PrimaryKeyConstraint("app_id", "kind", "value"),
    _one_of("kind", NEGATIVE_KINDS, "kind"),
    Index("ix_user_cache_negative_expires_at", "expires_at"),
)

auth_sessions = Table(
    "auth_sessions",
    state_metadata,
    Column("state", String(128), primary_key=True),
    Column("app_id", String(APP_ID), nullable=False),
    Column("user", String(NAME), nullable=True),  # None: whoever completes the flow
    Column("method", String(16), nullable=False),
    Column("created_at", Epoch, nullable=False),
    Column("expires_at", Epoch, nullable=False),
    Column("consumed_at", Epoch, nullable=True),
    Column("code_verifier_enc", Text, nullable=True),  # PKCE (S256), encrypted
    Column("scopes", Json, nullable=True),
    Column("redirect_uri", Text, nullable=True),
    _one_of("method", AUTH_METHODS, "method"),
    Index("ix_auth_sessions_expires_at", "expires_at"),
)

callback_outbox = Table(
    "callback_outbox",
    state_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", String(APP_ID), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("event_id", String(128), nullable=True),
    Column("event_type", String(128), nullable=True),
    Column("payload", Text, nullable=False),  # the JSON text of the decrypted callback
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("available_at", Epoch, nullable=False),
    Column("created_at", Epoch, nullable=False),
    Column("updated_at", Epoch, nullable=False),
    # the router (service) that stored the row: only it claims the row ('' = any, old rows)
    Column("owner", String(NAME), nullable=False, server_default=""),
    # the card a handler returned, still to be applied by the delayed update (JSON text):
    # set once the handler ran, so a retry applies the card without running the handler again
    Column("card_update", Text, nullable=True),
    Column("update_uses", Integer, nullable=False, server_default="0"),  # token uses spent
    _one_of("kind", OUTBOX_KINDS, "kind"),
    _one_of("status", OUTBOX_STATUSES, "status"),
    Index("ix_callback_outbox_status_available_at", "status", "available_at"),
)

processed_events = Table(
    "processed_events",
    state_metadata,
    Column("dedup_key", String(NAME), primary_key=True),  # "evt:<event_id>", "msg:<message_id>"
    Column("app_id", String(APP_ID), nullable=False),
    Column("processed_at", Epoch, nullable=False),
    Column("expires_at", Epoch, nullable=False),
    Index("ix_processed_events_expires_at", "expires_at"),
)

api_keys = Table(
    "api_keys",
    state_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(NAME), nullable=False),
    Column("key_hash", String(128), nullable=False),
    Column("app_ids", Json, nullable=False),  # list of app ids the key may use
    Column("created_at", Epoch, nullable=False),
    Column("revoked_at", Epoch, nullable=True),
    # gateway (state_0003): the key's public id (lookup before the constant-time compare),
    # its scopes, token-bucket rate (per second) and burst, expiry and last use
    Column("key_prefix", String(32), nullable=True),
    Column("scopes", Json, nullable=True),
    Column("rate", Double, nullable=True),
    Column("burst", Integer, nullable=True),
    Column("expires_at", Epoch, nullable=True),
    Column("last_used_at", Epoch, nullable=True),
    UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    UniqueConstraint("key_prefix", name="uq_api_keys_key_prefix"),
)

gateway_idempotency = Table(
    "gateway_idempotency",
    state_metadata,
    Column("api_key_id", BigInteger, nullable=False),
    Column("idempotency_key", String(NAME), nullable=False),
    Column("fingerprint", String(64), nullable=False),  # sha256 of method, path, query, body
    Column("status_code", Integer, nullable=True),  # null while the first request runs
    Column("response", Text, nullable=True),  # the JSON envelope answered
    Column("created_at", Epoch, nullable=False),
    Column("expires_at", Epoch, nullable=False),
    PrimaryKeyConstraint("api_key_id", "idempotency_key"),
    Index("ix_gateway_idempotency_expires_at", "expires_at"),
)

"""Initial state: tokens, user cache, OAuth sessions, callback outbox, event dedup, API keys.

Revision ID: state_0001
Revises:
Create Date: 2026-11-23

A revision is a frozen snapshot: it spells its types out instead of importing tables.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "state_0001"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("secret_fingerprint", sa.String(length=64), server_default="", nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=128), server_default="", nullable=False),
        sa.Column("value_enc", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("refresh_token_enc", sa.Text(), nullable=True),
        sa.Column("refresh_expires_at", sa.Double(), nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.CheckConstraint("kind IN ('tenant', 'app', 'user')", name=op.f("ck_tokens_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint(
            "app_id", "secret_fingerprint", "kind", "subject", name="uq_tokens_key"
        ),
    )
    op.create_index("ix_tokens_expires_at", "tokens", ["expires_at"])

    op.create_table(
        "user_cache",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("open_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("union_id", sa.String(length=128), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("mobile", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("en_name", sa.String(length=255), nullable=True),
        sa.Column("avatar", sa.Text(), nullable=True),
        sa.Column("department_ids", Json, nullable=True),
        sa.Column("job_title", sa.String(length=255), nullable=True),
        sa.Column("employee_no", sa.String(length=128), nullable=True),
        sa.Column("status", Json, nullable=True),
        sa.Column("raw", Json, nullable=True),
        sa.Column("cached_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "open_id", name=op.f("pk_user_cache")),
    )
    for column in ("email", "mobile", "user_id", "union_id"):
        op.create_index(f"ix_user_cache_app_id_{column}", "user_cache", ["app_id", column])
    op.create_index("ix_user_cache_expires_at", "user_cache", ["expires_at"])

    op.create_table(
        "user_cache_negative",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.CheckConstraint("kind IN ('email', 'mobile')", name=op.f("ck_user_cache_negative_kind")),
        sa.PrimaryKeyConstraint("app_id", "kind", "value", name=op.f("pk_user_cache_negative")),
    )
    op.create_index("ix_user_cache_negative_expires_at", "user_cache_negative", ["expires_at"])

    op.create_table(
        "auth_sessions",
        sa.Column("state", sa.String(length=128), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("consumed_at", sa.Double(), nullable=True),
        sa.CheckConstraint("method IN ('card', 'link')", name=op.f("ck_auth_sessions_method")),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_auth_sessions")),
    )
    op.create_index("ix_auth_sessions_expires_at", "auth_sessions", ["expires_at"])

    op.create_table(
        "callback_outbox",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=True),
        sa.Column("event_type", sa.String(length=128), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("available_at", sa.Double(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.CheckConstraint("kind IN ('event', 'card')", name=op.f("ck_callback_outbox_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed', 'dead')",
            name=op.f("ck_callback_outbox_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_outbox")),
    )
    op.create_index(
        "ix_callback_outbox_status_available_at", "callback_outbox", ["status", "available_at"]
    )

    op.create_table(
        "processed_events",
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("processed_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("dedup_key", name=op.f("pk_processed_events")),
    )
    op.create_index("ix_processed_events_expires_at", "processed_events", ["expires_at"])

    op.create_table(
        "api_keys",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("app_ids", Json, nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )


def downgrade() -> None:
    for table in (
        "api_keys",
        "processed_events",
        "callback_outbox",
        "auth_sessions",
        "user_cache_negative",
        "user_cache",
        "tokens",
    ):
        op.drop_table(table)

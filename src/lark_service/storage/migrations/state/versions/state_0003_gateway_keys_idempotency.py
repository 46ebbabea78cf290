"""Gateway: API key prefix, scopes, rate limit, expiry and last use; idempotent answers.

Revision ID: state_0003
Revises: state_0002
Create Date: 2026-11-29

- ``api_keys``: ``key_prefix`` (the key's public id, unique; found before the constant-time
  compare of the hash), ``scopes`` (JSON list), ``rate`` (tokens per second) and ``burst``
  (the per-key token bucket), ``expires_at`` and ``last_used_at``. All nullable: rows written
  before this revision have no prefix and are never matched (create new keys).
- ``gateway_idempotency``: the answer to a write sent with an ``Idempotency-Key``, per API
  key, kept 24 h (``status_code`` is null while the first request is still running).

A revision is a frozen snapshot: it spells its types out instead of importing tables.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "state_0003"
down_revision: str | None = "state_0002"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("key_prefix", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("scopes", Json, nullable=True))
        batch.add_column(sa.Column("rate", sa.Double(), nullable=True))
        batch.add_column(sa.Column("burst", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.Double(), nullable=True))
        batch.add_column(sa.Column("last_used_at", sa.Double(), nullable=True))
        batch.create_unique_constraint("uq_api_keys_key_prefix", ["key_prefix"])
    op.create_table(
        "gateway_idempotency",
        sa.Column("api_key_id", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint(
            "api_key_id", "idempotency_key", name=op.f("pk_gateway_idempotency")
        ),
    )
    op.create_index(
        "ix_gateway_idempotency_expires_at", "gateway_idempotency", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_gateway_idempotency_expires_at", table_name="gateway_idempotency")
    op.drop_table("gateway_idempotency")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint("uq_api_keys_key_prefix", type_="unique")
        for column in ("last_used_at", "expires_at", "burst", "rate", "scopes", "key_prefix"):
            batch.drop_column(column)

"""Initial app registry: applications and application_audit.

Revision ID: config_0001
Revises:
Create Date: 2026-11-23

A revision is a frozen snapshot: it spells its types out instead of importing tables.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "config_0001"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), server_default="", nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("app_secret_enc", sa.Text(), nullable=False),
        sa.Column("encrypt_key_enc", sa.Text(), nullable=True),
        sa.Column("verification_token_enc", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column(
            "domain", sa.String(length=255), server_default="https://open.feishu.cn", nullable=False
        ),
        sa.Column("created_by", sa.String(length=255), server_default="", nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.CheckConstraint("status IN ('active', 'disabled')", name=op.f("ck_applications_status")),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_applications")),
    )
    op.create_table(
        "application_audit",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=255), server_default="", nullable=False),
        sa.Column("fields_changed", Json, nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.CheckConstraint(
            "action IN ('add', 'update', 'enable', 'disable', 'remove', 'rotate')",
            name=op.f("ck_application_audit_action"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_audit")),
    )
    op.create_index("ix_application_audit_app_id_at", "application_audit", ["app_id", "at"])


def downgrade() -> None:
    op.drop_table("application_audit")
    op.drop_table("applications")

"""Auth sessions: the PKCE verifier, the scopes and the redirect URI of a user authorization.

Revision ID: state_0004
Revises: state_0003
Create Date: 2026-11-30

- ``code_verifier_enc``: the PKCE (S256) verifier sent with the code exchange, Fernet-encrypted
  (nullable: rows written before this revision have none and cannot be completed).
- ``scopes``: the scopes asked for (JSON list).
- ``redirect_uri``: the redirect URI the authorization page was opened with (the code
  exchange must repeat it).
- ``tokens.scopes``: the scopes a user granted (user tokens; space-separated).

A revision is a frozen snapshot: it spells its types out instead of importing tables.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "state_0004"
down_revision: str | None = "state_0003"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("auth_sessions") as batch:
        batch.add_column(sa.Column("code_verifier_enc", sa.Text(), nullable=True))
        batch.add_column(sa.Column("scopes", Json, nullable=True))
        batch.add_column(sa.Column("redirect_uri", sa.Text(), nullable=True))
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("scopes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("scopes")
    with op.batch_alter_table("auth_sessions") as batch:
        batch.drop_column("redirect_uri")
        batch.drop_column("scopes")
        batch.drop_column("code_verifier_enc")

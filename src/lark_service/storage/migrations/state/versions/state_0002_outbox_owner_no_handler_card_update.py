"""Outbox: the owning router, a ``no_handler`` status, a pending delayed card update.

Revision ID: state_0002
Revises: state_0001
Create Date: 2026-11-29

- ``owner``: the router (service) that stored a row; only it claims the row. Rows written
  before this revision have ``''`` and are claimed by any service, as before.
- status ``no_handler``: a callback no route matched, kept visible (``callbacks dlq list``).
- ``card_update`` / ``update_uses``: the card a handler returned that the delayed update has
  not applied yet, and how many of the callback token's two uses were spent on it.

A revision is a frozen snapshot: it spells its types out instead of importing tables.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "state_0002"
down_revision: str | None = "state_0001"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

_OLD = "status IN ('pending', 'running', 'done', 'failed', 'dead')"
_NEW = "status IN ('pending', 'running', 'done', 'failed', 'dead', 'no_handler')"


def upgrade() -> None:
    with op.batch_alter_table("callback_outbox", recreate="always") as batch:
        batch.add_column(
            sa.Column("owner", sa.String(length=255), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("card_update", sa.Text(), nullable=True))
        batch.add_column(sa.Column("update_uses", sa.Integer(), server_default="0", nullable=False))
        batch.drop_constraint(op.f("ck_callback_outbox_status"), type_="check")
        batch.create_check_constraint("status", sa.text(_NEW))


def downgrade() -> None:
    op.execute("UPDATE callback_outbox SET status = 'dead' WHERE status = 'no_handler'")
    with op.batch_alter_table("callback_outbox", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_callback_outbox_status"), type_="check")
        batch.create_check_constraint("status", sa.text(_OLD))
        batch.drop_column("update_uses")
        batch.drop_column("card_update")
        batch.drop_column("owner")

"""batched webhook delivery: how many events a subscription takes in one POST

``webhook_subscription.batch_max``: 1 (the default, one event per POST as before) to 100; a
subscription above 1 receives ``{"batch_id", "events": [...]}`` bodies of up to that many.

Revision ID: 9cc0fc2fcc3c
Revises: 8b3e5f1c2d47
Create Date: 2026-12-08 02:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9cc0fc2fcc3c"
down_revision: str | Sequence[str] | None = "8b3e5f1c2d47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("batch_max", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.drop_column("batch_max")

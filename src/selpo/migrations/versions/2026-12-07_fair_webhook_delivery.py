"""fair webhook delivery: endpoint health per subscription, attempt status and timing

Revision ID: 5d1c2a7e9b40
Revises: 1407290e58e8
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import selpo.db

revision: str = "5d1c2a7e9b40"
down_revision: str | Sequence[str] | None = "1407290e58e8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_attempt_at", selpo.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_status_code", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_duration_ms", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_outbox_message_subscription_due",
            ["subscription_id", "status", "available_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_outbox_message_claimed_until", ["claimed_until"], unique=False)

    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "consecutive_failures", sa.Integer(), server_default=sa.text("0"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("held_until", selpo.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.drop_column("held_until")
        batch_op.drop_column("consecutive_failures")

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_claimed_until")
        batch_op.drop_index("ix_outbox_message_subscription_due")
        batch_op.drop_column("last_duration_ms")
        batch_op.drop_column("last_attempt_at")
        batch_op.drop_column("last_status_code")

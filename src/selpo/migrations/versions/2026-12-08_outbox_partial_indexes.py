"""the worker's outbox queries on partial indexes: pending SMS, pending per subscription,
running claims

Revision ID: e22216afc645
Revises: 9cc0fc2fcc3c
Create Date: 2026-12-08 02:30:00

The full indexes on (status, available_at), (subscription_id, status, available_at, id) and
(claimed_until) held every row of the month, sent or not; on a national day that is ~180
million rows a month, each written to three more indexes, and a planner without fresh
statistics walked them. The partial indexes hold only what the worker looks for.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e22216afc645"
down_revision: str | Sequence[str] | None = "9cc0fc2fcc3c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_SMS = "status = 'pending' AND subscription_id IS NULL"
PENDING = "status = 'pending'"
CLAIMED = "claimed_until IS NOT NULL"


def upgrade() -> None:
    op.drop_index("ix_outbox_message_due", table_name="outbox_message")
    op.drop_index("ix_outbox_message_subscription_due", table_name="outbox_message")
    op.drop_index("ix_outbox_message_claimed_until", table_name="outbox_message")
    for name, columns, where in (
        ("ix_outbox_message_pending_sms", ["available_at", "id"], PENDING_SMS),
        ("ix_outbox_message_pending", ["subscription_id", "available_at", "id"], PENDING),
        ("ix_outbox_message_claimed", ["claimed_until"], CLAIMED),
    ):
        op.create_index(
            name,
            "outbox_message",
            columns,
            unique=False,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    op.drop_index("ix_outbox_message_claimed", table_name="outbox_message")
    op.drop_index("ix_outbox_message_pending", table_name="outbox_message")
    op.drop_index("ix_outbox_message_pending_sms", table_name="outbox_message")
    op.create_index("ix_outbox_message_claimed_until", "outbox_message", ["claimed_until"])
    op.create_index(
        "ix_outbox_message_subscription_due",
        "outbox_message",
        ["subscription_id", "status", "available_at", "id"],
    )
    op.create_index("ix_outbox_message_due", "outbox_message", ["status", "available_at"])

"""payouts: the marketplace's fee rate and the payout_day table

``marketplace.fee_rate_bp``: the operator's fee on collected cash on delivery, in basis points
(0 until set). ``payout_day``: one row per marketplace and closed day, unique, so the day's
``payout.ready`` webhook is queued once however many workers close it (``event_id``: none for a
day with nothing collected, which closes without a webhook).

Revision ID: 1b9a041e2d7f
Revises: fed28d51ed5c
Create Date: 2026-12-07 19:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import selpo.db

revision: str = "1b9a041e2d7f"
down_revision: str | Sequence[str] | None = "fed28d51ed5c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("marketplace", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fee_rate_bp", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "payout_day",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("marketplace_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("fee_rate_bp", sa.Integer(), nullable=False),
        sa.Column("cash_kop", sa.BigInteger(), nullable=False),
        sa.Column("card_kop", sa.BigInteger(), nullable=False),
        sa.Column("collected_kop", sa.BigInteger(), nullable=False),
        sa.Column("fee_kop", sa.BigInteger(), nullable=False),
        sa.Column("to_transfer_kop", sa.BigInteger(), nullable=False),
        sa.Column("shipments", sa.Integer(), nullable=False),
        sa.Column("closed_at", selpo.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["marketplace_id"],
            ["marketplace.id"],
            name=op.f("fk_payout_day_marketplace_id_marketplace"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_day")),
        sa.UniqueConstraint("marketplace_id", "day", name=op.f("uq_payout_day_marketplace_id_day")),
    )


def downgrade() -> None:
    op.drop_table("payout_day")
    with op.batch_alter_table("marketplace", schema=None) as batch_op:
        batch_op.drop_column("fee_rate_bp")

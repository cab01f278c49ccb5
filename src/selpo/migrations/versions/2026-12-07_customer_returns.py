"""recall and customer returns

A buyer's return registered by its marketplace (``customer_return``, a sandbox side like the
shipments'; its lines ``customer_return_item``), the office's guard against guessed return
codes (``return_code_guard``), and the marketplace's return period and cash-refund setting
(``marketplace.return_days``, ``marketplace.refund_cash_at_counter``), and the cash
refunded each closed payout day (``payout_day.refunded_kop``). The shipment status
``recalled`` needs no schema change.

Revision ID: 7c3e5b1f0a42
Revises: 6d2c9e41a7b3
Create Date: 2026-12-07 22:53:35.271114
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import selpo.db

revision: str = "7c3e5b1f0a42"
down_revision: str | Sequence[str] | None = "6d2c9e41a7b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "return_code_guard",
        sa.Column("post_office_id", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", selpo.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_office_id"],
            ["post_office.id"],
            name=op.f("fk_return_code_guard_post_office_id_post_office"),
        ),
        sa.PrimaryKeyConstraint("post_office_id", name=op.f("pk_return_code_guard")),
    )
    op.create_table(
        "customer_return",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("marketplace_id", sa.Integer(), nullable=False),
        sa.Column(
            "shipment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("external_return_id", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("return_deadline", selpo.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cash_refund", sa.Boolean(), nullable=False),
        sa.Column("tracking_number", sa.String(length=14), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("warehouse_id", sa.Integer(), nullable=True),
        sa.Column("weight_g", sa.Integer(), nullable=True),
        sa.Column("accepted_by", sa.String(length=100), nullable=True),
        sa.Column("accepted_at", selpo.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refund_kop", sa.BigInteger(), nullable=False),
        sa.Column("in_transit_at", selpo.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", selpo.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", selpo.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", selpo.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sandbox", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["marketplace_id"],
            ["marketplace.id"],
            name=op.f("fk_customer_return_marketplace_id_marketplace"),
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["post_office.id"], name=op.f("fk_customer_return_office_id_post_office")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipment.id"], name=op.f("fk_customer_return_shipment_id_shipment")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouse.id"],
            name=op.f("fk_customer_return_warehouse_id_warehouse"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_return")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_customer_return_code_hash")),
        sa.UniqueConstraint(
            "marketplace_id",
            "sandbox",
            "external_return_id",
            name=op.f("uq_customer_return_marketplace_id_sandbox_external_return_id"),
        ),
        sa.UniqueConstraint("tracking_number", name=op.f("uq_customer_return_tracking_number")),
    )
    with op.batch_alter_table("customer_return", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_return_accepted_at"), ["accepted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_return_marketplace_id"), ["marketplace_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_return_office_id"), ["office_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_return_shipment_id"), ["shipment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_customer_return_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_customer_return_updated_at"), ["updated_at"], unique=False
        )

    op.create_table(
        "customer_return_item",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "return_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price_kop", sa.BigInteger(), nullable=False),
        sa.Column("accepted_quantity", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["customer_return.id"],
            name=op.f("fk_customer_return_item_return_id_customer_return"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_return_item")),
        sa.UniqueConstraint(
            "return_id", "position", name=op.f("uq_customer_return_item_return_id_position")
        ),
    )
    with op.batch_alter_table("customer_return_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_return_item_return_id"), ["return_id"], unique=False
        )

    with op.batch_alter_table("payout_day", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refunded_kop", sa.BigInteger(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("marketplace", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("return_days", sa.Integer(), server_default="14", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "refund_cash_at_counter", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("payout_day", schema=None) as batch_op:
        batch_op.drop_column("refunded_kop")

    with op.batch_alter_table("marketplace", schema=None) as batch_op:
        batch_op.drop_column("refund_cash_at_counter")
        batch_op.drop_column("return_days")

    with op.batch_alter_table("customer_return_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_return_item_return_id"))

    op.drop_table("customer_return_item")
    with op.batch_alter_table("customer_return", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_return_updated_at"))
        batch_op.drop_index(batch_op.f("ix_customer_return_status"))
        batch_op.drop_index(batch_op.f("ix_customer_return_shipment_id"))
        batch_op.drop_index(batch_op.f("ix_customer_return_office_id"))
        batch_op.drop_index(batch_op.f("ix_customer_return_marketplace_id"))
        batch_op.drop_index(batch_op.f("ix_customer_return_accepted_at"))

    op.drop_table("customer_return")
    op.drop_table("return_code_guard")

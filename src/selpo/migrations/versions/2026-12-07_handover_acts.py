"""hand-over acts: handover, handover_entry, handover_serial

Revision ID: f0d3c55482fc
Revises: 3b8e4f61c2a7
Create Date: 2026-12-07 19:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from selpo.db import UTCDateTime

revision: str = "f0d3c55482fc"
down_revision: str | Sequence[str] | None = "3b8e4f61c2a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "handover",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("marketplace_id", sa.Integer(), nullable=False),
        sa.Column("sandbox", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.BigInteger(), nullable=False),
        sa.Column("declared_value_kop", sa.BigInteger(), nullable=False),
        sa.Column("cod_kop", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_hub", sa.String(length=32), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["marketplace_id"],
            ["marketplace.id"],
            name=op.f("fk_handover_marketplace_id_marketplace"),
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["warehouse.id"], name=op.f("fk_handover_warehouse_id_warehouse")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover")),
        sa.UniqueConstraint(
            "marketplace_id",
            "sandbox",
            "year",
            "serial",
            name=op.f("uq_handover_marketplace_id_sandbox_year_serial"),
        ),
    )
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handover_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_handover_marketplace_id"), ["marketplace_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_handover_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_handover_warehouse_id"), ["warehouse_id"], unique=False
        )

    op.create_table(
        "handover_entry",
        sa.Column("id", _ID, nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", _ID, nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("on_open_act", sa.Boolean(), nullable=False),
        sa.Column("tracking_number", sa.String(length=14), nullable=False),
        sa.Column("external_order_id", sa.String(length=100), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("declared_value_kop", sa.BigInteger(), nullable=False),
        sa.Column("cod_kop", sa.BigInteger(), nullable=False),
        sa.Column("scanned_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["handover_id"], ["handover.id"], name=op.f("fk_handover_entry_handover_id_handover")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipment.id"], name=op.f("fk_handover_entry_shipment_id_shipment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_entry")),
        sa.UniqueConstraint(
            "handover_id", "shipment_id", name=op.f("uq_handover_entry_handover_id_shipment_id")
        ),
    )
    with op.batch_alter_table("handover_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handover_entry_handover_id"), ["handover_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_handover_entry_shipment_id"), ["shipment_id"], unique=False
        )
        batch_op.create_index(
            "uq_handover_entry_open_shipment",
            ["shipment_id"],
            unique=True,
            sqlite_where=sa.text("on_open_act"),
            postgresql_where=sa.text("on_open_act"),
        )

    op.create_table(
        "handover_serial",
        sa.Column("marketplace_id", sa.Integer(), nullable=False),
        sa.Column("sandbox", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["marketplace_id"],
            ["marketplace.id"],
            name=op.f("fk_handover_serial_marketplace_id_marketplace"),
        ),
        sa.PrimaryKeyConstraint(
            "marketplace_id", "sandbox", "year", name=op.f("pk_handover_serial")
        ),
    )


def downgrade() -> None:
    op.drop_table("handover_serial")
    with op.batch_alter_table("handover_entry", schema=None) as batch_op:
        batch_op.drop_index("uq_handover_entry_open_shipment")
        batch_op.drop_index(batch_op.f("ix_handover_entry_shipment_id"))
        batch_op.drop_index(batch_op.f("ix_handover_entry_handover_id"))
    op.drop_table("handover_entry")
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handover_warehouse_id"))
        batch_op.drop_index(batch_op.f("ix_handover_status"))
        batch_op.drop_index(batch_op.f("ix_handover_marketplace_id"))
        batch_op.drop_index(batch_op.f("ix_handover_created_at"))
    op.drop_table("handover")

"""what goes back from the offices on the route runs' way back

One row per thing going back (``return_leg_item``): a shipment to its marketplace, a
buyer's return, a collection partner's bag; from waiting at the office to delivered at a
warehouse or to a partner.

Revision ID: 5d1c0a7e9b21
Revises: 2990f32264cb
Create Date: 2026-12-07 23:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from selpo.db import UTCDateTime

revision: str = "5d1c0a7e9b21"
down_revision: str | Sequence[str] | None = "2990f32264cb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "return_leg_item",
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref_id", _ID, nullable=False),
        sa.Column("barcode", sa.String(length=32), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("marketplace_id", sa.Integer(), nullable=True),
        sa.Column("warehouse_id", sa.Integer(), nullable=True),
        sa.Column("partner_code", sa.String(length=32), nullable=True),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("litres", sa.Float(), nullable=False),
        sa.Column("ready_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("route_code", sa.String(length=64), nullable=True),
        sa.Column("departure", UTCDateTime(timezone=True), nullable=True),
        sa.Column("loaded_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("hub_code", sa.String(length=32), nullable=True),
        sa.Column("at_hub_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("act_number", sa.String(length=32), nullable=True),
        sa.Column("delivered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["post_office.id"], name=op.f("fk_return_leg_item_office_id_post_office")
        ),
        sa.ForeignKeyConstraint(
            ["marketplace_id"],
            ["marketplace.id"],
            name=op.f("fk_return_leg_item_marketplace_id_marketplace"),
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouse.id"],
            name=op.f("fk_return_leg_item_warehouse_id_warehouse"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_leg_item")),
        sa.UniqueConstraint("kind", "ref_id", name=op.f("uq_return_leg_item_kind_ref_id")),
    )
    op.create_index(op.f("ix_return_leg_item_barcode"), "return_leg_item", ["barcode"])
    op.create_index(
        op.f("ix_return_leg_item_marketplace_id"), "return_leg_item", ["marketplace_id"]
    )
    op.create_index(op.f("ix_return_leg_item_partner_code"), "return_leg_item", ["partner_code"])
    op.create_index(
        "ix_return_leg_item_office_waiting", "return_leg_item", ["office_id", "status", "ready_at"]
    )
    op.create_index("ix_return_leg_item_run", "return_leg_item", ["route_code", "departure"])


def downgrade() -> None:
    op.drop_table("return_leg_item")

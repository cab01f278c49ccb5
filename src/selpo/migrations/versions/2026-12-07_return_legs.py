"""the return legs of the route runs, the warehouse acts, what waited for lack of room

``return_leg``: one row per route run whose way back was loaded (its totals, what waited,
the hub's acceptance); ``warehouse_act`` and ``warehouse_act_serial``: the line-haul acts to
the marketplaces' warehouses, numbered without gaps per year; ``return_leg_item.runs_waited``:
how many runs left the thing at its office for lack of room.

Revision ID: 8b3e5f1c2d47
Revises: 5d1e0a7c3b92
Create Date: 2026-12-07 23:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from selpo.db import UTCDateTime

revision: str = "8b3e5f1c2d47"
down_revision: str | Sequence[str] | None = "5d1e0a7c3b92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "return_leg",
        sa.Column("id", _ID, nullable=False),
        sa.Column("route_code", sa.String(length=64), nullable=False),
        sa.Column("departure", UTCDateTime(timezone=True), nullable=False),
        sa.Column("hub_code", sa.String(length=32), nullable=False),
        sa.Column("back_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("capacity_parcels", sa.Integer(), nullable=False),
        sa.Column("capacity_litres", sa.Float(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("litres", sa.Float(), nullable=False),
        sa.Column("weight_g", sa.BigInteger(), nullable=False),
        sa.Column("waited", sa.Integer(), nullable=False),
        sa.Column("loaded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("missing", sa.Integer(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_leg")),
        sa.UniqueConstraint(
            "route_code", "departure", name=op.f("uq_return_leg_route_code_departure")
        ),
    )
    op.create_index(op.f("ix_return_leg_departure"), "return_leg", ["departure"])
    op.create_index(op.f("ix_return_leg_hub_code"), "return_leg", ["hub_code"])
    op.create_table(
        "warehouse_act",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("hub_code", sa.String(length=32), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("marketplace_id", sa.Integer(), nullable=True),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["warehouse.id"], name=op.f("fk_warehouse_act_warehouse_id_warehouse")
        ),
        sa.ForeignKeyConstraint(
            ["marketplace_id"],
            ["marketplace.id"],
            name=op.f("fk_warehouse_act_marketplace_id_marketplace"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouse_act")),
        sa.UniqueConstraint("number", name=op.f("uq_warehouse_act_number")),
        sa.UniqueConstraint("year", "serial", name=op.f("uq_warehouse_act_year_serial")),
    )
    op.create_index(op.f("ix_warehouse_act_created_at"), "warehouse_act", ["created_at"])
    op.create_index(op.f("ix_warehouse_act_marketplace_id"), "warehouse_act", ["marketplace_id"])
    op.create_index(op.f("ix_warehouse_act_warehouse_id"), "warehouse_act", ["warehouse_id"])
    op.create_table(
        "warehouse_act_serial",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_warehouse_act_serial")),
    )
    with op.batch_alter_table("return_leg_item") as batch:
        batch.add_column(sa.Column("runs_waited", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("return_leg_item") as batch:
        batch.drop_column("runs_waited")
    op.drop_table("warehouse_act_serial")
    op.drop_table("warehouse_act")
    op.drop_table("return_leg")

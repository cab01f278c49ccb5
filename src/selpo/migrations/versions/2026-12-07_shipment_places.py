"""shipment places: an order of several places; the marketplace's ready_on_first_place

Every shipment gets its place 1 (its own tracking number, weight and size); the place's own
status is where the shipment itself is on its way (``arrived_at_office`` once it reached the
office, whatever happened after; ``created`` for a cancelled one).

Revision ID: ab391419d444
Revises: 768c6a9ae107
Create Date: 2026-12-07 19:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import selpo.db

revision: str = "ab391419d444"
down_revision: str | Sequence[str] | None = "768c6a9ae107"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "shipment_place",
        sa.Column("id", _ID, nullable=False),
        sa.Column("shipment_id", _ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("tracking_number", sa.String(length=14), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("length_mm", sa.Integer(), nullable=False),
        sa.Column("width_mm", sa.Integer(), nullable=False),
        sa.Column("height_mm", sa.Integer(), nullable=False),
        sa.Column("external_place_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("arrived_at", selpo.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipment.id"], name=op.f("fk_shipment_place_shipment_id_shipment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_place")),
        sa.UniqueConstraint(
            "shipment_id", "number", name=op.f("uq_shipment_place_shipment_id_number")
        ),
        sa.UniqueConstraint("tracking_number", name=op.f("uq_shipment_place_tracking_number")),
    )
    with op.batch_alter_table("shipment_place", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipment_place_shipment_id"), ["shipment_id"], unique=False
        )
    op.execute(
        "INSERT INTO shipment_place (shipment_id, number, tracking_number, weight_g, "
        "length_mm, width_mm, height_mm, external_place_id, status, arrived_at) "
        "SELECT id, 1, tracking_number, weight_g, length_mm, width_mm, height_mm, NULL, "
        "CASE WHEN status IN ('created', 'handed_over', 'in_transit', 'arrived_at_office', "
        "'lost') THEN status WHEN status = 'cancelled' THEN 'created' "
        "ELSE 'arrived_at_office' END, NULL FROM shipment"
    )
    with op.batch_alter_table("marketplace", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "ready_on_first_place", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("marketplace", schema=None) as batch_op:
        batch_op.drop_column("ready_on_first_place")
    with op.batch_alter_table("shipment_place", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_place_shipment_id"))
    op.drop_table("shipment_place")

"""counter scan ids: an acceptance scan and a shelving keep the id the browser gave the scan
(unique), so the counter's queue may send a scan again without recording it twice

Revision ID: 768c6a9ae107
Revises: f0d3c55482fc
Create Date: 2026-12-07 19:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import selpo.db

revision: str = "768c6a9ae107"
down_revision: str | Sequence[str] | None = "f0d3c55482fc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("acceptance_scan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_scan_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_acceptance_scan_client_scan_id"), ["client_scan_id"]
        )
    op.create_table(
        "shelving_scan",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_scan_id", sa.String(length=64), nullable=False),
        sa.Column("post_office_id", sa.Integer(), nullable=False),
        sa.Column(
            "shipment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("cell_code", sa.String(length=16), nullable=False),
        sa.Column("clerk_id", sa.Integer(), nullable=True),
        sa.Column("scanned_at", selpo.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", selpo.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clerk_id"], ["clerk.id"], name=op.f("fk_shelving_scan_clerk_id_clerk")
        ),
        sa.ForeignKeyConstraint(
            ["post_office_id"],
            ["post_office.id"],
            name=op.f("fk_shelving_scan_post_office_id_post_office"),
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipment.id"], name=op.f("fk_shelving_scan_shipment_id_shipment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shelving_scan")),
        sa.UniqueConstraint("client_scan_id", name=op.f("uq_shelving_scan_client_scan_id")),
    )
    with op.batch_alter_table("shelving_scan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shelving_scan_post_office_id"), ["post_office_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_shelving_scan_shipment_id"), ["shipment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("shelving_scan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shelving_scan_shipment_id"))
        batch_op.drop_index(batch_op.f("ix_shelving_scan_post_office_id"))
    op.drop_table("shelving_scan")
    with op.batch_alter_table("acceptance_scan", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_acceptance_scan_client_scan_id"), type_="unique")
        batch_op.drop_column("client_scan_id")

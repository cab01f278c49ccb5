"""plans over several regions: plan_region lists every region a plan covers

A plan may cover one region, a list of regions or the whole country (every region imported);
each region's dashboard lists the plans that cover it. Every plan kept with a region gets its
one row.

Revision ID: 6d2c9e41a7b3
Revises: 5d1c7a3e9b20
Create Date: 2026-12-08 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6d2c9e41a7b3"
down_revision: str | Sequence[str] | None = "5d1c7a3e9b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_region",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_plan_region_plan_id_plan"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["region.id"],
            name=op.f("fk_plan_region_region_id_region"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plan_id", "region_id", name=op.f("pk_plan_region")),
    )
    with op.batch_alter_table("plan_region", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_region_region_id"), ["region_id"], unique=False)
    op.execute(
        "INSERT INTO plan_region (plan_id, region_id) "
        "SELECT id, region_id FROM plan WHERE region_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("plan_region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_region_region_id"))
    op.drop_table("plan_region")

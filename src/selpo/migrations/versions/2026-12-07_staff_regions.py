"""staff regions: managers and dispatchers scoped to regions (staff_region)

Every existing manager is given every existing region, so a single-region install behaves as
before.

Revision ID: 8b3f6e2a4c17
Revises: 5c1e7a9d2b40
Create Date: 2026-12-07 16:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b3f6e2a4c17"
down_revision: str | Sequence[str] | None = "5c1e7a9d2b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_SCOPE = (
    "(role = 'clerk' AND post_office_id IS NOT NULL)"
    " OR (role = 'supervisor' AND district_id IS NOT NULL)"
    " OR (role = 'manager' AND post_office_id IS NULL AND district_id IS NULL)"
)
NEW_SCOPE = (
    "(role = 'clerk' AND post_office_id IS NOT NULL)"
    " OR (role = 'supervisor' AND district_id IS NOT NULL)"
    " OR (role IN ('manager', 'dispatcher')"
    " AND post_office_id IS NULL AND district_id IS NULL)"
)


def _clerk_scope(condition: str) -> None:
    """Replace the clerk table's scope check (Alembic does not compare check constraints)."""
    with op.batch_alter_table("clerk", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_clerk_scope"), type_="check")
        batch_op.create_check_constraint("scope", condition)


def upgrade() -> None:
    op.create_table(
        "staff_region",
        sa.Column("clerk_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clerk_id"],
            ["clerk.id"],
            name=op.f("fk_staff_region_clerk_id_clerk"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["region.id"],
            name=op.f("fk_staff_region_region_id_region"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("clerk_id", "region_id", name=op.f("pk_staff_region")),
    )
    with op.batch_alter_table("staff_region", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_region_region_id"), ["region_id"], unique=False)
    _clerk_scope(NEW_SCOPE)
    op.execute(
        "INSERT INTO staff_region (clerk_id, region_id)"
        " SELECT clerk.id, region.id FROM clerk CROSS JOIN region WHERE clerk.role = 'manager'"
    )


def downgrade() -> None:
    dispatchers = "SELECT id FROM clerk WHERE role = 'dispatcher'"
    op.execute(f"DELETE FROM clerk_session WHERE clerk_id IN ({dispatchers})")
    op.execute("DELETE FROM clerk WHERE role = 'dispatcher'")
    _clerk_scope(OLD_SCOPE)
    with op.batch_alter_table("staff_region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_region_region_id"))
    op.drop_table("staff_region")

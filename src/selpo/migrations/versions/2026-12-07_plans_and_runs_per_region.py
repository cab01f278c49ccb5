"""plans and simulation runs per region: plan.region_id, simulation_run.region_id

A database may hold several regions; a plan and a simulation run belong to the one they were
made for. Rows kept before get the database's region when it holds exactly one (every
database before this revision did), else stay NULL.

Revision ID: 8f3b6d2a1c57
Revises: 5c1e7a9d2b40
Create Date: 2026-12-07 16:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8f3b6d2a1c57"
down_revision: str | Sequence[str] | None = "8b3f6e2a4c17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("plan", "simulation_run")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("region_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_region_id"), ["region_id"], unique=False)
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_region_id_region"), "region", ["region_id"], ["id"]
            )
    connection = op.get_bind()
    regions = connection.execute(sa.text("SELECT id FROM region")).scalars().all()
    if len(regions) == 1:
        for table in TABLES:
            connection.execute(
                sa.text(f"UPDATE {table} SET region_id = :region WHERE region_id IS NULL"),
                {"region": regions[0]},
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_region_id_region"), type_="foreignkey")
            batch_op.drop_index(batch_op.f(f"ix_{table}_region_id"))
            batch_op.drop_column("region_id")

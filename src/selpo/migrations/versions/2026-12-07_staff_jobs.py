"""staff jobs: plans and simulations started from the regional dashboard (staff_job)

Revision ID: fed28d51ed5c
Revises: ab391419d444
Create Date: 2026-12-07 20:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import selpo.db

revision: str = "fed28d51ed5c"
down_revision: str | Sequence[str] | None = "ab391419d444"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", selpo.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", selpo.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", selpo.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", selpo.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_staff_job_plan_id_plan"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_staff_job_region_id_region")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["simulation_run.id"],
            name=op.f("fk_staff_job_run_id_simulation_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_job")),
    )
    with op.batch_alter_table("staff_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_job_region_id"), ["region_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_job_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_job_status"))
        batch_op.drop_index(batch_op.f("ix_staff_job_region_id"))
    op.drop_table("staff_job")

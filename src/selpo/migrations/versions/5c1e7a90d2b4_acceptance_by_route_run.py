"""acceptance by the arriving route run's manifest

An acceptance names the route run it accepts (``acceptance.route_code`` and
``acceptance.run_departure``, the run ``<route_code>@<departure>`` of ``manifest_entry``):
what that run's manifest carries for the office is what is expected. Both empty: a delivery
outside any run, which expects nothing (acceptances made before this revision keep that).

Revision ID: 5c1e7a90d2b4
Revises: 5d1c0a7e9b21
Create Date: 2026-12-07 23:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import selpo.db

revision: str = "5c1e7a90d2b4"
down_revision: str | Sequence[str] | None = "5d1c0a7e9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("acceptance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route_code", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("run_departure", selpo.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("acceptance", schema=None) as batch_op:
        batch_op.drop_column("run_departure")
        batch_op.drop_column("route_code")

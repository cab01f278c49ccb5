"""clerk sign-in guard: wrong passwords counted per (login, client address)

Revision ID: 5c1e7a9d2b40
Revises: 5d1c2a7e9b40
Create Date: 2026-12-07 14:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import selpo.db

revision: str = "5c1e7a9d2b40"
down_revision: str | Sequence[str] | None = "5d1c2a7e9b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clerk_sign_in_guard",
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", selpo.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failed_at", selpo.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("succeeded_at", selpo.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("login", "address", name=op.f("pk_clerk_sign_in_guard")),
    )


def downgrade() -> None:
    op.drop_table("clerk_sign_in_guard")

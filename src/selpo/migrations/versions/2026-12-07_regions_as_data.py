"""regions as data: region slug, capital, population, source, imported_at; settlement ref

Every locality of a region becomes a settlement row keyed by the data's stable key (``ref``,
unique per district); same-name villages in one district are allowed, so the unique
(district_id, name) goes. Existing settlements get ``legacy:<id>``: the next import re-keys
each of them to the locality of the same name in the same district (``network.importer``), so
their ids, and the offices and plans that refer to them, survive. The marketplace's accepting
index loses its hard-coded default: the importer sets it from the data.

Revision ID: 3b8e4f61c2a7
Revises: 8f3b6d2a1c57
Create Date: 2026-12-07 16:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import selpo.db

revision: str = "3b8e4f61c2a7"
down_revision: str | Sequence[str] | None = "8f3b6d2a1c57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _defer_foreign_keys() -> None:
    """SQLite rebuilds a table to change a constraint: check the references at commit."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA defer_foreign_keys = ON")


def upgrade() -> None:
    _defer_foreign_keys()
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slug", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("capital", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("population", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("imported_at", selpo.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_region_slug"), ["slug"], unique=True)

    with op.batch_alter_table("settlement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ref", sa.String(length=64), nullable=True))
    op.execute("UPDATE settlement SET ref = 'legacy:' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table("settlement", schema=None) as batch_op:
        batch_op.alter_column("ref", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint("uq_settlement_district_id_name", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_settlement_district_id_ref"), ["district_id", "ref"]
        )

    with op.batch_alter_table("marketplace", schema=None) as batch_op:
        batch_op.alter_column(
            "accepting_index",
            existing_type=sa.String(length=6),
            existing_nullable=False,
            server_default=None,
        )


def downgrade() -> None:
    _defer_foreign_keys()
    with op.batch_alter_table("marketplace", schema=None) as batch_op:
        batch_op.alter_column(
            "accepting_index",
            existing_type=sa.String(length=6),
            existing_nullable=False,
            server_default="153950",
        )

    with op.batch_alter_table("settlement", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_settlement_district_id_ref"), type_="unique")
        batch_op.create_unique_constraint("uq_settlement_district_id_name", ["district_id", "name"])
        batch_op.drop_column("ref")

    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_region_slug"))
        batch_op.drop_column("imported_at")
        batch_op.drop_column("source")
        batch_op.drop_column("population")
        batch_op.drop_column("capital")
        batch_op.drop_column("slug")

"""collection partners: partners, the offices they serve, bags, collection acts

A collection partner (a recycler, a charity) takes bags from residents at the offices it
serves; the bags ride the return runs to its depot hub, where it collects them against a
collection act numbered without gaps per partner and year.

Revision ID: 7c0e11ec7b4a
Revises: 5c1e7a90d2b4
Create Date: 2026-12-07 23:55:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from selpo.db import UTCDateTime

revision: str = "7c0e11ec7b4a"
down_revision: str | Sequence[str] | None = "5c1e7a90d2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "collection_partner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("takes", sa.JSON(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("depot_hub_id", sa.Integer(), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=True),
        sa.Column("key_sha256", sa.String(length=64), nullable=True),
        sa.Column("key_issued_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("coupon_prefix", sa.String(length=8), nullable=True),
        sa.Column("coupon_min_g", sa.Integer(), nullable=False),
        sa.Column("coupon_note", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["depot_hub_id"], ["hub.id"], name=op.f("fk_collection_partner_depot_hub_id_hub")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_collection_partner_region_id_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_partner")),
        sa.UniqueConstraint("code", name=op.f("uq_collection_partner_code")),
        sa.UniqueConstraint("key_prefix", name=op.f("uq_collection_partner_key_prefix")),
    )
    op.create_index(op.f("ix_collection_partner_region_id"), "collection_partner", ["region_id"])
    op.create_table(
        "collection_partner_office",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("post_office_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["collection_partner.id"],
            name=op.f("fk_collection_partner_office_partner_id_collection_partner"),
        ),
        sa.ForeignKeyConstraint(
            ["post_office_id"],
            ["post_office.id"],
            name=op.f("fk_collection_partner_office_post_office_id_post_office"),
        ),
        sa.PrimaryKeyConstraint(
            "partner_id", "post_office_id", name=op.f("pk_collection_partner_office")
        ),
    )
    op.create_index(
        op.f("ix_collection_partner_office_post_office_id"),
        "collection_partner_office",
        ["post_office_id"],
    )
    op.create_table(
        "collection_act",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("hub_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("bags", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["hub_id"], ["hub.id"], name=op.f("fk_collection_act_hub_id_hub")),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["collection_partner.id"],
            name=op.f("fk_collection_act_partner_id_collection_partner"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_act")),
        sa.UniqueConstraint(
            "partner_id", "year", "serial", name=op.f("uq_collection_act_partner_id_year_serial")
        ),
    )
    op.create_index(op.f("ix_collection_act_partner_id"), "collection_act", ["partner_id"])
    op.create_table(
        "collection_act_serial",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["collection_partner.id"],
            name=op.f("fk_collection_act_serial_partner_id_collection_partner"),
        ),
        sa.PrimaryKeyConstraint("partner_id", "year", name=op.f("pk_collection_act_serial")),
    )
    op.create_table(
        "collection_bag",
        sa.Column("id", _ID, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("clerk_id", sa.Integer(), nullable=False),
        sa.Column("material", sa.String(length=32), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("litres", sa.Float(), nullable=False),
        sa.Column("taken_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("coupon_code", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("act_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["act_id"], ["collection_act.id"], name=op.f("fk_collection_bag_act_id_collection_act")
        ),
        sa.ForeignKeyConstraint(
            ["clerk_id"], ["clerk.id"], name=op.f("fk_collection_bag_clerk_id_clerk")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["post_office.id"], name=op.f("fk_collection_bag_office_id_post_office")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["collection_partner.id"],
            name=op.f("fk_collection_bag_partner_id_collection_partner"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_bag")),
        sa.UniqueConstraint("code", name=op.f("uq_collection_bag_code")),
        sa.UniqueConstraint("coupon_code", name=op.f("uq_collection_bag_coupon_code")),
    )
    op.create_index(op.f("ix_collection_bag_act_id"), "collection_bag", ["act_id"])
    op.create_index("ix_collection_bag_partner_taken", "collection_bag", ["partner_id", "taken_at"])
    op.create_index("ix_collection_bag_office_taken", "collection_bag", ["office_id", "taken_at"])


def downgrade() -> None:
    op.drop_table("collection_bag")
    op.drop_table("collection_act_serial")
    op.drop_table("collection_act")
    op.drop_table("collection_partner_office")
    op.drop_table("collection_partner")

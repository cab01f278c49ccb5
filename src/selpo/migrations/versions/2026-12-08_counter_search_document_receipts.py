"""the counter: issue by identity document, numbered receipts

A marketplace may allow the counter to hand a parcel over on an identity document when the
recipient has no pickup code (``marketplace.issue_by_document``); the workstation's session
keeps the document checked until the issue (``clerk_session.issue_document``). Every issue
gets a receipt (``issue_receipt``): its number, gap-free per office and year
(``receipt_serial``), the clerk, and how the recipient was identified.

Revision ID: 5d1c7a3e9b20
Revises: 7c0e11ec7b4a
Create Date: 2026-12-08 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import selpo.db

revision: str = "5d1c7a3e9b20"
down_revision: str | Sequence[str] | None = "7c0e11ec7b4a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("marketplace", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("issue_by_document", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("clerk_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issue_document", sa.String(length=40), nullable=True))
    op.create_table(
        "receipt_serial",
        sa.Column("post_office_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_office_id"],
            ["post_office.id"],
            name=op.f("fk_receipt_serial_post_office_id_post_office"),
        ),
        sa.PrimaryKeyConstraint("post_office_id", "year", name=op.f("pk_receipt_serial")),
    )
    op.create_table(
        "issue_receipt",
        sa.Column("id", _ID, nullable=False),
        sa.Column("shipment_id", _ID, nullable=False),
        sa.Column("post_office_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("clerk_id", sa.Integer(), nullable=True),
        sa.Column("clerk_name", sa.String(length=200), nullable=False),
        sa.Column("issued_at", selpo.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("identified_by", sa.String(length=16), nullable=False),
        sa.Column("document_type", sa.String(length=32), nullable=True),
        sa.Column("document_last4", sa.String(length=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["clerk_id"], ["clerk.id"], name=op.f("fk_issue_receipt_clerk_id_clerk")
        ),
        sa.ForeignKeyConstraint(
            ["post_office_id"],
            ["post_office.id"],
            name=op.f("fk_issue_receipt_post_office_id_post_office"),
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipment.id"], name=op.f("fk_issue_receipt_shipment_id_shipment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue_receipt")),
        sa.UniqueConstraint(
            "post_office_id",
            "year",
            "number",
            name=op.f("uq_issue_receipt_post_office_id_year_number"),
        ),
        sa.UniqueConstraint("shipment_id", name=op.f("uq_issue_receipt_shipment_id")),
    )


def downgrade() -> None:
    op.drop_table("issue_receipt")
    op.drop_table("receipt_serial")
    with op.batch_alter_table("clerk_session", schema=None) as batch_op:
        batch_op.drop_column("issue_document")
    with op.batch_alter_table("marketplace", schema=None) as batch_op:
        batch_op.drop_column("issue_by_document")

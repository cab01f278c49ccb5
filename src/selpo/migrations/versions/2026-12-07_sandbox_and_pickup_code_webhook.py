"""the sandbox and the pickup code in the marketplace's webhook

Test keys (``api_key.sandbox``) make sandbox shipments (``shipment.sandbox``) and their own
Idempotency-Key records (``idempotency_record.sandbox``); an order id, and an Idempotency-Key,
is unique per marketplace on each side, so the unique constraints take the flag in. A
marketplace may opt in to the pickup code in ``shipment.ready_for_pickup``
(``marketplace.pickup_code_in_webhook``); the outbox row that carries it names the fields to
wipe once it is finished (``outbox_message.secret_fields``).

Revision ID: 2990f32264cb
Revises: 1b9a041e2d7f
Create Date: 2026-12-07 19:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2990f32264cb"
down_revision: str | Sequence[str] | None = "1b9a041e2d7f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _defer_foreign_keys() -> None:
    """SQLite rebuilds a table to change a constraint: check the references at commit."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA defer_foreign_keys = ON")


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False)


def upgrade() -> None:
    _defer_foreign_keys()
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(_flag("sandbox"))

    with op.batch_alter_table("marketplace", schema=None) as batch_op:
        batch_op.add_column(_flag("pickup_code_in_webhook"))

    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.add_column(_flag("sandbox"))
        batch_op.drop_constraint("uq_shipment_marketplace_id_external_order_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_shipment_marketplace_id_sandbox_external_order_id"),
            ["marketplace_id", "sandbox", "external_order_id"],
        )

    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.add_column(_flag("sandbox"))
        batch_op.drop_constraint("uq_idempotency_record_marketplace_id_key", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_idempotency_record_marketplace_id_sandbox_key"),
            ["marketplace_id", "sandbox", "key"],
        )

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret_fields", sa.JSON(), nullable=True))


def downgrade() -> None:
    _defer_foreign_keys()
    # The sandbox's rows have no place in the schema before it: they go first.
    op.execute(
        "DELETE FROM shipment_item WHERE shipment_id IN (SELECT id FROM shipment WHERE sandbox)"
    )
    op.execute(
        "DELETE FROM tracking_event WHERE shipment_id IN (SELECT id FROM shipment WHERE sandbox)"
    )
    op.execute("DELETE FROM shipment WHERE sandbox")
    op.execute("DELETE FROM idempotency_record WHERE sandbox")
    op.execute("DELETE FROM api_key WHERE sandbox")

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("secret_fields")

    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_idempotency_record_marketplace_id_sandbox_key"), type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_idempotency_record_marketplace_id_key", ["marketplace_id", "key"]
        )
        batch_op.drop_column("sandbox")

    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_shipment_marketplace_id_sandbox_external_order_id"), type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_shipment_marketplace_id_external_order_id", ["marketplace_id", "external_order_id"]
        )
        batch_op.drop_column("sandbox")

    with op.batch_alter_table("marketplace", schema=None) as batch_op:
        batch_op.drop_column("pickup_code_in_webhook")

    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_column("sandbox")

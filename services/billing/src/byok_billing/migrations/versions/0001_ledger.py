"""The ledger: usage events, charges (with an outbox of publish batches), budgets, spend, alerts.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from byok_billing.adapters.sqltypes import Money, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "usage_events",
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("request_id", sa.String(200)),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("user_id", sa.String(200)),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("route", sa.String(32), nullable=False),
        sa.Column("key_source", sa.String(16), nullable=False),
        sa.Column("byok", sa.Boolean, nullable=False),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger, nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger, nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "publish_batches",
        sa.Column("batch_id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("published", sa.Boolean, nullable=False),
    )
    op.create_index("ix_publish_batches_unpublished", "publish_batches", ["published", "batch_id"])
    op.create_table(
        "charges",
        sa.Column("event_id", sa.String(200), sa.ForeignKey("usage_events.event_id"), primary_key=True),
        sa.Column("request_id", sa.String(200)),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("user_id", sa.String(200)),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("route", sa.String(32), nullable=False),
        sa.Column("key_source", sa.String(16), nullable=False),
        sa.Column("byok", sa.Boolean, nullable=False),
        sa.Column("provider_cost", Money, nullable=False),
        sa.Column("markup_rate", Money, nullable=False),
        sa.Column("charge", Money, nullable=False),
        sa.Column("priced", sa.Boolean, nullable=False),
        sa.Column("price_source", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("billed_at", UtcDateTime, nullable=False),
        sa.Column("batch_id", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_charges_tenant_occurred", "charges", ["tenant_id", "occurred_at"])
    op.create_index("ix_charges_batch", "charges", ["batch_id"])
    op.create_table(
        "budgets",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("measure", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("amount", Money, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "spend",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("measure", sa.String(32), primary_key=True),
        sa.Column("amount", Money, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("measure", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("threshold", sa.String(4), primary_key=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("budget", Money, nullable=False),
        sa.Column("spent", Money, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("published", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    for table in ("alerts", "spend", "budgets", "charges", "publish_batches", "usage_events"):
        op.drop_table(table)

"""The ledger's tables (SQLAlchemy Core). Alembic migrations in byok_billing/migrations create them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

from .sqltypes import Money, UtcDateTime

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

usage_events = Table(
    "usage_events",
    metadata,
    Column("event_id", String(200), primary_key=True, comment="billing idempotency key"),
    Column("request_id", String(200)),
    Column("tenant_id", String(200), nullable=False),
    Column("user_id", String(200)),
    Column("provider", String(32), nullable=False),
    Column("model", String(200), nullable=False),
    Column("route", String(32), nullable=False),
    Column("key_source", String(16), nullable=False),
    Column("byok", Boolean, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("cache_read_tokens", BigInteger, nullable=False),
    Column("cache_write_tokens", BigInteger, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_usage_events_tenant_occurred", "tenant_id", "occurred_at"),
)

# Outbox: the charges of one consumer batch are published after the commit, then the batch is
# marked published; a batch left unpublished by a crash is re-published on start (and by a sweeper).
publish_batches = Table(
    "publish_batches",
    metadata,
    Column("batch_id", BigId, primary_key=True, autoincrement=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published", Boolean, nullable=False, default=False),
    Index("ix_publish_batches_unpublished", "published", "batch_id"),
)

charges = Table(
    "charges",
    metadata,
    Column("event_id", String(200), ForeignKey("usage_events.event_id"), primary_key=True),
    Column("request_id", String(200)),
    Column("tenant_id", String(200), nullable=False),
    Column("user_id", String(200)),
    Column("provider", String(32), nullable=False),
    Column("model", String(200), nullable=False),
    Column("route", String(32), nullable=False),
    Column("key_source", String(16), nullable=False),
    Column("byok", Boolean, nullable=False),
    Column("provider_cost", Money, nullable=False),
    Column("markup_rate", Money, nullable=False),
    Column("charge", Money, nullable=False),
    Column("priced", Boolean, nullable=False),
    Column("price_source", String(64), nullable=False),
    Column("period", String(7), nullable=False, comment="YYYY-MM of occurred_at (UTC)"),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("billed_at", UtcDateTime, nullable=False),
    Column("batch_id", BigInteger, nullable=False),
    Index("ix_charges_tenant_occurred", "tenant_id", "occurred_at"),
    Index("ix_charges_batch", "batch_id"),
)

budgets = Table(
    "budgets",
    metadata,
    Column("tenant_id", String(200), primary_key=True),
    Column("measure", String(32), primary_key=True, comment="platform_charge | provider_cost"),
    Column("kind", String(8), primary_key=True, comment="soft | hard"),
    Column("amount", Money, nullable=False, comment="USD per calendar month (UTC)"),
    Column("updated_at", UtcDateTime, nullable=False),
)

spend = Table(
    "spend",
    metadata,
    Column("tenant_id", String(200), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("measure", String(32), primary_key=True),
    Column("amount", Money, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("tenant_id", String(200), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("measure", String(32), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("threshold", String(4), primary_key=True),
    Column("event_id", String(64), nullable=False),
    Column("budget", Money, nullable=False),
    Column("spent", Money, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("published", Boolean, nullable=False, default=False),
)

"""usage_events: index by tenant and time, for `byok-billing reconcile --tenant` on a large ledger.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_usage_events_tenant_occurred", "usage_events", ["tenant_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_usage_events_tenant_occurred", table_name="usage_events")

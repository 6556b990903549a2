"""PostgreSQL fast path of the ledger: COPY the batch into a temp table, then one statement inserts the
new usage events (ON CONFLICT (event_id) DO NOTHING) and the charges of exactly those; the spend of all
(tenant, period, measure) of the batch is then upserted in ONE statement (unnest of arrays).

Same semantics as SqlLedger._insert_new / _add_spend; a constant number of round trips per batch (the
generic path took one per spend row: ~400 for a batch of 200 tenants, ~60 % of the batch's DB time).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from byok_events import UsageEvent
from sqlalchemy import Connection

from ..domain.budgets import SpendKey
from ..domain.charges import ChargeRecord
from .ledger_sql import SqlLedger

_USAGE = (
    "event_id, request_id, tenant_id, user_id, provider, model, route, key_source, byok, input_tokens, "
    "output_tokens, cache_read_tokens, cache_write_tokens, occurred_at, received_at"
)
_CHARGE = "provider_cost, markup_rate, charge, priced, price_source, period, billed_at"

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS billing_stage (
    event_id varchar(200), request_id varchar(200), tenant_id varchar(200), user_id varchar(200),
    provider varchar(32), model varchar(200), route varchar(32), key_source varchar(16), byok boolean,
    input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint,
    occurred_at timestamptz, received_at timestamptz,
    provider_cost numeric, markup_rate numeric, charge numeric, priced boolean, price_source varchar(64),
    period varchar(7), billed_at timestamptz
) ON COMMIT DELETE ROWS
"""

# Constant column lists only: no input reaches the SQL text.
_INSERT = f"""
WITH new AS (
    INSERT INTO usage_events ({_USAGE})
    SELECT {_USAGE} FROM billing_stage
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
)
INSERT INTO charges (event_id, request_id, tenant_id, user_id, provider, model, route, key_source, byok,
                     {_CHARGE}, occurred_at, batch_id)
SELECT s.event_id, s.request_id, s.tenant_id, s.user_id, s.provider, s.model, s.route, s.key_source, s.byok,
       {", ".join("s." + c.strip() for c in _CHARGE.split(","))}, s.occurred_at, %(batch_id)s
FROM billing_stage s JOIN new ON new.event_id = s.event_id
RETURNING event_id
"""  # noqa: S608


# NUMERIC addition in the database: exact, and atomic against a concurrent consumer. Rows are sorted by
# key, so two consumers lock spend rows in the same order.
_ADD_SPEND = """
INSERT INTO spend (tenant_id, period, measure, amount)
SELECT * FROM unnest(%(tenant)s::varchar[], %(period)s::varchar[], %(measure)s::varchar[], %(amount)s::numeric[])
ON CONFLICT (tenant_id, period, measure) DO UPDATE SET amount = spend.amount + excluded.amount
RETURNING tenant_id, period, measure, amount
"""


class PgLedger(SqlLedger):
    def _add_spend(self, conn: Connection, deltas: dict[SpendKey, Decimal]) -> dict[SpendKey, Decimal]:
        if not deltas:
            return {}
        keys = sorted(deltas)
        params = {
            "tenant": [k[0] for k in keys],
            "period": [k[1] for k in keys],
            "measure": [k[2] for k in keys],
            "amount": [deltas[k] for k in keys],
        }
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute(_ADD_SPEND, params)
            return {(t, p, m): amount for t, p, m, amount in cur.fetchall()}

    def _insert_new(
        self,
        conn: Connection,
        priced: list[tuple[UsageEvent, ChargeRecord]],
        received_at: datetime,
        batch_id: int,
    ) -> set[str]:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute(_STAGE)  # per transaction: a rolled-back transaction takes a new temp table with it
            with cur.copy(f"COPY billing_stage ({_USAGE}, {_CHARGE}) FROM STDIN") as copy:
                for e, c in priced:
                    copy.write_row(
                        (
                            e.event_id,
                            e.request_id,
                            e.tenant_id,
                            e.user_id,
                            c.provider,
                            e.model,
                            c.route,
                            c.key_source,
                            e.byok,
                            e.input_tokens,
                            e.output_tokens,
                            e.cache_read_tokens,
                            e.cache_write_tokens,
                            e.occurred_at,
                            received_at,
                            c.provider_cost,
                            c.markup_rate,
                            c.charge,
                            c.priced,
                            c.price_source,
                            c.period,
                            c.billed_at,
                        )
                    )
            cur.execute(_INSERT, {"batch_id": batch_id})
            return {row[0] for row in cur.fetchall()}

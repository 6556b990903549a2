"""The ledger on SQLAlchemy 2 (PostgreSQL in production, a SQLite file embedded).

One transaction per consumer batch: usage events ON CONFLICT (event_id) DO NOTHING RETURNING event_id,
so only the new ones get a charge row, spend and alerts. SQLAlchemy is synchronous here; the async
methods run it in a worker thread so the event loop keeps consuming.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from byok_events import BudgetAlert, UsageEvent
from sqlalchemy import Connection, Engine, create_engine, event, insert, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from ..domain.budgets import Budget, Crossing, SpendKey, crossings, spend_deltas
from ..domain.charges import ChargeRecord
from ..domain.money import MONEY_CONTEXT, ZERO
from ..ports import RecordedBatch
from .schema import alerts, budgets, charges, publish_batches, spend, usage_events

CHARGE_COLUMNS = (
    "event_id",
    "request_id",
    "tenant_id",
    "user_id",
    "provider",
    "model",
    "route",
    "key_source",
    "byok",
    "provider_cost",
    "markup_rate",
    "charge",
    "priced",
    "price_source",
    "period",
    "occurred_at",
    "billed_at",
)


def make_engine(url: str, **options: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # a committed batch survives a crash of the machine too
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def usage_row(e: UsageEvent, received_at: datetime) -> dict[str, Any]:
    return {
        "event_id": e.event_id,
        "request_id": e.request_id,
        "tenant_id": e.tenant_id,
        "user_id": e.user_id,
        "provider": str(e.provider),
        "model": e.model,
        "route": str(e.route),
        "key_source": str(e.key_source),
        "byok": e.byok,
        "input_tokens": e.input_tokens,
        "output_tokens": e.output_tokens,
        "cache_read_tokens": e.cache_read_tokens,
        "cache_write_tokens": e.cache_write_tokens,
        "occurred_at": e.occurred_at,
        "received_at": received_at,
    }


def charge_row(c: ChargeRecord, batch_id: int) -> dict[str, Any]:
    row = {name: getattr(c, name) for name in CHARGE_COLUMNS}
    row["batch_id"] = batch_id
    return row


def charge_from_row(row: Any) -> ChargeRecord:
    return ChargeRecord(**{name: getattr(row, name) for name in CHARGE_COLUMNS})


def alert_from_row(row: Any) -> BudgetAlert:
    return BudgetAlert(
        event_id=row.event_id,
        tenant_id=row.tenant_id,
        period=row.period,
        kind=row.kind,
        measure=row.measure,
        threshold=row.threshold,
        budget=row.budget,
        spent=row.spent,
        at=row.at,
    )


class SqlLedger:
    """Ledger port on any SQLAlchemy dialect with INSERT .. ON CONFLICT .. RETURNING (PostgreSQL, SQLite)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert

    # -- the write path ------------------------------------------------------------------------------

    async def record_batch(self, priced: list[tuple[UsageEvent, ChargeRecord]], received_at: datetime) -> RecordedBatch:
        return await asyncio.to_thread(self.record_batch_sync, priced, received_at)

    def record_batch_sync(self, priced: list[tuple[UsageEvent, ChargeRecord]], received_at: datetime) -> RecordedBatch:
        with self.engine.begin() as conn:
            batch_id: int = conn.execute(
                insert(publish_batches)
                .values(created_at=received_at, published=False)
                .returning(publish_batches.c.batch_id)
            ).scalar_one()
            new_ids = self._insert_new(conn, priced, received_at, batch_id)
            new_charges = [c for _, c in priced if c.event_id in new_ids]
            if not new_charges:
                conn.execute(
                    update(publish_batches).where(publish_batches.c.batch_id == batch_id).values(published=True)
                )
                return RecordedBatch(None)
            totals = self._add_spend(conn, spend_deltas(new_charges))
            new_alerts = self._keep_new_alerts(conn, totals, received_at)
        return RecordedBatch(batch_id, new_charges, new_alerts)

    def _insert_new(
        self,
        conn: Connection,
        priced: list[tuple[UsageEvent, ChargeRecord]],
        received_at: datetime,
        batch_id: int,
    ) -> set[str]:
        """Insert the usage events whose event_id is new and their charges; return the new event_ids."""
        stmt = (
            self._insert(usage_events)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(usage_events.c.event_id)
        )
        new_ids: set[str] = set(conn.execute(stmt, [usage_row(e, received_at) for e, _ in priced]).scalars().all())
        if new_ids:
            conn.execute(insert(charges), [charge_row(c, batch_id) for _, c in priced if c.event_id in new_ids])
        return new_ids

    def _add_spend(self, conn: Connection, deltas: dict[SpendKey, Decimal]) -> dict[SpendKey, Decimal]:
        """Add the deltas to the spend rows and return the new totals (exact Decimal)."""
        if not deltas:
            return {}
        rows = [
            {"tenant_id": t, "period": p, "measure": m, "amount": amount}
            for (t, p, m), amount in sorted(deltas.items())
        ]
        if self.dialect == "postgresql":
            # NUMERIC addition in the database: exact, and atomic against a concurrent consumer.
            pg_insert = postgresql.insert(spend)
            pg_upsert = pg_insert.on_conflict_do_update(
                index_elements=["tenant_id", "period", "measure"],
                set_={"amount": text("spend.amount + excluded.amount")},  # NUMERIC +, not ||
            ).returning(spend.c.tenant_id, spend.c.period, spend.c.measure, spend.c.amount)
            totals: dict[SpendKey, Decimal] = {}
            for row in rows:  # a few rows per batch: one per tenant and measure
                r = conn.execute(pg_upsert, row).one()
                totals[(r.tenant_id, r.period, r.measure)] = r.amount
            return totals
        # SQLite keeps money as TEXT (its arithmetic is float), so add in Python; the usage insert
        # above already holds SQLite's single write lock, so nobody changes these rows meanwhile.
        keys = list(deltas)
        current = {
            (r.tenant_id, r.period, r.measure): r.amount
            for r in conn.execute(
                select(spend).where(tuple_(spend.c.tenant_id, spend.c.period, spend.c.measure).in_(keys))
            )
        }
        totals = {k: MONEY_CONTEXT.add(current.get(k, ZERO), d) for k, d in deltas.items()}
        sqlite_insert = sqlite.insert(spend)
        sqlite_upsert = sqlite_insert.on_conflict_do_update(
            index_elements=["tenant_id", "period", "measure"], set_={"amount": sqlite_insert.excluded.amount}
        )
        conn.execute(
            sqlite_upsert,
            [{"tenant_id": t, "period": p, "measure": m, "amount": a} for (t, p, m), a in totals.items()],
        )
        return totals

    def _keep_new_alerts(self, conn: Connection, totals: dict[SpendKey, Decimal], now: datetime) -> list[BudgetAlert]:
        if not totals:
            return []
        tenants = sorted({t for t, _, _ in totals})
        found = [
            Budget(r.tenant_id, r.measure, r.kind, r.amount)
            for r in conn.execute(select(budgets).where(budgets.c.tenant_id.in_(tenants)))
        ]
        new: list[BudgetAlert] = []
        for crossing in crossings(totals, found):
            row = self._alert_row(crossing, now)
            stmt = self._insert(alerts).on_conflict_do_nothing().returning(alerts.c.event_id)
            if conn.execute(stmt, row).scalar_one_or_none() is not None:
                new.append(alert_from_row(_Row(row)))
        return new

    @staticmethod
    def _alert_row(c: Crossing, now: datetime) -> dict[str, Any]:
        return {
            "tenant_id": c.tenant_id,
            "period": c.period,
            "measure": c.measure,
            "kind": c.kind,
            "threshold": c.threshold,
            "event_id": str(uuid.uuid4()),
            "budget": c.budget,
            "spent": c.spent,
            "at": now,
            "published": False,
        }

    async def mark_published(self, batch: RecordedBatch) -> None:
        await asyncio.to_thread(self.mark_published_sync, batch)

    def mark_published_sync(self, batch: RecordedBatch) -> None:
        with self.engine.begin() as conn:
            if batch.batch_id is not None:
                conn.execute(
                    update(publish_batches).where(publish_batches.c.batch_id == batch.batch_id).values(published=True)
                )
            if batch.alerts:
                conn.execute(
                    update(alerts)
                    .where(alerts.c.event_id.in_([a.event_id for a in batch.alerts]))
                    .values(published=True)
                )

    async def unpublished(self, older_than: datetime) -> list[RecordedBatch]:
        return await asyncio.to_thread(self.unpublished_sync, older_than)

    def unpublished_sync(self, older_than: datetime) -> list[RecordedBatch]:
        with self.engine.connect() as conn:
            ids: Sequence[int] = (
                conn.execute(
                    select(publish_batches.c.batch_id)
                    .where(publish_batches.c.published.is_(False), publish_batches.c.created_at <= older_than)
                    .order_by(publish_batches.c.batch_id)
                )
                .scalars()
                .all()
            )
            found = []
            for batch_id in ids:
                rows = conn.execute(select(charges).where(charges.c.batch_id == batch_id).order_by(charges.c.event_id))
                found.append(RecordedBatch(batch_id, [charge_from_row(r) for r in rows]))
            pending = [
                alert_from_row(r)
                for r in conn.execute(select(alerts).where(alerts.c.published.is_(False), alerts.c.at <= older_than))
            ]
            if pending:
                found.append(RecordedBatch(None, [], pending))
        return found

    async def ping(self) -> bool:
        def check() -> bool:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True

        try:
            return await asyncio.to_thread(check)
        except Exception:
            return False

    # -- budgets (CLI) -------------------------------------------------------------------------------

    def set_budget(self, tenant_id: str, measure: str, kind: str, amount: Decimal | None, now: datetime) -> None:
        with self.engine.begin() as conn:
            if amount is None:
                conn.execute(
                    budgets.delete().where(
                        budgets.c.tenant_id == tenant_id, budgets.c.measure == measure, budgets.c.kind == kind
                    )
                )
                return
            stmt = self._insert(budgets).values(
                tenant_id=tenant_id, measure=measure, kind=kind, amount=amount, updated_at=now
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["tenant_id", "measure", "kind"],
                    set_={"amount": stmt.excluded.amount, "updated_at": stmt.excluded.updated_at},
                )
            )

    def budgets_of(self, tenant_id: str) -> list[Budget]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(budgets).where(budgets.c.tenant_id == tenant_id).order_by(budgets.c.measure, budgets.c.kind)
            )
            return [Budget(r.tenant_id, r.measure, r.kind, r.amount) for r in rows]

    def spend_of(self, tenant_id: str, period: str) -> dict[str, Decimal]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(spend).where(spend.c.tenant_id == tenant_id, spend.c.period == period))
            return {r.measure: r.amount for r in rows}

    def alerts_of(self, tenant_id: str, period: str) -> list[BudgetAlert]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(alerts).where(alerts.c.tenant_id == tenant_id, alerts.c.period == period))
            return [alert_from_row(r) for r in rows]

    # -- the read side (reports, reconcile) ----------------------------------------------------------

    def iter_report_rows(self, tenant_id: str | None, start: datetime, end: datetime) -> Iterator[Any]:
        """Charges (with their usage's token counts) with start <= occurred_at < end, streamed."""
        query = (
            select(
                charges.c.tenant_id,
                charges.c.occurred_at,
                charges.c.provider,
                charges.c.model,
                charges.c.key_source,
                charges.c.provider_cost,
                charges.c.charge,
                charges.c.priced,
                usage_events.c.input_tokens,
                usage_events.c.output_tokens,
                usage_events.c.cache_read_tokens,
                usage_events.c.cache_write_tokens,
            )
            .join(usage_events, usage_events.c.event_id == charges.c.event_id)
            .where(charges.c.occurred_at >= start, charges.c.occurred_at < end)
        )
        if tenant_id is not None:
            query = query.where(charges.c.tenant_id == tenant_id)
        with self.engine.connect() as conn:
            yield from conn.execution_options(yield_per=5000).execute(query)

    def iter_usage_and_charges(
        self, tenant_id: str | None, start: datetime | None, end: datetime | None
    ) -> Iterator[tuple[Any, Any]]:
        """Each stored usage event with its charge row (None when missing)."""
        query = select(usage_events, *[c.label("c_" + c.name) for c in charges.c]).outerjoin(
            charges, charges.c.event_id == usage_events.c.event_id
        )
        if tenant_id is not None:
            query = query.where(usage_events.c.tenant_id == tenant_id)
        if start is not None:
            query = query.where(usage_events.c.occurred_at >= start)
        if end is not None:
            query = query.where(usage_events.c.occurred_at < end)
        with self.engine.connect() as conn:
            yield from conn.execution_options(yield_per=5000).execute(query.order_by(usage_events.c.event_id))


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

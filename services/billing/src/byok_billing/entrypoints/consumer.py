"""byok.usage.events in batches, on the shared runner's batch mode (byok_core.kafka.ConsumerRunner).

Per batch: decode and price (while the previous batch is being written) -> ledger commit -> charges, alerts
and dead letters published and acknowledged -> marked published -> Kafka offsets committed. A crash anywhere
replays the batch; replayed event_ids are no-ops. A batch that cannot be written is split by the runner
until the record at fault is alone, and that one is dead-lettered; a ledger that is down is retried.
The outbox sweeper re-publishes what a crash left committed but unpublished.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from byok_core.observability import HANDLE_SECONDS, MESSAGES
from byok_events import topics, utc_now

from .. import metrics
from ..handlers import (
    BatchOutcome,
    BillingDeps,
    PreparedBatch,
    finish_usage_batch,
    prepare_usage_batch,
    republish_unpublished,
)
from ..ports import InRecord

log = logging.getLogger("byok.billing")

# The database is unreachable or busy: the same batch can succeed later (sqlalchemy's and psycopg's names).
_TRANSIENT = {"OperationalError", "InterfaceError", "DisconnectionError", "PoolTimeoutError", "TimeoutError"}


class UsageBatches:
    """The runner's BatchHandler for billing. `lock` keeps the outbox sweep off a batch being written."""

    def __init__(self, deps: BillingDeps, lock: asyncio.Lock) -> None:
        self.deps, self.lock = deps, lock

    def prepare(self, records: list[Any]) -> PreparedBatch:
        return prepare_usage_batch(
            [InRecord(r.topic, r.partition, r.offset, r.key, r.value) for r in records], self.deps
        )

    async def finish(self, prepared: PreparedBatch) -> None:
        started = time.perf_counter()
        try:
            async with self.lock:
                outcome = await finish_usage_batch(prepared, self.deps)
        except Exception:
            metrics.BATCH_ERRORS.inc()
            raise
        _observe(outcome, time.perf_counter() - started, prepared.received)

    def transient(self, exc: BaseException) -> bool:
        if isinstance(exc, ConnectionError | TimeoutError):
            return True
        if getattr(exc, "connection_invalidated", False):
            return True
        return any(cls.__name__ in _TRANSIENT for cls in type(exc).__mro__)


class OutboxSweeper:
    """Re-publishes batches committed but not published, older than the grace: a younger one may belong to
    a live consumer that is publishing it right now, and taking it too would duplicate charges."""

    def __init__(self, deps: BillingDeps, lock: asyncio.Lock, *, every: float, grace: float) -> None:
        self.deps, self.lock = deps, lock
        self.every, self.grace = every, timedelta(seconds=grace)

    async def sweep(self, older_than: datetime | None = None) -> None:
        try:
            async with self.lock:
                await republish_unpublished(self.deps, older_than=older_than or utc_now() - self.grace)
        except Exception:
            log.exception("outbox sweep failed; will retry")

    async def run(self) -> None:
        """The first periodic sweep comes once the grace is over, for batches too young at start-up."""
        await asyncio.sleep(min(self.every, self.grace.total_seconds()))
        while True:
            await self.sweep()
            await asyncio.sleep(self.every)


def _observe(outcome: BatchOutcome, elapsed: float, count: int) -> None:
    topic = topics.USAGE_EVENTS
    metrics.BATCH_SECONDS.observe(elapsed)
    HANDLE_SECONDS.labels(metrics.SERVICE, topic).observe(elapsed / max(count, 1))
    for name, value in (
        ("charged", outcome.charged),
        ("duplicate", outcome.duplicates),
        ("invalid", outcome.invalid),
        ("unpriced", outcome.unpriced),
    ):
        if value:
            MESSAGES.labels(metrics.SERVICE, topic, name).inc(value)
    if outcome.alerts:
        MESSAGES.labels(metrics.SERVICE, topics.BILLING_ALERTS, "published").inc(outcome.alerts)

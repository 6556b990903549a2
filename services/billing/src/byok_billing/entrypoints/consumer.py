"""The consumer loop: poll a batch, handle it (ledger commit, publish), then commit the Kafka offsets.

Order per batch: database commit -> charges/alerts/DLQ published and acknowledged -> marked published
-> Kafka offsets committed. A crash anywhere replays the batch; replayed event_ids are no-ops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from byok_core.observability import HANDLE_SECONDS, MESSAGES, record_consumer_lag
from byok_events import topics, utc_now

from .. import metrics
from ..adapters.kafka_io import UsageConsumer
from ..handlers import (
    BillingDeps,
    PreparedBatch,
    finish_usage_batch,
    prepare_usage_batch,
    republish_unpublished,
)
from ..ports import InRecord

log = logging.getLogger("byok.billing")


class ConsumerLoop:
    def __init__(
        self,
        consumer: UsageConsumer,
        deps: BillingDeps,
        *,
        max_records: int,
        poll_ms: int,
        sweep_seconds: float,
        republish_grace_seconds: float = 5.0,
        pipeline: bool = False,
    ) -> None:
        self.consumer, self.deps = consumer, deps
        self.max_records, self.poll_ms, self.sweep_seconds = max_records, poll_ms, sweep_seconds
        self.grace = timedelta(seconds=republish_grace_seconds)
        self.heartbeat = time.monotonic()
        self.processed = 0
        self.backoff = 0.5
        self.pipeline = pipeline

    def alive(self, within: float = 60.0) -> bool:
        return time.monotonic() - self.heartbeat < within

    async def run(self, stop: asyncio.Event) -> None:
        """Two-stage pipeline: batch N is recorded/published/committed while batch N+1 is polled and priced.
        Batches finish strictly in order, so offsets only move forward after their ledger commit."""
        # Batches a crash left unpublished; the grace keeps us off a live consumer's batch in flight.
        await republish_unpublished(self.deps, older_than=utc_now() - self.grace)
        last_lag = time.monotonic()
        # The first sweep comes once the grace is over, for batches that were too young at start-up.
        last_sweep = last_lag - self.sweep_seconds + self.grace.total_seconds()
        inflight: tuple[asyncio.Task[None], list[InRecord]] | None = None
        try:
            while not stop.is_set():
                self.heartbeat = time.monotonic()
                records, offsets = await self.consumer.poll(self.poll_ms, self.max_records)
                prepared = prepare_usage_batch(records, self.deps) if records else None
                if inflight is not None:
                    ok = await self._settle(inflight, records)
                    inflight = None
                    if not ok:
                        continue  # both batches were rewound and will be polled again
                if prepared is not None:
                    inflight = (asyncio.create_task(self._finish(prepared, offsets)), records)
                    if not self.pipeline:
                        await self._settle(inflight, [])
                        inflight = None
                now = time.monotonic()
                if now - last_sweep >= self.sweep_seconds and inflight is None:
                    last_sweep = now
                    await self._sweep(utc_now() - self.grace)
                if now - last_lag >= 5:
                    last_lag = now
                    await record_consumer_lag(metrics.SERVICE, self.consumer.consumer)
        finally:
            if inflight is not None:
                await self._settle(inflight, [])

    async def _finish(self, prepared: PreparedBatch, offsets: dict[TopicPartition, int]) -> None:
        started = time.perf_counter()
        outcome = await finish_usage_batch(prepared, self.deps)
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # A rebalance took the partitions: the new owner replays them, as no-ops.
            log.warning("offset commit failed; records will be redelivered", extra={"error": type(exc).__name__})
        self.processed += prepared.received
        self._observe(outcome, time.perf_counter() - started, prepared.received)

    async def _settle(self, inflight: tuple[asyncio.Task[None], list[InRecord]], later: list[InRecord]) -> bool:
        """Wait for the batch in flight; on failure rewind it (and the batch polled after it) and back off."""
        task, records = inflight
        try:
            await task
            self.backoff = 0.5
            return True
        except Exception:
            metrics.BATCH_ERRORS.inc()
            log.exception("batch failed; it will be processed again", extra={"records": len(records)})
            self._rewind(records + later)
            await asyncio.sleep(self.backoff)
            self.backoff = min(self.backoff * 2, 30.0)
            await self._sweep(utc_now())  # a batch committed but not published is not new on replay
            return False

    async def _sweep(self, older_than: datetime) -> None:
        try:
            await republish_unpublished(self.deps, older_than=older_than)
        except Exception:
            log.exception("outbox sweep failed; will retry")

    def _rewind(self, records: list[InRecord]) -> None:
        first: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            first[tp] = min(first.get(tp, r.offset), r.offset)
        for tp, offset in first.items():
            try:
                self.consumer.consumer.seek(tp, offset)
            except Exception:  # noqa: S110 - a partition revoked meanwhile is replayed by its new owner
                pass

    @staticmethod
    def _observe(outcome, elapsed: float, count: int) -> None:  # type: ignore[no-untyped-def]
        topic = topics.USAGE_EVENTS
        metrics.BATCH_SECONDS.observe(elapsed)
        per_message = elapsed / count
        HANDLE_SECONDS.labels(metrics.SERVICE, topic).observe(per_message)
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

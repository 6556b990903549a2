"""Use cases of the billing consumer: price a batch of usage records, record it, publish what is new."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from byok_core.kafka import DeadLetters, failure_reason
from byok_events import UsageEvent, topics, utc_now
from byok_events.validation import field_errors
from pydantic import ValidationError

from .domain.charges import ChargeRecord, price_event
from .domain.pricing import Pricer
from .ports import InRecord, Ledger, OutRecord, Publisher, RecordedBatch

log = logging.getLogger("byok.billing")
DEAD_LETTERS = DeadLetters()


@dataclass
class BillingDeps:
    ledger: Ledger
    publisher: Publisher
    pricer: Pricer
    markup: Decimal
    byok_fee: Decimal


@dataclass
class BatchOutcome:
    received: int = 0
    invalid: int = 0
    duplicates: int = 0
    charged: int = 0
    unpriced: int = 0
    alerts: int = 0
    dead_letters: list[OutRecord] = field(default_factory=list)


def _reason(exc: ValidationError) -> str:
    """A short reason naming the fields, without the offending values (they could be anything)."""
    return "invalid_request: " + field_errors(exc)


def dead_letter(record: InRecord, reason: str) -> OutRecord:
    log.warning(
        "usage record sent to the DLQ",
        extra={"partition": record.partition, "offset": record.offset, "reason": reason[:200]},
    )
    return OutRecord(topics.DLQ, record.key, DEAD_LETTERS.encode(record, reason))


def decode(records: list[InRecord]) -> tuple[list[UsageEvent], list[OutRecord], int]:
    """Valid events (first of each event_id in the batch), dead letters, and in-batch duplicates."""
    events: list[UsageEvent] = []
    dead: list[OutRecord] = []
    seen: set[str] = set()
    duplicates = 0
    for record in records:
        if not record.value:
            dead.append(dead_letter(record, "invalid_request: empty record"))
            continue
        try:
            event = UsageEvent.model_validate_json(record.value)
        except ValidationError as exc:
            dead.append(dead_letter(record, _reason(exc)))
            continue
        except Exception as exc:
            dead.append(dead_letter(record, "invalid_request: " + failure_reason(exc)))
            continue
        if event.event_id in seen:
            duplicates += 1
            continue
        seen.add(event.event_id)
        events.append(event)
    return events, dead, duplicates


def outgoing(batch: RecordedBatch) -> list[OutRecord]:
    out = [OutRecord(topics.BILLING_CHARGES, c.tenant_id.encode(), c.to_bytes()) for c in batch.new_charges]
    out.extend(OutRecord(topics.BILLING_ALERTS, a.tenant_id.encode(), a.to_bytes()) for a in batch.alerts)
    return out


@dataclass
class PreparedBatch:
    """A batch decoded and priced (CPU only), not yet recorded."""

    received: int
    priced: list[tuple[UsageEvent, ChargeRecord]]
    dead: list[OutRecord]
    duplicates: int
    now: datetime


def prepare_usage_batch(records: list[InRecord], deps: BillingDeps, now: datetime | None = None) -> PreparedBatch:
    """Validate and price: no I/O, so the consumer can do it while the previous batch is being recorded."""
    now = now or utc_now()
    events, dead, duplicates = decode(records)
    priced = [
        (e, price_event(e, deps.pricer, markup=deps.markup, byok_fee=deps.byok_fee, billed_at=now)) for e in events
    ]
    return PreparedBatch(len(records), priced, dead, duplicates, now)


async def finish_usage_batch(prepared: PreparedBatch, deps: BillingDeps) -> BatchOutcome:
    """Record (one transaction), then publish new charges, alerts and dead letters and mark them published.

    Returns once everything is durable: the caller may commit the Kafka offsets afterwards. A redelivered
    event_id is a no-op in the ledger, so it is never charged or published twice.
    """
    priced, dead = prepared.priced, prepared.dead
    batch = await deps.ledger.record_batch(priced, prepared.now) if priced else RecordedBatch(None)
    out = dead + outgoing(batch)
    if out:
        await deps.publisher.publish(out)
    if batch.new_charges or batch.alerts:
        await deps.ledger.mark_published(batch)
    unpriced = [c for c in batch.new_charges if not c.priced]
    for c in unpriced:
        log.warning(
            "no price known: charged 0 and kept for review",
            extra={"event_id": c.event_id, "provider": c.provider, "model": c.model},
        )
    for alert in batch.alerts:
        log.info(
            "budget threshold crossed",
            extra={
                "tenant_id": alert.tenant_id,
                "kind": alert.kind,
                "threshold": alert.threshold,
                "measure": alert.measure,
                "period": alert.period,
            },
        )
    return BatchOutcome(
        received=prepared.received,
        invalid=len(dead),
        duplicates=prepared.duplicates + len(priced) - len(batch.new_charges),
        charged=len(batch.new_charges),
        unpriced=len(unpriced),
        alerts=len(batch.alerts),
        dead_letters=dead,
    )


async def handle_usage_batch(records: list[InRecord], deps: BillingDeps, now: datetime | None = None) -> BatchOutcome:
    """prepare + finish: validate, price, record, publish."""
    return await finish_usage_batch(prepare_usage_batch(records, deps, now), deps)


async def republish_unpublished(deps: BillingDeps, older_than: datetime) -> int:
    """The outbox sweep: publish what a crash left committed but unpublished, then mark it."""
    count = 0
    for batch in await deps.ledger.unpublished(older_than):
        out = outgoing(batch)
        if out:
            await deps.publisher.publish(out)
        await deps.ledger.mark_published(batch)
        count += len(out)
    if count:
        log.info("re-published charges and alerts left unpublished", extra={"records": count})
    return count

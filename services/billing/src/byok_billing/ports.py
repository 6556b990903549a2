"""The outside world of the billing consumer, as small Protocols (adapters/ implements them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from byok_events import BudgetAlert, UsageEvent

from .domain.charges import ChargeRecord


@dataclass(frozen=True, slots=True)
class InRecord:
    """One Kafka record as consumed."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class OutRecord:
    topic: str
    key: bytes | None
    value: bytes


@dataclass
class RecordedBatch:
    """What one ledger transaction made new: only these are published."""

    batch_id: int | None
    new_charges: list[ChargeRecord] = field(default_factory=list)
    alerts: list[BudgetAlert] = field(default_factory=list)


class Ledger(Protocol):
    async def record_batch(self, priced: list[tuple[UsageEvent, ChargeRecord]], received_at: datetime) -> RecordedBatch:
        """In ONE transaction: store the usage events and charges whose event_id is new (others are
        no-ops), add them to the tenants' spend, and keep the budget alerts crossed for the first time."""
        ...

    async def mark_published(self, batch: RecordedBatch) -> None: ...

    async def unpublished(self, older_than: datetime) -> list[RecordedBatch]:
        """Batches and alerts committed but not marked published (a crash in between)."""
        ...

    async def ping(self) -> bool: ...


class Publisher(Protocol):
    async def publish(self, records: list[OutRecord]) -> None:
        """Send all records and wait until the broker acknowledged every one (acks=all)."""
        ...

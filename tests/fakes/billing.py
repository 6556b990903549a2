"""Billing test doubles: a valid byok.usage/v1 event as a dict to vary, an in-memory ledger and publisher."""

from __future__ import annotations

from typing import Any

from byok_billing.domain.charges import ChargeRecord
from byok_billing.ports import OutRecord, RecordedBatch
from byok_events import UsageEvent


def usage_event(event_id: Any = "e1", tenant: str = "acme", **changes: Any) -> dict[str, Any]:
    """Anthropic, user key, 1200 input tokens (1000 cache reads), 300 output; `field=...` drops a field."""
    event: dict[str, Any] = {
        "schema": "byok.usage/v1",
        "event_id": event_id,
        "request_id": f"r-{event_id}" if isinstance(event_id, str) else "r-none",
        "tenant_id": tenant,
        "user_id": "u_42",
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "route": "direct",
        "key_source": "user",
        "byok": True,
        "input_tokens": 1200,
        "output_tokens": 300,
        "cache_read_tokens": 1000,
        "cache_write_tokens": 0,
        "occurred_at": "2026-11-27T15:00:01Z",
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not ...}


class FakeLedger:
    def __init__(self) -> None:
        self.usage: dict[str, UsageEvent] = {}
        self.charges: dict[str, ChargeRecord] = {}
        self.unpublished_batches: dict[int, list[ChargeRecord]] = {}
        self.next_id = 1

    async def record_batch(self, priced, received_at) -> RecordedBatch:  # type: ignore[no-untyped-def]
        new = []
        for event, charge in priced:
            if event.event_id not in self.usage:
                self.usage[event.event_id] = event
                self.charges[event.event_id] = charge
                new.append(charge)
        if not new:
            return RecordedBatch(None)
        batch_id, self.next_id = self.next_id, self.next_id + 1
        self.unpublished_batches[batch_id] = new
        return RecordedBatch(batch_id, new)

    async def mark_published(self, batch: RecordedBatch) -> None:
        self.unpublished_batches.pop(batch.batch_id, None)  # type: ignore[arg-type]

    async def unpublished(self, older_than):  # type: ignore[no-untyped-def]
        return [RecordedBatch(b, c) for b, c in self.unpublished_batches.items()]

    async def ping(self) -> bool:
        return True


class FakePublisher:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[OutRecord] = []
        self.fail = fail

    async def publish(self, records: list[OutRecord]) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.extend(records)

    def on(self, topic: str) -> list[OutRecord]:
        return [r for r in self.sent if r.topic == topic]

"""A batch holding a record the ledger cannot write, against the real PostgreSQL (issue 9).

U+0000 in an id was accepted by the models, then PostgreSQL refused the whole COPY ("text fields cannot
contain NUL bytes"), and the batch was retried forever: nobody's usage was charged any more. Now the runner
splits the batch until the record at fault is alone: every good record is charged, that one is
dead-lettered, and the offsets move on.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest
from aiokafka import TopicPartition
from byok_billing.adapters.migrate import upgrade
from byok_billing.config import BillingSettings
from byok_billing.domain.charges import price_event
from byok_billing.domain.overrides import OverrideBook
from byok_billing.domain.pricing import Pricer
from byok_billing.entrypoints.consumer import UsageBatches
from byok_billing.handlers import BillingDeps, PreparedBatch
from byok_billing.main import make_ledger
from byok_core.kafka import ConsumerRunner, DeadLetters
from byok_events import UsageEvent, topics, utc_now
from byok_testing.waiting import wait_until
from fakes.billing import FakePublisher, usage_event
from fakes.kafka import FakeConsumer, FakeDeadLetterSink, records
from sqlalchemy import text

NUL_TENANT = "acme\x00evil"


@pytest.fixture
def pg_ledger(postgres_url: str):  # type: ignore[no-untyped-def]
    ledger = make_ledger(BillingSettings(database_url=postgres_url))
    upgrade(ledger.engine)
    yield ledger
    ledger.engine.dispose()


def _deps(ledger: Any) -> BillingDeps:
    return BillingDeps(ledger, FakePublisher(), Pricer(OverrideBook([])), Decimal("0.2"), Decimal("0.05"))


def _event_past_validation(value: bytes) -> UsageEvent:
    """The event as if validation had let U+0000 through (it did; the ledger is the last line)."""
    data = json.loads(value)
    clean = {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in data.items()}
    return UsageEvent.model_validate(clean).model_copy(update={"tenant_id": data["tenant_id"]})


class UnvalidatedBatches(UsageBatches):
    def prepare(self, recs: list[Any]) -> PreparedBatch:
        now = utc_now()
        priced = [
            (e, price_event(e, self.deps.pricer, markup=self.deps.markup, byok_fee=self.deps.byok_fee, billed_at=now))
            for e in (_event_past_validation(r.value) for r in recs)
        ]
        return PreparedBatch(len(recs), priced, [], 0, now)


async def test_postgresql_refuses_a_nul_in_an_id_and_it_is_not_a_transient_failure(pg_ledger, unique_id) -> None:  # type: ignore[no-untyped-def]
    event = _event_past_validation(json.dumps(usage_event(f"{unique_id}-nul", NUL_TENANT)).encode())
    batches = UsageBatches(_deps(pg_ledger), asyncio.Lock())
    prepared = UnvalidatedBatches(_deps(pg_ledger), asyncio.Lock()).prepare(
        records(topics.USAGE_EVENTS, [json.dumps(usage_event(f"{unique_id}-nul", NUL_TENANT)).encode()])
    )
    assert prepared.priced[0][0].tenant_id == event.tenant_id == NUL_TENANT
    with pytest.raises(Exception) as refused:
        await batches.finish(prepared)
    assert "NUL" in str(refused.value) or "0x00" in str(refused.value)
    assert not batches.transient(refused.value), "retrying the same batch can never succeed"


async def test_a_batch_holding_an_unwritable_record_charges_every_good_record(pg_ledger, unique_id) -> None:  # type: ignore[no-untyped-def]
    tenant = f"t-{unique_id}"
    values = [json.dumps(usage_event(f"{unique_id}-{i}", tenant)).encode() for i in range(30)]
    values[17] = json.dumps(usage_event(f"{unique_id}-17", NUL_TENANT)).encode()
    consumer, sink = FakeConsumer(), FakeDeadLetterSink()
    consumer.add(records(topics.USAGE_EVENTS, values))
    deps = _deps(pg_ledger)
    runner = ConsumerRunner(
        consumer,
        [topics.USAGE_EVENTS],
        batches=UnvalidatedBatches(deps, asyncio.Lock()),
        dead_letters=DeadLetters(),
        sink=sink,
        service="billing-test",
        max_batch=1000,
        poll_ms=10,
        retry_delay=(0.01, 0.05),
    )
    task = asyncio.create_task(runner.run())
    tp = TopicPartition(topics.USAGE_EVENTS, 0)
    await wait_until(lambda: consumer.committed.get(tp) == 30 or task.done(), 60, "offset 30 not committed")
    runner.stop()
    await task
    await runner.drain_and_close()

    [(letter, _)] = sink.letters
    assert letter.offset == 17 and letter.reason.startswith("unprocessable: ")
    with pg_ledger.engine.connect() as conn:
        charged = (
            conn.execute(text("SELECT event_id FROM charges WHERE tenant_id = :t ORDER BY event_id"), {"t": tenant})
            .scalars()
            .all()
        )
    assert sorted(charged) == sorted(f"{unique_id}-{i}" for i in range(30) if i != 17)
    assert len(deps.publisher.on(topics.BILLING_CHARGES)) == 29  # type: ignore[attr-defined]
    assert consumer.committed[tp] == 30

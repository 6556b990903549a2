"""The batch handler with hand-written fakes: validation to the DLQ, idempotency, publishing order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from byok_billing.domain.overrides import OverrideBook
from byok_billing.domain.pricing import Pricer
from byok_billing.handlers import BillingDeps, handle_usage_batch, republish_unpublished
from byok_billing.ports import InRecord
from byok_events import Charge, DeadLetter, UsageEvent, topics
from fakes.billing import FakeLedger, FakePublisher
from fakes.billing import usage_event as usage

NOW = datetime(2026, 11, 27, 15, 5, tzinfo=UTC)


def records(*events: dict | bytes) -> list[InRecord]:
    return [
        InRecord(topics.USAGE_EVENTS, 0, offset, b"acme", e if isinstance(e, bytes) else json.dumps(e).encode())
        for offset, e in enumerate(events)
    ]


@pytest.fixture
def deps() -> BillingDeps:
    return BillingDeps(FakeLedger(), FakePublisher(), Pricer(OverrideBook([])), Decimal("0.2"), Decimal("0.05"))


async def test_a_usage_event_is_charged_and_published(deps: BillingDeps) -> None:
    outcome = await handle_usage_batch(records(usage()), deps, NOW)
    assert outcome.charged == 1
    [record] = deps.publisher.on(topics.BILLING_CHARGES)  # type: ignore[attr-defined]
    charge = Charge.model_validate_json(record.value)
    assert record.key == b"acme"
    assert charge.provider_cost == Decimal("0.0054") and charge.markup_rate == Decimal("0.05")
    assert charge.charge == Decimal("0.00027")  # 0.0054 * 0.05
    assert json.loads(record.value)["charge"] == "0.0002700000"  # a decimal string, never a float
    assert charge.priced and charge.price_source == "genai-prices 0.2.3"
    assert deps.ledger.unpublished_batches == {}  # type: ignore[attr-defined]


async def test_system_key_usage_gets_the_markup(deps: BillingDeps) -> None:
    await handle_usage_batch(records(usage(key_source="system", byok=False)), deps, NOW)
    charge = Charge.model_validate_json(deps.publisher.on(topics.BILLING_CHARGES)[0].value)  # type: ignore[attr-defined]
    assert charge.charge == Decimal("0.00648") and charge.markup_rate == Decimal("0.2")


async def test_the_same_event_three_times_is_charged_once(deps: BillingDeps) -> None:
    first = await handle_usage_batch(records(usage(), usage()), deps, NOW)  # twice in one batch
    again = await handle_usage_batch(records(usage()), deps, NOW)  # and redelivered
    assert (first.charged, first.duplicates, again.charged, again.duplicates) == (1, 1, 0, 1)
    assert len(deps.publisher.on(topics.BILLING_CHARGES)) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("event", "reason_part"),
    [
        (usage(input_tokens=-1), "input_tokens"),
        (usage(output_tokens=-5), "output_tokens"),
        (usage(input_tokens=10**12), "input_tokens"),
        (usage(cache_read_tokens=10**15, input_tokens=10**15), "input_tokens"),
        (usage(input_tokens=...), "input_tokens: Field required"),
        (usage(output_tokens=...), "output_tokens: Field required"),
        (usage(input_tokens="lots"), "input_tokens"),
        (usage(cache_read_tokens=2000), "cache tokens exceed input_tokens"),
        (usage(event_id=...), "event_id"),
        (usage(byok=False), "byok must equal"),
        (usage(provider="mistral"), "provider"),
        (usage(schema="byok.usage/v2"), "schema"),
        (usage(occurred_at="yesterday"), "occurred_at"),
        (b"not json at all", "invalid_request"),
        (b"", "empty record"),
    ],
)
async def test_invalid_records_go_to_the_dlq_with_the_reason(deps: BillingDeps, event, reason_part: str) -> None:
    outcome = await handle_usage_batch(records(event, usage("ok")), deps, NOW)
    assert (outcome.invalid, outcome.charged) == (1, 1)  # the consumer moves on
    [letter_record] = deps.publisher.on(topics.DLQ)  # type: ignore[attr-defined]
    letter = DeadLetter.model_validate_json(letter_record.value)
    assert letter.source_topic == topics.USAGE_EVENTS and letter.offset == 0
    assert letter.reason.startswith("invalid_request") and reason_part in letter.reason
    assert list(deps.ledger.usage) == ["ok"]  # type: ignore[attr-defined]


async def test_an_unknown_model_is_charged_zero_and_kept(deps: BillingDeps) -> None:
    outcome = await handle_usage_batch(records(usage(model="claude-future-9")), deps, NOW)
    assert (outcome.charged, outcome.unpriced) == (1, 1)
    charge = Charge.model_validate_json(deps.publisher.on(topics.BILLING_CHARGES)[0].value)  # type: ignore[attr-defined]
    assert (charge.priced, charge.charge, charge.provider_cost) == (False, Decimal(0), Decimal(0))
    assert "e1" in deps.ledger.usage  # type: ignore[attr-defined]


async def test_a_publish_failure_leaves_the_batch_in_the_outbox_then_it_is_republished_once() -> None:
    ledger, broken = FakeLedger(), FakePublisher(fail=True)
    pricer = Pricer(OverrideBook([]))
    deps = BillingDeps(ledger, broken, pricer, Decimal("0.2"), Decimal("0.05"))
    with pytest.raises(ConnectionError):
        await handle_usage_batch(records(usage()), deps, NOW)
    assert list(ledger.unpublished_batches) == [1]  # committed, not yet published
    healthy = FakePublisher()
    deps = BillingDeps(ledger, healthy, pricer, Decimal("0.2"), Decimal("0.05"))
    replay = await handle_usage_batch(records(usage()), deps, NOW)  # redelivered: not new
    assert replay.charged == 0 and healthy.on(topics.BILLING_CHARGES) == []
    assert await republish_unpublished(deps, NOW) == 1
    assert await republish_unpublished(deps, NOW) == 0
    assert [Charge.model_validate_json(r.value).event_id for r in healthy.on(topics.BILLING_CHARGES)] == ["e1"]


def test_charge_record_bytes_equal_the_charge_model() -> None:
    pricer = Pricer(OverrideBook([]))
    from byok_billing.domain.charges import price_event

    event = UsageEvent.model_validate(usage())
    record = price_event(event, pricer, markup=Decimal("0.2"), byok_fee=Decimal("0.05"), billed_at=NOW)
    model = Charge.model_validate_json(record.to_bytes())
    assert model.event_id == "e1" and model.occurred_at == event.occurred_at and model.billed_at == NOW
    assert model.route == "direct" and model.user_id == "u_42" and model.request_id == "r-e1"

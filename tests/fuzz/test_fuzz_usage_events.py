"""byok.usage.events through the billing consumer's batch handler on the real PostgreSQL ledger.

Batches of 5-10 fuzzed records: every record is charged, recognised as a duplicate, or one dead letter,
and a batch with bad records in it still charges the good ones.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from byok_billing.adapters.migrate import upgrade
from byok_billing.config import BillingSettings
from byok_billing.handlers import BillingDeps, handle_usage_batch
from byok_billing.main import make_ledger, make_pricer
from byok_billing.ports import InRecord, OutRecord
from byok_events import DeadLetter, UsageEvent, topics
from fuzz_strategies import records
from fuzz_support import FUZZ, accepted, cases, check_dead_letter, report
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.integration
RECORDS = cases(5_000)


class Publisher:
    def __init__(self) -> None:
        self.sent: list[OutRecord] = []

    async def publish(self, out: list[OutRecord]) -> None:
        self.sent.extend(out)


def test_fuzz_usage_events(postgres_url: str) -> None:
    settings_ = BillingSettings(database_url=postgres_url)
    ledger = make_ledger(settings_)
    upgrade(ledger.engine)
    publisher = Publisher()
    deps = BillingDeps(ledger, publisher, make_pricer(settings_), Decimal("0.2"), Decimal("0.05"))
    loop = asyncio.new_event_loop()
    seen = {"n": 0, "batches": 0, "valid": 0, "dead": 0, "charged": 0}

    @settings(FUZZ, max_examples=max(1, RECORDS // 5))
    @given(st.lists(records(UsageEvent), min_size=5, max_size=10))
    def one(batch: list[bytes]) -> None:
        seen["batches"] += 1
        offset = seen["n"]
        seen["n"] += len(batch)
        sent = len(publisher.sent)
        ins = [InRecord(topics.USAGE_EVENTS, 0, offset + i, b"t", raw) for i, raw in enumerate(batch)]
        outcome = loop.run_until_complete(handle_usage_batch(ins, deps))
        valid = [e for e in (accepted(UsageEvent, raw) for raw in batch) if e is not None]
        letters = [DeadLetter.model_validate_json(r.value) for r in publisher.sent[sent:] if r.topic == topics.DLQ]
        assert outcome.received == len(batch)
        assert outcome.invalid == len(letters) == len(batch) - len(valid)
        assert outcome.charged + outcome.duplicates == len(valid)
        assert sorted(letter.offset for letter in letters) == sorted(
            offset + i for i, raw in enumerate(batch) if accepted(UsageEvent, raw) is None
        )
        for letter in letters:
            check_dead_letter(letter, raw=batch[letter.offset - offset])
        seen["valid"] += len(valid)
        seen["dead"] += len(letters)
        seen["charged"] += outcome.charged

    try:
        one()
    finally:
        loop.close()
        ledger.engine.dispose()
    report(topics.USAGE_EVENTS, seen)
    assert seen["n"] >= RECORDS and seen["charged"] > RECORDS // 20 and seen["dead"] > RECORDS // 10

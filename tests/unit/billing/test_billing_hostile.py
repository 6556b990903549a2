"""Named regressions of the billing edge (issue 9): records that once stopped charging or leaked a key."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from byok_billing.domain.overrides import OverrideBook
from byok_billing.domain.pricing import Pricer
from byok_billing.handlers import BillingDeps, handle_usage_batch
from byok_events import DeadLetter, topics
from fakes.billing import usage_event as usage
from test_billing_handlers import FakeLedger, FakePublisher, records

NOW = datetime(2026, 11, 27, 15, 5, tzinfo=UTC)
KEY = "sk-ant-api03-" + "Zq7_xY-9" * 12


@pytest.fixture
def deps() -> BillingDeps:
    return BillingDeps(FakeLedger(), FakePublisher(), Pricer(OverrideBook([])), Decimal("0.2"), Decimal("0.05"))


def letters(deps: BillingDeps) -> list[DeadLetter]:
    return [DeadLetter.model_validate_json(r.value) for r in deps.publisher.on(topics.DLQ)]  # type: ignore[attr-defined]


async def test_regression_billing_dead_letters_are_redacted(deps: BillingDeps) -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in KEY)
    bad = [
        json.dumps(usage("e1", input_tokens="x", note=KEY)).encode(),
        b"\xff\xfe" + KEY.encode(),  # not UTF-8: base64 in the payload, after redaction
        ('{"event_id": "e3", "note": "' + escaped + '"}').encode(),
    ]
    await handle_usage_batch(records(*bad, usage("good")), deps, NOW)
    found = letters(deps)
    assert len(found) == 3 and deps.ledger.charges.keys() == {"good"}  # type: ignore[attr-defined]
    for letter in found:
        text = letter.payload
        if text.startswith("base64:"):
            text = base64.b64decode(text.removeprefix("base64:")).decode("latin-1")
        assert KEY not in text and "Zq7_xY-9Zq7" not in text and escaped not in text


async def test_regression_overflowing_timestamps_and_nesting_are_dead_letters(deps: BillingDeps) -> None:
    bad = [
        usage("y1", occurred_at="0001-01-01T00:00:00+01:00"),
        usage("y9", occurred_at="9999-12-31T23:59:59-01:00"),
        usage("fl", input_tokens=1200.0),
        usage("nul", tenant="ac\x00me"),
        json.dumps(usage("deep"))[:-1].encode() + b', "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ]
    outcome = await handle_usage_batch(records(*bad, usage("good")), deps, NOW)
    assert (outcome.invalid, outcome.charged) == (5, 1)
    reasons = [letter.reason for letter in letters(deps)]
    fields = ["occurred_at", "occurred_at", "input_tokens", "tenant_id", "record: Invalid JSON"]
    assert [r.startswith(f"invalid_request: {f}") for r, f in zip(reasons, fields, strict=True)] == [True] * 5


async def test_regression_a_huge_record_gives_a_dead_letter_kafka_can_carry(deps: BillingDeps) -> None:
    # A 900 kB record once became a dead letter larger than Kafka's 1 MB limit: never published, so its
    # batch was retried for ever.
    huge = json.dumps(usage("big", note="x" * 900_000, input_tokens=-1)).encode()
    await handle_usage_batch(records(huge, usage("good")), deps, NOW)
    [letter] = letters(deps)
    assert len(letter.to_bytes()) < 300_000 and letter.model_extra == {"payload_truncated": True}
    assert deps.ledger.charges.keys() == {"good"}  # type: ignore[attr-defined]

"""The ledger on real PostgreSQL and a SQLite file: idempotency, spend, alerts, outbox, report, reconcile."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from byok_billing.adapters.ledger_sql import SqlLedger
from byok_billing.domain.charges import price_event
from byok_billing.domain.overrides import OverrideBook
from byok_billing.domain.pricing import Pricer
from byok_billing.domain.report import aggregate, parse_group_by
from byok_billing.entrypoints.cli import main as cli
from byok_billing.reconcile import reconcile
from byok_events import UsageEvent
from fakes.billing import usage_event as usage
from sqlalchemy import text

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 27, 16, tzinfo=UTC)
D = Decimal


def priced(*events: dict) -> list:
    pricer = Pricer(OverrideBook([]))
    out = []
    for raw in events:
        e = UsageEvent.model_validate(raw)
        out.append((e, price_event(e, pricer, markup=D("0.2"), byok_fee=D("0.05"), billed_at=NOW)))
    return out


def tenant() -> str:
    return "t-" + uuid.uuid4().hex[:12]


def test_an_event_id_is_charged_once_however_often_it_comes(ledger: SqlLedger) -> None:
    t = tenant()
    batch = priced(*(usage(f"{t}-{i}", t) for i in range(3)))
    first = ledger.record_batch_sync(batch, NOW)
    second = ledger.record_batch_sync(batch, NOW)
    third = ledger.record_batch_sync(batch[1:], NOW)
    assert len(first.new_charges) == 3 and second.new_charges == [] and third.new_charges == []
    with ledger.engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM charges WHERE tenant_id = :t"), {"t": t}).scalar_one()
    assert count == 3
    # byok usage: platform charge 3 * 0.00027, provider cost 3 * 0.0054
    assert ledger.spend_of(t, "2026-11") == {"platform_charge": D("0.00081"), "provider_cost": D("0.0162")}


def test_alerts_fire_once_per_threshold_per_period(ledger: SqlLedger) -> None:
    t = tenant()
    # system usage: 0.0054 * 1.2 = 0.00648 per event; hard budget 0.02 -> 50% at 0.01, 80% 0.016, 100% 0.02
    ledger.set_budget(t, "platform_charge", "hard", D("0.02"), NOW)
    ledger.set_budget(t, "provider_cost", "soft", D("1"), NOW)  # byok-only measure: never reached here
    fired = []
    for i in range(5):  # spend after each: 0.00648, 0.01296, 0.01944, 0.02592, 0.0324
        batch = ledger.record_batch_sync(priced(usage(f"{t}-{i}", t, key_source="system", byok=False)), NOW)
        fired.append(sorted((a.kind, a.measure, a.threshold) for a in batch.alerts))
        ledger.mark_published_sync(batch)
    assert fired == [
        [],
        [("hard", "platform_charge", "0.5")],
        [("hard", "platform_charge", "0.8")],
        [("hard", "platform_charge", "1.0")],
        [],
    ]
    december = usage(f"{t}-dec", t, key_source="system", byok=False, occurred_at="2026-12-01T00:00:00Z")
    assert ledger.record_batch_sync(priced(december), NOW).alerts == []  # a new period starts from 0
    [hard] = [a for a in ledger.alerts_of(t, "2026-11") if a.threshold == "1.0"]
    assert hard.spent == D("0.0259200000") and hard.budget == D("0.02")


def test_an_unpublished_batch_stays_in_the_outbox_until_marked(ledger: SqlLedger) -> None:
    t = tenant()
    batch = ledger.record_batch_sync(priced(usage(f"{t}-1", t), usage(f"{t}-2", t)), NOW)
    pending = [b for b in ledger.unpublished_sync(NOW) if b.batch_id == batch.batch_id]
    assert [sorted(c.event_id for c in b.new_charges) for b in pending] == [[f"{t}-1", f"{t}-2"]]
    assert pending[0].new_charges[0].provider_cost == D("0.0054")
    ledger.mark_published_sync(batch)
    assert [b for b in ledger.unpublished_sync(NOW) if b.batch_id == batch.batch_id] == []


def _report_fixture(ledger: SqlLedger, t: str) -> None:
    events = [
        # day 1: anthropic byok 0.0054 -> 0.00027; anthropic system 0.0054 -> 0.00648
        usage(f"{t}-a", t, occurred_at="2026-11-01T10:00:00Z"),
        usage(f"{t}-b", t, key_source="system", byok=False, occurred_at="2026-11-01T23:59:59Z"),
        # day 2: openai gpt-4.1 system 0.0033 -> 0.00396; gemini org 0.00084 -> 0.000042
        usage(
            f"{t}-c",
            t,
            provider="openai",
            model="gpt-4.1",
            key_source="system",
            byok=False,
            occurred_at="2026-11-02T00:00:00Z",
        ),
        usage(
            f"{t}-d",
            t,
            provider="gemini",
            model="gemini-2.5-flash",
            key_source="org",
            occurred_at="2026-11-02T12:00:00Z",
        ),
        # unknown model: charged 0, unpriced
        usage(
            f"{t}-e",
            t,
            provider="openai",
            model="gpt-unknown-1",
            key_source="system",
            byok=False,
            occurred_at="2026-11-02T13:00:00Z",
        ),
        # outside the range
        usage(f"{t}-f", t, occurred_at="2026-11-03T00:00:00Z"),
    ]
    ledger.record_batch_sync(priced(*events), NOW)


def test_report_totals_match_hand_computation(ledger: SqlLedger, db_url: str, capsys: pytest.CaptureFixture) -> None:
    t = tenant()
    _report_fixture(ledger, t)
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)
    rows, total = aggregate(ledger.iter_report_rows(t, start, end), parse_group_by("day,provider"))
    assert [(r["day"], r["provider"], r["events"], r["provider_cost"], r["charge"]) for r in rows] == [
        ("2026-11-01", "anthropic", 2, "0.0108", "0.0067500000"),
        ("2026-11-02", "gemini", 1, "0.00084", "0.0000420000"),
        ("2026-11-02", "openai", 2, "0.0033", "0.0039600000"),
    ]
    assert total["events"] == 5 and total["unpriced"] == 1
    assert total["provider_cost"] == "0.01494" and total["charge"] == "0.0107520000"
    assert total["input_tokens"] == 6000 and total["cache_read_tokens"] == 5000

    code = cli(
        [
            "--database-url",
            db_url,
            "report",
            "--tenant",
            t,
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-02",
            "--group-by",
            "key_source",
            "--format",
            "csv",
        ]
    )
    assert code == 0
    by_source = {r["key_source"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert {k: (r["events"], r["charge"]) for k, r in by_source.items()} == {
        "org": ("1", "0.0000420000"),
        "system": ("3", "0.0104400000"),
        "user": ("1", "0.0002700000"),
    }
    code = cli(
        [
            "--database-url",
            db_url,
            "report",
            "--tenant",
            t,
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-03",
            "--group-by",
            "model",
            "--format",
            "json",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["total"]["events"] == 6 and document["total"]["charge"] == "0.0110220000"
    code = cli(
        [
            "--database-url",
            db_url,
            "report",
            "--tenant",
            t,
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-02",
            "--group-by",
            "day",
            "--format",
            "table",
        ]
    )
    table = capsys.readouterr().out
    assert code == 0 and "TOTAL" in table and "0.0107520000" in table


def test_reconcile_finds_no_difference_then_the_tampered_charge(
    ledger: SqlLedger, db_url: str, capsys: pytest.CaptureFixture
) -> None:
    t = tenant()
    _report_fixture(ledger, t)
    assert cli(["--database-url", db_url, "reconcile", "--tenant", t, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"checked": 6, "differences": []}
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE charges SET charge = '0.0000000001' WHERE event_id = :e"), {"e": f"{t}-c"})
    assert cli(["--database-url", db_url, "reconcile", "--tenant", t, "--format", "json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["differences"] == [
        {
            "event_id": f"{t}-c",
            "tenant_id": t,
            "field": "charge",
            "stored": "0.0000000001",
            "expected": "0.0039600000",
        }
    ]
    again = reconcile(ledger.iter_usage_and_charges(t, None, None), OverrideBook([]))
    assert again.checked == 6 and len(again.differences) == 1


def test_budget_cli_sets_and_shows(ledger: SqlLedger, db_url: str, capsys: pytest.CaptureFixture) -> None:
    t = tenant()
    assert cli(["--database-url", db_url, "budget", "set", "--tenant", t, "--soft", "50", "--hard", "100.25"]) == 0
    capsys.readouterr()
    assert cli(["--database-url", db_url, "budget", "show", "--tenant", t, "--period", "2026-11"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["budgets"] == [
        {"measure": "platform_charge", "kind": "hard", "amount": "100.25"},
        {"measure": "platform_charge", "kind": "soft", "amount": "50"},
    ]

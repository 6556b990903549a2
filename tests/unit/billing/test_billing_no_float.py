"""No float anywhere in the money path: a source scan, and the whole path run with float mixing trapped."""

from __future__ import annotations

import ast
import decimal
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import byok_billing
from byok_billing.adapters.ledger_sql import SqlLedger, make_engine
from byok_billing.adapters.migrate import upgrade
from byok_billing.domain.charges import price_event
from byok_billing.domain.overrides import OverrideBook, parse_overrides
from byok_billing.domain.pricing import Pricer
from byok_billing.domain.report import aggregate, parse_group_by, render
from byok_billing.reconcile import reconcile
from byok_events import UsageEvent
from sqlalchemy import text

PACKAGE = Path(byok_billing.__file__).parent
MONEY_MODULES = [
    *sorted((PACKAGE / "domain").glob("*.py")),
    PACKAGE / "handlers.py",
    PACKAGE / "reconcile.py",
    PACKAGE / "adapters" / "ledger_sql.py",
    PACKAGE / "adapters" / "ledger_pg.py",
    PACKAGE / "adapters" / "sqltypes.py",
]


def test_no_float_literal_or_float_conversion_in_money_modules() -> None:
    offenders = []
    for path in MONEY_MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                offenders.append(f"{path.name}:{node.lineno} float literal {node.value!r}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float":
                offenders.append(f"{path.name}:{node.lineno} float() call")
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and path.name == "money.py":
                offenders.append(f"{path.name}:{node.lineno} true division")
    assert offenders == []


def test_the_money_path_runs_with_float_operations_trapped(tmp_path: Path) -> None:
    context = decimal.getcontext()
    saved = context.traps[decimal.FloatOperation]
    context.traps[decimal.FloatOperation] = True  # Decimal(float) or float/Decimal comparison now raises
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        upgrade(engine)
        ledger = SqlLedger(engine)
        now = datetime(2026, 11, 27, 16, tzinfo=UTC)
        ledger.set_budget("t1", "platform_charge", "hard", Decimal("0.001"), now)
        book = OverrideBook(
            parse_overrides(
                {
                    "price": [
                        {
                            "provider": "openai",
                            "model": "custom-1",
                            "input_mtok": "0.123456789",
                            "output_mtok": "7",
                        }
                    ]
                }
            )
        )
        pricer = Pricer(book)
        events = [
            UsageEvent.model_validate(
                {
                    "event_id": f"e{i}",
                    "tenant_id": "t1",
                    "provider": provider,
                    "model": model,
                    "key_source": ks,
                    "byok": ks != "system",
                    "input_tokens": 1234 + i,
                    "output_tokens": 77,
                    "cache_read_tokens": i,
                    "cache_write_tokens": 0,
                    "occurred_at": "2026-11-27T15:00:01Z",
                }
            )
            for i, (provider, model, ks) in enumerate(
                [
                    ("anthropic", "claude-sonnet-4-5", "system"),
                    ("openai", "gpt-4.1", "user"),
                    ("gemini", "gemini-2.5-flash", "org"),
                    ("openrouter", "anthropic/claude-sonnet-4.5", "request"),
                    ("openai", "custom-1", "system"),
                    ("openai", "unknown-model-x", "system"),
                ]
            )
        ]
        priced = [
            (e, price_event(e, pricer, markup=Decimal("0.2"), byok_fee=Decimal("0.05"), billed_at=now)) for e in events
        ]
        batch = ledger.record_batch_sync(priced, now)
        assert len(batch.new_charges) == 6 and batch.alerts
        for charge in batch.new_charges:
            for value in (charge.provider_cost, charge.markup_rate, charge.charge):
                assert type(value) is Decimal
        for alert in batch.alerts:
            assert type(alert.spent) is Decimal and type(alert.budget) is Decimal
            json.loads(alert.to_bytes())
        rows, total = aggregate(
            ledger.iter_report_rows("t1", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
            parse_group_by("provider,key_source"),
        )
        render(rows, total, parse_group_by("provider,key_source"), "json")
        assert reconcile(ledger.iter_usage_and_charges("t1", None, None), book).differences == []
        with engine.connect() as conn:  # SQLite keeps money as text, never REAL
            kinds = conn.execute(text("SELECT DISTINCT typeof(provider_cost), typeof(charge) FROM charges")).all()
            assert kinds == [("text", "text")]
            assert conn.execute(text("SELECT DISTINCT typeof(amount) FROM spend")).all() == [("text",)]
        engine.dispose()
    finally:
        context.traps[decimal.FloatOperation] = saved

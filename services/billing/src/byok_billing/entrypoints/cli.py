"""byok-billing: run the consumer, migrate the ledger, set budgets, report and reconcile.

  byok-billing run                         the consumer (same as python -m byok_billing)
  byok-billing migrate                     apply the Alembic migrations
  byok-billing budget set --tenant T --measure platform_charge --soft 100 --hard 150  (USD/month)
  byok-billing budget show --tenant T [--period 2026-11]
  byok-billing report --tenant T --from 2026-11-01 --to 2026-11-30 --group-by day,provider --format csv
  byok-billing reconcile [--tenant T] [--from D] [--to D] [--format table|json]   (exit 1 on any difference)

Dates are UTC days, --from and --to both included. The ledger is BYOK_DATABASE_URL (or --database-url).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from byok_events import utc_now

from ..adapters.migrate import upgrade
from ..config import BillingSettings
from ..domain.budgets import KINDS, MEASURES
from ..domain.charges import period_of
from ..domain.money import money_str
from ..domain.overrides import OverrideBook, load_overrides
from ..domain.report import aggregate, parse_group_by, render
from ..main import make_ledger, run
from ..reconcile import reconcile


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a date is YYYY-MM-DD") from None


def _amount(text: str) -> Decimal | None:
    if text.lower() == "none":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError("an amount is a decimal number of USD, or 'none'") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError("an amount is finite and non-negative")
    return value


def _start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, UTC)


def _end(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day + timedelta(days=1), time.min, UTC)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="byok-billing", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    root.add_argument("--database-url", help="overrides BYOK_DATABASE_URL")
    sub = root.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the billing consumer")
    sub.add_parser("migrate", help="apply the ledger migrations")

    budget = sub.add_parser("budget", help="monthly budgets").add_subparsers(dest="budget_command", required=True)
    set_ = budget.add_parser("set", help="set a tenant's soft and/or hard budget on one measure")
    set_.add_argument("--tenant", required=True)
    set_.add_argument("--measure", choices=MEASURES, default="platform_charge")
    set_.add_argument("--soft", type=_amount, default=argparse.SUPPRESS, help="USD per month, or 'none'")
    set_.add_argument("--hard", type=_amount, default=argparse.SUPPRESS, help="USD per month, or 'none'")
    show = budget.add_parser("show", help="a tenant's budgets, spend and alerts of a period")
    show.add_argument("--tenant", required=True)
    show.add_argument("--period", help="YYYY-MM (default: this month)")

    report = sub.add_parser("report", help="charges grouped and summed")
    report.add_argument("--tenant", help="one tenant (default: all)")
    report.add_argument("--from", dest="from_", type=_day, required=True)
    report.add_argument("--to", type=_day, required=True)
    report.add_argument("--group-by", default="day", type=str)
    report.add_argument("--format", choices=("table", "csv", "json"), default="table")

    rec = sub.add_parser("reconcile", help="re-price stored usage events and compare with the charges")
    rec.add_argument("--tenant")
    rec.add_argument("--from", dest="from_", type=_day)
    rec.add_argument("--to", type=_day)
    rec.add_argument("--format", choices=("table", "json"), default="table")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "run":
        run()
        return 0
    settings = BillingSettings(**({"database_url": args.database_url} if args.database_url else {}))
    ledger = make_ledger(settings)
    try:
        if args.command == "migrate":
            upgrade(ledger.engine)
            print(f"ledger migrated ({ledger.dialect})")
            return 0
        if args.command == "budget":
            if args.budget_command == "set":
                chosen = [k for k in KINDS if hasattr(args, k)]
                if not chosen:
                    print("give --soft and/or --hard", file=sys.stderr)
                    return 2
                for kind in chosen:
                    ledger.set_budget(args.tenant, args.measure, kind, getattr(args, kind), utc_now())
            period = getattr(args, "period", None) or period_of(utc_now())
            print(json.dumps(_budget_view(ledger, args.tenant, period), indent=2))
            return 0
        if args.command == "report":
            group_by = parse_group_by(args.group_by)
            start, end = _start(args.from_), _end(args.to)
            assert start is not None and end is not None
            rows, total = aggregate(ledger.iter_report_rows(args.tenant, start, end), group_by)
            sys.stdout.write(render(rows, total, group_by, args.format))
            return 0
        if args.command == "reconcile":
            overrides = OverrideBook(load_overrides(settings.billing_price_overrides))
            result = reconcile(ledger.iter_usage_and_charges(args.tenant, _start(args.from_), _end(args.to)), overrides)
            sys.stdout.write(result.render(args.format))
            return 1 if result.differences else 0
    except ValueError as exc:
        print(f"byok-billing: {exc}", file=sys.stderr)
        return 2
    finally:
        ledger.engine.dispose()
    return 2


def _budget_view(ledger, tenant_id: str, period: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    spent = ledger.spend_of(tenant_id, period)
    return {
        "tenant_id": tenant_id,
        "period": period,
        "budgets": [
            {"measure": b.measure, "kind": b.kind, "amount": money_str(b.amount)} for b in ledger.budgets_of(tenant_id)
        ],
        "spent": {m: money_str(v) for m, v in sorted(spent.items())},
        "alerts": sorted(
            (
                {"measure": a.measure, "kind": a.kind, "threshold": a.threshold}
                for a in ledger.alerts_of(tenant_id, period)
            ),
            key=lambda a: (a["measure"], a["kind"], a["threshold"]),
        ),
    }


def entry() -> None:
    sys.exit(main())

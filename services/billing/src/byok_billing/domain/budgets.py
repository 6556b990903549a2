"""Budget rules. A tenant has monthly (UTC calendar month) USD budgets on two measures, soft and/or hard:

- platform_charge: what the platform bills the tenant (the `charge` of every event);
- provider_cost: what the providers bill the tenant directly for its BYOK usage (the `provider_cost`
  of events with byok=true), which BYOK users want to watch too.

An alert goes out when spend reaches 50%, 80% and 100% of a budget, once per threshold per period.
A hard budget's 1.0 alert means the tenant is blocked for the rest of that period.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .charges import ChargeRecord
from .money import MONEY_CONTEXT, ZERO

MEASURES = ("platform_charge", "provider_cost")
KINDS = ("soft", "hard")
THRESHOLDS = ("0.5", "0.8", "1.0")

SpendKey = tuple[str, str, str]  # tenant_id, period, measure


@dataclass(frozen=True)
class Budget:
    tenant_id: str
    measure: str
    kind: str
    amount: Decimal


@dataclass(frozen=True)
class Crossing:
    tenant_id: str
    period: str
    measure: str
    kind: str
    threshold: str
    budget: Decimal
    spent: Decimal


def spend_deltas(new_charges: list[ChargeRecord]) -> dict[SpendKey, Decimal]:
    """What the newly charged events add to each (tenant, period, measure)."""
    deltas: dict[SpendKey, Decimal] = {}
    add = MONEY_CONTEXT.add
    for c in new_charges:
        key = (c.tenant_id, c.period, "platform_charge")
        deltas[key] = add(deltas.get(key, ZERO), c.charge)
        if c.byok:
            key = (c.tenant_id, c.period, "provider_cost")
            deltas[key] = add(deltas.get(key, ZERO), c.provider_cost)
    return deltas


def crossings(totals: dict[SpendKey, Decimal], budgets: list[Budget]) -> list[Crossing]:
    """Every threshold reached by the totals (the ledger keeps only the first of each)."""
    found: list[Crossing] = []
    by_tenant: dict[str, list[Budget]] = {}
    for b in budgets:
        by_tenant.setdefault(b.tenant_id, []).append(b)
    for (tenant_id, period, measure), spent in totals.items():
        for budget in by_tenant.get(tenant_id, ()):
            if budget.measure != measure:
                continue
            for threshold in THRESHOLDS:
                if spent >= MONEY_CONTEXT.multiply(budget.amount, Decimal(threshold)):
                    found.append(Crossing(tenant_id, period, measure, budget.kind, threshold, budget.amount, spent))
    return found

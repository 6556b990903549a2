"""Reconcile: re-price every stored usage event independently and compare with its charge row.

Independent of the consumer's path: genai-prices' public calc_price per event (no memo, no fast
arithmetic) or genai-prices' ModelPrice for an override, and the markup recomputed here from the
rate stored on the charge. Expected result: no difference.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from .domain.money import money_str
from .domain.overrides import OverrideBook
from .domain.pricing import Tokens, independent_cost

_CTX = Context(prec=80, rounding=ROUND_HALF_EVEN)


@dataclass
class Difference:
    event_id: str
    tenant_id: str
    field: str
    stored: str
    expected: str


@dataclass
class ReconcileResult:
    checked: int
    differences: list[Difference]

    def render(self, fmt: str) -> str:
        if fmt == "json":
            return (
                json.dumps({"checked": self.checked, "differences": [asdict(d) for d in self.differences]}, indent=2)
                + "\n"
            )
        lines = [f"checked {self.checked} usage events: {len(self.differences)} differences"]
        for d in self.differences:
            lines.append(f"  {d.event_id} ({d.tenant_id}) {d.field}: stored {d.stored}, expected {d.expected}")
        return "\n".join(lines) + "\n"


def expected_charge(provider_cost: Decimal, key_source: str, rate: Decimal) -> Decimal:
    multiplier = _CTX.add(Decimal(1), rate) if key_source == "system" else rate
    return _CTX.multiply(provider_cost, multiplier).quantize(Decimal("1e-10"), rounding=ROUND_HALF_EVEN, context=_CTX)


def reconcile(rows: Iterable[Any], overrides: OverrideBook) -> ReconcileResult:
    """rows: usage event columns plus the charge's columns prefixed c_ (None when the charge is missing)."""
    checked = 0
    diffs: list[Difference] = []
    for row in rows:
        checked += 1

        def differ(name: str, stored: object, expected: object) -> None:
            diffs.append(Difference(row.event_id, row.tenant_id, name, str(stored), str(expected)))  # noqa: B023

        if row.c_event_id is None:
            differ("charge row", "missing", "present")
            continue
        tokens = Tokens(row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens)
        price = independent_cost(overrides, row.provider, row.model, row.occurred_at, tokens)
        charge = expected_charge(price.provider_cost, row.key_source, row.c_markup_rate)
        if row.c_provider_cost != price.provider_cost:
            differ("provider_cost", money_str(row.c_provider_cost), money_str(price.provider_cost))
        if row.c_charge != charge:
            differ("charge", money_str(row.c_charge), money_str(charge))
        if bool(row.c_priced) != price.priced:
            differ("priced", row.c_priced, price.priced)
        for name in ("tenant_id", "provider", "model", "key_source", "byok", "occurred_at"):
            if getattr(row, "c_" + name) != getattr(row, name):
                differ(name, getattr(row, "c_" + name), getattr(row, name))
    return ReconcileResult(checked, diffs)

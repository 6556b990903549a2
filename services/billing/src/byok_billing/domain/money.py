"""Money rules: Decimal only, the charge rounded half-even to 1e-10 USD."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from byok_events import KeySource
from byok_pricing.money import MONEY_CONTEXT, ZERO  # noqa: F401 - one decimal context for prices and charges

CHARGE_QUANTUM = Decimal("1e-10")


def markup_rate(key_source: KeySource | str, markup: Decimal, byok_fee: Decimal) -> Decimal:
    """The rate stored on the charge: the markup for system keys, the BYOK fee for user-side keys."""
    return markup if key_source == KeySource.SYSTEM else byok_fee


def charge_for(provider_cost: Decimal, key_source: KeySource | str, rate: Decimal) -> Decimal:
    """system: cost * (1 + markup); user-side key: cost * fee; rounded half-even at 1e-10 USD."""
    multiplier = MONEY_CONTEXT.add(1, rate) if key_source == KeySource.SYSTEM else rate
    return MONEY_CONTEXT.multiply(provider_cost, multiplier).quantize(
        CHARGE_QUANTUM, rounding=ROUND_HALF_EVEN, context=MONEY_CONTEXT
    )


def money_str(value: Decimal) -> str:
    """The wire form: a plain decimal string, no exponent."""
    return format(value, "f")

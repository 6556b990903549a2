"""The decimal context of every price computation (shared with billing's money rules)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

ZERO = Decimal(0)
# Wide enough that no product or sum of the ledger ever rounds before the final quantize.
MONEY_CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN)

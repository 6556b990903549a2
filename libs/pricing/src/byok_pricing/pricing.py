"""Provider cost of a usage event, at the event's occurred_at, from genai-prices and the overrides file.

Shared by the billing consumer (the price of every usage event) and the inference worker (a system-key
call for a model without a price is refused before the provider is called: `model_not_priced`).

genai-prices' calc_price costs ~100 µs an event, too slow for 20,000 events/s. So the unit prices of
each token class are resolved once per (provider, model, UTC day) (prices change by date) and applied
here in Decimal. Every memo entry is first checked against genai-prices' own calculation on probe
usages; if they ever disagree (an exotic price shape), that entry falls back to genai-prices per event.

`input_tokens` is the TOTAL input: when a model prices cache reads (writes), those tokens are
subtracted from the plain input and priced as cache reads (writes); when it does not, they are
priced as input — genai-prices' own rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import NamedTuple

import genai_prices
from genai_prices import Usage
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import ModelPrice, TieredPrices, TimeOfDateConstraint

from .money import MONEY_CONTEXT, ZERO
from .overrides import OverrideBook, PriceOverride

GENAI_PRICES_SOURCE = f"genai-prices {genai_prices.__version__}"
OVERRIDE_SOURCE = "override"
UNPRICED_SOURCE = "unpriced"

# Our provider names -> genai-prices provider ids.
GENAI_PROVIDER_IDS = {
    "anthropic": "anthropic",
    "openai": "openai",
    "gemini": "google",
    "openrouter": "openrouter",
}
_MTOK = Decimal(1_000_000)
_KCOUNT = Decimal(1_000)
_PROBES = ((0, 0, 0, 0), (1234, 567, 111, 222), (987_654, 4321, 12_345, 54_321), (5, 0, 5, 0), (7, 0, 0, 7))


class Tokens(NamedTuple):
    input: int  # total input, cache included
    output: int
    cache_read: int
    cache_write: int


@dataclass(frozen=True)
class PriceResult:
    provider_cost: Decimal
    priced: bool
    source: str


Rate = Decimal | TieredPrices | None


def _split(price: Rate) -> tuple[Decimal | None, tuple[tuple[int, Decimal], ...]]:
    """(base rate, tiers highest start first) of a price."""
    if price is None or isinstance(price, Decimal):
        return price, ()
    return price.base, tuple(sorted(((t.start, t.price) for t in price.tiers), reverse=True))


class UnitRates:
    """Per-MTok prices of the four token classes (and a per-request price) for one model on one day."""

    __slots__ = ("_classes", "_reads_priced", "_writes_priced", "_per_request")

    def __init__(
        self,
        input: Rate,
        output: Rate,
        cache_read: Rate,
        cache_write: Rate,
        per_kilo_requests: Decimal | None = None,
    ) -> None:
        self._classes = (_split(input), _split(cache_read), _split(cache_write), _split(output))
        self._reads_priced = cache_read is not None
        self._writes_priced = cache_write is not None
        self._per_request = None if per_kilo_requests is None else MONEY_CONTEXT.divide(per_kilo_requests, _KCOUNT)

    def cost(self, tokens: Tokens) -> Decimal:
        ctx = MONEY_CONTEXT
        total = tokens.input
        plain = total
        if self._reads_priced:
            plain -= tokens.cache_read
        if self._writes_priced:
            plain -= tokens.cache_write
        counts = (plain, tokens.cache_read, tokens.cache_write, tokens.output)
        cost = ZERO
        for (base, tiers), count in zip(self._classes, counts, strict=True):
            if base is None or not count:
                continue
            rate = base
            for (
                start,
                tier_price,
            ) in tiers:  # cliff tiers: the highest tier whose start the total input exceeds
                if total > start:
                    rate = tier_price
                    break
            cost = ctx.add(cost, ctx.multiply(rate, count))
        cost = ctx.divide(cost, _MTOK)
        if self._per_request is not None:
            cost = ctx.add(cost, self._per_request)
        return cost


_FAST_KEYS = {"input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "requests_kcount"}


def rates_from_model_price(model_price: ModelPrice) -> UnitRates:
    return UnitRates(
        input=model_price.input_mtok,
        output=model_price.output_mtok,
        cache_read=model_price.cache_read_mtok,
        cache_write=model_price.cache_write_mtok,
        per_kilo_requests=model_price.requests_kcount,  # type: ignore[arg-type]
    )


def model_price_of_override(item: PriceOverride) -> ModelPrice:
    prices = {key: getattr(item, key) for key in ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")}
    return ModelPrice(**{k: v for k, v in prices.items() if v is not None})


def genai_usage(tokens: Tokens) -> Usage:
    return Usage(
        input_tokens=tokens.input,
        output_tokens=tokens.output,
        cache_read_tokens=tokens.cache_read,
        cache_write_tokens=tokens.cache_write,
    )


def slow_cost(model_price: ModelPrice, tokens: Tokens) -> Decimal:
    """genai-prices' own arithmetic (used to check the fast path and by reconcile)."""
    return model_price.calc_price(genai_usage(tokens))["total_price"]


def _fast_or_slow(model_price: ModelPrice) -> Callable[[Tokens], Decimal]:
    """The fast calculation when it agrees with genai-prices on every probe, else genai-prices itself."""
    rates = rates_from_model_price(model_price)
    try:
        agrees = all(rates.cost(Tokens(*p)) == slow_cost(model_price, Tokens(*p)) for p in _PROBES)
    except (ArithmeticError, ValueError):
        agrees = False
    if agrees:
        return rates.cost
    return lambda tokens: slow_cost(model_price, tokens)


def day_of(occurred_at: datetime) -> date:
    return occurred_at.astimezone(UTC).date()


class Pricer:
    """Memoised pricing: one price resolution per (provider, model, UTC day)."""

    MAX_ENTRIES = 50_000

    def __init__(self, overrides: OverrideBook) -> None:
        self._overrides = overrides
        self._memo: dict[tuple[str, str, date], tuple[Callable[[Tokens], Decimal] | None, str]] = {}
        self._timed: dict[tuple[str, str], object] = {}

    def warm_up(self) -> None:
        """Load genai-prices' data now (~17 ms), not in the first lookup."""
        get_snapshot()

    def price(self, provider: str, model: str, occurred_at: datetime, tokens: Tokens) -> PriceResult:
        calc, source = self._entry(provider, model, occurred_at)
        if calc is None:
            if source == "time-of-day":  # prices that change within the day: genai-prices per event
                return self._price_timed(provider, model, occurred_at, tokens)
            return PriceResult(ZERO, False, UNPRICED_SOURCE)
        return PriceResult(calc(tokens), True, source)

    def has_price(self, provider: str, model: str, at: datetime) -> bool:
        """Whether usage of this model (our provider name, the model id sent to it) is priced at `at`."""
        calc, source = self._entry(provider, model, at)
        return calc is not None or source == "time-of-day"

    def _entry(
        self, provider: str, model: str, occurred_at: datetime
    ) -> tuple[Callable[[Tokens], Decimal] | None, str]:
        key = (provider, model, day_of(occurred_at))
        entry = self._memo.get(key)
        if entry is None:
            entry = self._resolve(provider, model, occurred_at)
            if len(self._memo) >= self.MAX_ENTRIES:
                self._memo.clear()
            self._memo[key] = entry
        return entry

    def _resolve(
        self, provider: str, model: str, occurred_at: datetime
    ) -> tuple[Callable[[Tokens], Decimal] | None, str]:
        override = self._overrides.find(provider, model, day_of(occurred_at))
        if override is not None:
            return _fast_or_slow(model_price_of_override(override)), OVERRIDE_SOURCE
        found = find_genai_model(provider, model)
        if found is None:
            return None, UNPRICED_SOURCE
        if isinstance(found.prices, list) and any(isinstance(p.constraint, TimeOfDateConstraint) for p in found.prices):
            return None, "time-of-day"
        return _fast_or_slow(found.get_prices(occurred_at)), GENAI_PRICES_SOURCE

    def _price_timed(self, provider: str, model: str, occurred_at: datetime, tokens: Tokens) -> PriceResult:
        found = find_genai_model(provider, model)
        assert found is not None
        return PriceResult(slow_cost(found.get_prices(occurred_at), tokens), True, GENAI_PRICES_SOURCE)


def find_genai_model(provider: str, model: str):  # type: ignore[no-untyped-def]
    """genai-prices' ModelInfo for our (provider, model), or None when it has no price for it."""
    provider_id = GENAI_PROVIDER_IDS.get(provider)
    if provider_id is None:
        return None
    try:
        return get_snapshot().find_provider_model(model, None, provider_id, None)[1]
    except LookupError:
        return None


def independent_cost(
    overrides: OverrideBook, provider: str, model: str, occurred_at: datetime, tokens: Tokens
) -> PriceResult:
    """Re-pricing for reconcile: genai-prices' calc_price (or its ModelPrice for an override), no memo."""
    override = overrides.find(provider, model, day_of(occurred_at))
    if override is not None:
        return PriceResult(slow_cost(model_price_of_override(override), tokens), True, OVERRIDE_SOURCE)
    provider_id = GENAI_PROVIDER_IDS.get(provider)
    if provider_id is None:
        return PriceResult(ZERO, False, UNPRICED_SOURCE)
    try:
        result = genai_prices.calc_price(
            genai_usage(tokens), model, provider_id=provider_id, genai_request_timestamp=occurred_at
        )
    except LookupError:
        return PriceResult(ZERO, False, UNPRICED_SOURCE)
    return PriceResult(result.total_price, True, GENAI_PRICES_SOURCE)

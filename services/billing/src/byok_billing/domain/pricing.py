"""Pricing lives in the shared byok_pricing package (libs/pricing), used by billing and the inference worker."""

from byok_pricing.pricing import (  # noqa: F401 - re-exported for billing's modules
    GENAI_PRICES_SOURCE,
    GENAI_PROVIDER_IDS,
    OVERRIDE_SOURCE,
    UNPRICED_SOURCE,
    Pricer,
    PriceResult,
    Tokens,
    UnitRates,
    find_genai_model,
    independent_cost,
    model_price_of_override,
    rates_from_model_price,
    slow_cost,
)

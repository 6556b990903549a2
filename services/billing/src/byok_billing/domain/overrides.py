"""Price overrides live in the shared byok_pricing package (libs/pricing)."""

from byok_pricing.overrides import (  # noqa: F401 - re-exported for billing's modules
    OverrideBook,
    OverridesError,
    PriceOverride,
    load_overrides,
    parse_overrides,
)

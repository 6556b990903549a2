"""LLM usage prices: genai-prices plus the project's overrides file (infra/billing/prices.toml)."""

from __future__ import annotations

import os
from pathlib import Path

from .overrides import OverrideBook, OverridesError, PriceOverride, load_overrides, parse_overrides
from .pricing import GENAI_PRICES_SOURCE, OVERRIDE_SOURCE, UNPRICED_SOURCE, Pricer, PriceResult, Tokens

_REPO_OVERRIDES = Path(__file__).resolve().parents[4] / "infra" / "billing" / "prices.toml"


def default_overrides_path() -> Path | None:
    """The repository's overrides file when this package runs from the source tree, else None."""
    return _REPO_OVERRIDES if _REPO_OVERRIDES.exists() else None


def shared_overrides_path() -> Path | None:
    """The overrides billing uses (BYOK_BILLING_PRICE_OVERRIDES, else the repository's file): a price
    check elsewhere must agree with what billing will charge."""
    configured = os.environ.get("BYOK_BILLING_PRICE_OVERRIDES", "").strip()
    return Path(configured) if configured else default_overrides_path()


def load_pricer(overrides: Path | None) -> Pricer:
    return Pricer(OverrideBook(load_overrides(overrides)))


__all__ = [
    "GENAI_PRICES_SOURCE",
    "OVERRIDE_SOURCE",
    "UNPRICED_SOURCE",
    "OverrideBook",
    "OverridesError",
    "PriceOverride",
    "PriceResult",
    "Pricer",
    "Tokens",
    "default_overrides_path",
    "load_overrides",
    "load_pricer",
    "parse_overrides",
    "shared_overrides_path",
]

"""Reasoning tokens are part of output_tokens and priced as output (contract: Agent-grade messages).

Checked against genai-prices itself: for the models the gateway routes, a usage that names its reasoning
tokens (genai-prices' `output_reasoning_tokens`) costs exactly what the same output_tokens cost without
naming them, and billing's price of a usage event (which carries output_tokens, reasoning included)
equals genai-prices' price of the usage with the reasoning named.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import genai_prices
import pytest
from byok_billing.domain.overrides import OverrideBook
from byok_billing.domain.pricing import Pricer, Tokens, find_genai_model
from genai_prices.data_snapshot import get_snapshot

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ROUTED = [
    ("anthropic", "claude-sonnet-4-5"),
    ("openai", "o4-mini"),
    ("openai", "gpt-5"),
    ("google", "gemini-2.5-flash"),
    ("google", "gemini-2.5-pro"),
    ("openrouter", "anthropic/claude-sonnet-4.5"),
    ("openrouter", "openai/o4-mini"),
]


def genai(provider: str, model: str, **usage: int) -> Decimal:
    result = genai_prices.calc_price(
        genai_prices.Usage(**usage), model_ref=model, provider_id=provider, genai_request_timestamp=AT
    )
    return result.total_price


@pytest.mark.parametrize(("provider", "model"), ROUTED)
def test_genai_prices_prices_reasoning_at_the_output_rate(provider: str, model: str) -> None:
    named = genai(provider, model, input_tokens=1000, output_tokens=5000, output_reasoning_tokens=4000)
    unnamed = genai(provider, model, input_tokens=1000, output_tokens=5000)
    visible_only = genai(provider, model, input_tokens=1000, output_tokens=1000)
    assert named == unnamed > visible_only


@pytest.mark.parametrize(("provider", "model"), ROUTED)
def test_billing_prices_a_usage_event_with_reasoning_like_genai_prices(provider: str, model: str) -> None:
    billing_provider = "gemini" if provider == "google" else provider
    result = Pricer(OverrideBook([])).price(billing_provider, model, AT, Tokens(1000, 5000, 0, 0))
    assert result.priced
    assert result.provider_cost == genai(
        provider, model, input_tokens=1000, output_tokens=5000, output_reasoning_tokens=4000
    )


def test_the_one_model_family_with_its_own_reasoning_price_is_known() -> None:
    """genai-prices gives a distinct reasoning price to very few models (Perplexity's deep research);
    billing prices reasoning as output, so such a model (reachable only as openrouter/perplexity/...)
    would be charged at the output rate for its reasoning. Listed here so a new one is noticed."""
    distinct = sorted(
        f"{p.id}/{m.id}"
        for p in get_snapshot().providers
        for m in p.models
        for price in ([m.prices] if not isinstance(m.prices, list) else [c.prices for c in m.prices])
        if getattr(price, "output_reasoning_mtok", None) is not None
    )
    assert distinct and all("sonar-deep-research" in name for name in distinct), distinct
    assert find_genai_model("openai", "o4-mini") is not None

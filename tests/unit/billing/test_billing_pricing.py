"""Pricing: hand-computed provider costs and charges (cache tokens, a dated price change, OpenRouter,
tiers, overrides, unknown models), and the fast path agreeing with genai-prices' own calculation."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from byok_billing.domain.money import charge_for, markup_rate
from byok_billing.domain.overrides import OverrideBook, OverridesError, PriceOverride, parse_overrides
from byok_billing.domain.pricing import GENAI_PRICES_SOURCE, OVERRIDE_SOURCE, Pricer, Tokens, independent_cost

NOV = datetime(2026, 11, 27, 15, 0, 1, tzinfo=UTC)
D = Decimal


def price(provider: str, model: str, tokens: Tokens, at: datetime = NOV, overrides: OverrideBook | None = None):
    return Pricer(overrides or OverrideBook([])).price(provider, model, at, tokens)


# Hand computations (USD per million tokens, from genai-prices 0.2.3's data):
#   anthropic claude-sonnet-4-5: input 3, output 15, cache read 0.3, cache write 3.75 (below 200k input)
#   openai gpt-4.1: input 2, output 8, cache read 0.5, no cache-write price (writes priced as input)
#   google gemini-2.5-flash: input 0.3, output 2.5, cache read 0.03
@pytest.mark.parametrize(
    ("provider", "model", "tokens", "expected"),
    [
        # 200 plain input * 3 + 1000 cache reads * 0.3 + 300 output * 15 = 600 + 300 + 4500 = 5400 / 1e6
        ("anthropic", "claude-sonnet-4-5", Tokens(1200, 300, 1000, 0), D("0.0054")),
        # 1000 plain * 3 + 500 writes * 3.75 + 100 out * 15 = 3000 + 1875 + 1500 = 6375 / 1e6
        ("anthropic", "claude-sonnet-4-5", Tokens(1500, 100, 0, 500), D("0.006375")),
        # 100 plain * 3 + 1000 reads * 0.3 + 2000 writes * 3.75 + 10 out * 15 = 300+300+7500+150 = 8250
        ("anthropic", "claude-sonnet-4-5", Tokens(3100, 10, 1000, 2000), D("0.00825")),
        # 200 plain * 2 + 1000 reads * 0.5 + 300 out * 8 = 400 + 500 + 2400 = 3300
        ("openai", "gpt-4.1", Tokens(1200, 300, 1000, 0), D("0.0033")),
        # cache writes without a price are input: 1000 * 2 + 50 * 8 = 2400
        ("openai", "gpt-4.1", Tokens(1000, 50, 0, 400), D("0.0024")),
        # 200 * 0.3 + 1000 * 0.03 + 300 * 2.5 = 60 + 30 + 750 = 840
        ("gemini", "gemini-2.5-flash", Tokens(1200, 300, 1000, 0), D("0.00084")),
        # OpenRouter's own price for its id: anthropic/claude-sonnet-4.5 at 3 / 15 / 0.3 / 3.75
        ("openrouter", "anthropic/claude-sonnet-4.5", Tokens(1200, 300, 1000, 0), D("0.0054")),
        # OpenRouter google/gemini-2.5-flash (since 2026-10-19): 0.3 / 2.5 / 0.03 / 0.0833333333333333
        # 100 plain * 0.3 + 600 writes * 0.0833333333333333 + 10 out * 2.5 = 30 + 49.99999999999998 + 25
        ("openrouter", "google/gemini-2.5-flash", Tokens(700, 10, 0, 600), D("0.00010499999999999998")),
    ],
)
def test_hand_computed_provider_cost(provider: str, model: str, tokens: Tokens, expected: Decimal) -> None:
    result = price(provider, model, tokens)
    assert result.priced and result.source == GENAI_PRICES_SOURCE
    assert result.provider_cost == expected
    assert isinstance(result.provider_cost, Decimal)


def test_tier_above_200k_input_prices_every_token_at_the_tier_rate() -> None:
    # claude-sonnet-4-5 over 200k input: input 6, output 22.5, cache read 0.6: 200000*6 + 1000*0.6 + 100*22.5
    result = price("anthropic", "claude-sonnet-4-5", Tokens(201_000, 100, 1000, 0))
    assert result.provider_cost == D("1.20285")  # (1_200_000 + 600 + 2250) / 1e6


def test_dated_price_change_uses_the_price_in_force_at_occurred_at() -> None:
    # openai o3: 10 / 40 until 2025-06-09, 2 / 8 from 2025-06-10 (cache read 0.5 both)
    tokens = Tokens(1000, 1000, 0, 0)
    before = price("openai", "o3", tokens, datetime(2025, 6, 9, 23, 59, 59, tzinfo=UTC))
    after = price("openai", "o3", tokens, datetime(2025, 6, 10, 0, 0, 0, tzinfo=UTC))
    assert before.provider_cost == D("0.05")  # 1000*10 + 1000*40
    assert after.provider_cost == D("0.01")  # 1000*2 + 1000*8


def test_one_pricer_keeps_dates_apart() -> None:
    pricer = Pricer(OverrideBook([]))
    tokens = Tokens(1_000_000, 0, 0, 0)
    assert pricer.price("openai", "o3", datetime(2025, 6, 1, tzinfo=UTC), tokens).provider_cost == D("10")
    assert pricer.price("openai", "o3", datetime(2025, 7, 1, tzinfo=UTC), tokens).provider_cost == D("2")
    assert pricer.price("openai", "o3", datetime(2025, 6, 1, 12, tzinfo=UTC), tokens).provider_cost == D("10")


def test_unknown_model_is_unpriced_not_an_error() -> None:
    result = price("anthropic", "claude-does-not-exist-9", Tokens(10, 10, 0, 0))
    assert (result.provider_cost, result.priced) == (D(0), False)


def test_override_wins_and_is_dated() -> None:
    book = OverrideBook(
        parse_overrides(
            {
                "price": [
                    {
                        "provider": "openai",
                        "model": "gpt-4.1",
                        "input_mtok": "1.6",
                        "output_mtok": "6.4",
                        "cache_read_mtok": "0.4",
                    },
                    {
                        "provider": "openai",
                        "model": "gpt-4.1",
                        "start_date": date(2026, 12, 1),
                        "input_mtok": "1",
                        "output_mtok": 4,
                    },
                    {
                        "provider": "anthropic",
                        "model": "in-house-model",
                        "input_mtok": "0.5",
                        "output_mtok": "1",
                    },
                ]
            }
        )
    )
    tokens = Tokens(1200, 300, 1000, 0)
    nov = price("openai", "gpt-4.1", tokens, overrides=book)
    assert nov.source == OVERRIDE_SOURCE and nov.provider_cost == D("0.00264")  # 200*1.6 + 1000*0.4 + 300*6.4
    dec = price("openai", "gpt-4.1", tokens, datetime(2026, 12, 2, tzinfo=UTC), overrides=book)
    assert dec.provider_cost == D("0.0024")  # no cache price: 1200*1 + 300*4
    own = price("anthropic", "in-house-model", Tokens(1000, 1000, 0, 0), overrides=book)
    assert own.priced and own.provider_cost == D("0.0015")


@pytest.mark.parametrize(
    "entry",
    [
        {"provider": "openai", "model": "x", "input_mtok": 1.5, "output_mtok": "1"},  # a float
        {"provider": "openai", "model": "x", "output_mtok": "1"},  # missing input
        {"provider": "nope", "model": "x", "input_mtok": "1", "output_mtok": "1"},
        {"provider": "openai", "model": "x", "input_mtok": "-1", "output_mtok": "1"},
    ],
)
def test_malformed_overrides_are_refused(entry: dict) -> None:
    with pytest.raises(OverridesError):
        parse_overrides({"price": [entry]})


def test_the_repository_overrides_file_parses() -> None:
    from pathlib import Path

    from byok_billing.domain.overrides import load_overrides

    path = Path(__file__).resolve().parents[3] / "infra" / "billing" / "prices.toml"
    assert all(isinstance(o, PriceOverride) for o in load_overrides(path))


@pytest.mark.parametrize(
    ("cost", "key_source", "expected"),
    [
        (D("0.0054"), "system", D("0.0064800000")),  # * 1.2
        (D("0.0054"), "user", D("0.0002700000")),  # * 0.05
        (D("0.00000000015"), "org", D("0E-10")),  # 7.5e-12 -> 0 (half-even)
        (D("0.0000000010500"), "request", D("0.0000000001")),  # 5.25e-11 rounds up to 1e-10
        (D("0.000000001"), "user", D("0.0000000000")),  # 5e-11: exactly half, even neighbour is 0
        (D("0.000000003"), "user", D("0.0000000002")),  # 1.5e-10: half, even neighbour is 2e-10
        (D("0.00000000125"), "system", D("0.0000000015")),  # 1.5e-9 exactly
    ],
)
def test_markup_and_half_even_rounding(cost: Decimal, key_source: str, expected: Decimal) -> None:
    rate = markup_rate(key_source, D("0.2"), D("0.05"))
    assert charge_for(cost, key_source, rate) == expected
    assert charge_for(cost, key_source, rate).as_tuple().exponent == -10


MODELS = [
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-6"),
    ("anthropic", "claude-3-5-haiku"),
    ("anthropic", "claude-sonnet-4-6"),
    ("openai", "gpt-4.1"),
    ("openai", "gpt-4o-mini"),
    ("openai", "o3"),
    ("openai", "gpt-5.6-luna"),
    ("gemini", "gemini-2.5-flash"),
    ("gemini", "gemini-2.5-pro"),
    ("gemini", "gemini-3-pro-preview"),
    ("openrouter", "anthropic/claude-sonnet-4.5"),
    ("openrouter", "google/gemini-2.5-pro"),
    ("openrouter", "openai/gpt-4.1"),
    ("openrouter", "deepseek/deepseek-v4-pro"),
]


def test_fast_path_equals_genai_prices_calc_price() -> None:
    rng = random.Random(5)
    pricer = Pricer(OverrideBook([]))
    book = OverrideBook([])
    for _ in range(3000):
        provider, model = rng.choice(MODELS)
        total = rng.choice([0, 1, 999, 150_000, 200_000, 200_001, 1_500_000])
        cache_read = rng.randint(0, total)
        cache_write = rng.randint(0, total - cache_read)
        tokens = Tokens(total, rng.randint(0, 50_000), cache_read, cache_write)
        at = datetime(rng.choice([2025, 2026]), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), tzinfo=UTC)
        fast = pricer.price(provider, model, at, tokens)
        slow = independent_cost(book, provider, model, at, tokens)
        assert (fast.provider_cost, fast.priced) == (slow.provider_cost, slow.priced), (
            provider,
            model,
            tokens,
            at,
        )

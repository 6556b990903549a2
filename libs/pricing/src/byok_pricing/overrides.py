"""Price overrides (infra/billing/prices.toml): models genai-prices lacks, or negotiated prices.

Prices are USD per million tokens, written as TOML strings or integers (a TOML float is refused:
money is never a float). An entry may start at a date; the latest entry started on or before the
event's date applies. Overrides win over genai-prices for the same provider and model.

    [[price]]
    provider = "openai"
    model = "gpt-4.1"
    start_date = 2026-01-01          # optional
    input_mtok = "1.6"
    output_mtok = "6.4"
    cache_read_mtok = "0.4"          # optional: omitted = cache reads priced as input
    cache_write_mtok = "2"           # optional: omitted = cache writes priced as input
    note = "negotiated 2026 contract"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

PRICE_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")
PROVIDERS = ("anthropic", "openai", "gemini", "openrouter")


class OverridesError(ValueError):
    """The overrides file is malformed."""


@dataclass(frozen=True)
class PriceOverride:
    provider: str
    model: str
    start_date: date | None
    input_mtok: Decimal
    output_mtok: Decimal
    cache_read_mtok: Decimal | None = None
    cache_write_mtok: Decimal | None = None
    note: str = ""


def _price(entry: dict[str, Any], key: str, where: str, required: bool) -> Decimal | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise OverridesError(f"{where}: {key} is required")
        return None
    if isinstance(value, float) or isinstance(value, bool) or not isinstance(value, (str, int)):
        raise OverridesError(f"{where}: {key} must be a decimal string (never a float)")
    try:
        price = Decimal(str(value))
    except InvalidOperation as exc:
        raise OverridesError(f"{where}: {key} is not a decimal number") from exc
    if not price.is_finite() or price < 0:
        raise OverridesError(f"{where}: {key} must be finite and non-negative")
    return price


def parse_overrides(document: dict[str, Any]) -> list[PriceOverride]:
    entries = document.get("price", [])
    if not isinstance(entries, list):
        raise OverridesError("[[price]] must be an array of tables")
    overrides: list[PriceOverride] = []
    for index, entry in enumerate(entries):
        where = f"price[{index}]"
        provider, model = entry.get("provider"), entry.get("model")
        if provider not in PROVIDERS:
            raise OverridesError(f"{where}: provider must be one of {', '.join(PROVIDERS)}")
        if not isinstance(model, str) or not model:
            raise OverridesError(f"{where}: model is required")
        start = entry.get("start_date")
        if start is not None and not isinstance(start, date):
            raise OverridesError(f"{where}: start_date must be a TOML date (2026-01-01)")
        overrides.append(
            PriceOverride(
                provider=provider,
                model=model.lower(),
                start_date=start,
                input_mtok=_price(entry, "input_mtok", where, True),  # type: ignore[arg-type]
                output_mtok=_price(entry, "output_mtok", where, True),  # type: ignore[arg-type]
                cache_read_mtok=_price(entry, "cache_read_mtok", where, False),
                cache_write_mtok=_price(entry, "cache_write_mtok", where, False),
                note=str(entry.get("note", "")),
            )
        )
    return overrides


def load_overrides(path: Path | None) -> list[PriceOverride]:
    if path is None:
        return []
    with path.open("rb") as handle:
        return parse_overrides(tomllib.load(handle))


class OverrideBook:
    """Finds the override in force for (provider, model) on a date."""

    def __init__(self, overrides: list[PriceOverride]) -> None:
        self._by_model: dict[tuple[str, str], list[PriceOverride]] = {}
        for item in overrides:
            self._by_model.setdefault((item.provider, item.model), []).append(item)
        for items in self._by_model.values():
            items.sort(key=lambda o: o.start_date or date.min)

    def find(self, provider: str, model: str, day: date) -> PriceOverride | None:
        found = None
        for item in self._by_model.get((provider, model.lower()), ()):
            if item.start_date is None or item.start_date <= day:
                found = item
        return found

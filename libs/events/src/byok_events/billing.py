"""byok.billing.charges and byok.billing.alerts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import Event, KeySource, Money, Provider, Route, UtcDatetime, utc_now


class Charge(Event):
    """byok.billing.charge/v1: one priced usage event."""

    schema_: Literal["byok.billing.charge/v1"] = Field("byok.billing.charge/v1", alias="schema")
    event_id: str
    request_id: str | None = None
    tenant_id: str
    user_id: str | None = None
    provider: Provider
    model: str
    route: Route = Route.DIRECT
    key_source: KeySource
    byok: bool
    provider_cost: Money
    markup_rate: Money
    charge: Money
    priced: bool
    price_source: str
    occurred_at: UtcDatetime
    billed_at: UtcDatetime = Field(default_factory=utc_now)


class BudgetAlert(Event):
    """byok.billing.alert/v1: a budget threshold crossed (an addition to the contract)."""

    schema_: Literal["byok.billing.alert/v1"] = Field("byok.billing.alert/v1", alias="schema")
    event_id: str
    tenant_id: str
    period: str = Field(description="Budget period, e.g. 2026-11")
    kind: Literal["soft", "hard"]
    measure: Literal["platform_charge", "provider_cost"] = Field(
        description="platform_charge: what the platform bills; provider_cost: what the provider bills (BYOK too)"
    )
    threshold: Literal["0.5", "0.8", "1.0"] = Field(description="Fraction of the budget crossed")
    budget: Money
    spent: Money
    at: UtcDatetime = Field(default_factory=utc_now)

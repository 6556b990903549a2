"""byok.billing.charges and byok.billing.alerts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import Event, KeySource, Money, Provider, Route, UtcDatetime, utc_now
from .validation import Id, ModelId, ShortText


class Charge(Event):
    """byok.billing.charge/v1: one priced usage event."""

    schema_: Literal["byok.billing.charge/v1"] = Field("byok.billing.charge/v1", alias="schema")
    event_id: Id
    request_id: Id | None = None
    tenant_id: Id
    user_id: Id | None = None
    provider: Provider
    model: ModelId
    route: Route = Route.DIRECT
    key_source: KeySource
    byok: bool
    provider_cost: Money
    markup_rate: Money
    charge: Money
    priced: bool
    price_source: ShortText
    occurred_at: UtcDatetime
    billed_at: UtcDatetime = Field(default_factory=utc_now)


class BudgetAlert(Event):
    """byok.billing.alert/v1: a budget threshold crossed (an addition to the contract).

    Published by the billing consumer on byok.billing.alerts (key: tenant_id), once per
    (tenant_id, period, measure, kind, threshold). kind="hard" with threshold="1.0" means the tenant
    is blocked for that period: the inference worker refuses its new requests with code
    budget_exceeded until the period ends or the budget is raised (a raised budget sends no event:
    re-check with `byok-billing budget show`).
    """

    schema_: Literal["byok.billing.alert/v1"] = Field("byok.billing.alert/v1", alias="schema")
    event_id: Id = Field(description="Unique id of this alert (a UUID); drop duplicates by it")
    tenant_id: Id = Field(description="The tenant whose budget is concerned")
    period: str = Field(
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",  # pydantic's regex engine (Rust): `$` is the end of the text
        description="Budget period: the UTC calendar month of the usage, e.g. 2026-11",
    )
    kind: Literal["soft", "hard"] = Field(description="soft: a warning; hard: at 1.0 the tenant is blocked")
    measure: Literal["platform_charge", "provider_cost"] = Field(
        description=(
            "platform_charge: what the platform bills the tenant (every charge); provider_cost: what the "
            "providers bill the tenant directly for its BYOK (user-side key) usage"
        )
    )
    threshold: Literal["0.5", "0.8", "1.0"] = Field(description="Fraction of the budget reached")
    budget: Money = Field(description="The budget, USD per period")
    spent: Money = Field(description="Spend of the period on this measure at the crossing, USD")
    at: UtcDatetime = Field(default_factory=utc_now, description="When the crossing was recorded")

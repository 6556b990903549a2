"""Tenants blocked by a hard budget alert until the budget period changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from byok_events import BudgetAlert


def current_period() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


class BudgetBlocks:
    """A hard alert at threshold 1.0 on platform_charge blocks the tenant for the alert's period."""

    def __init__(self, period: Callable[[], str] = current_period) -> None:
        self._blocked: dict[str, str] = {}
        self._period = period

    def apply(self, alert: BudgetAlert) -> None:
        if alert.kind == "hard" and alert.threshold == "1.0" and alert.measure == "platform_charge":
            self._blocked[alert.tenant_id] = alert.period

    def blocked(self, tenant_id: str) -> bool:
        period = self._blocked.get(tenant_id)
        return period is not None and period == self._period()

"""A starting consumer re-publishes only batches older than the grace: younger ones may belong to a live
consumer that is publishing them right now, and taking them too would duplicate charges on the topic."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

from byok_billing.domain.overrides import OverrideBook
from byok_billing.domain.pricing import Pricer
from byok_billing.entrypoints.consumer import OutboxSweeper
from byok_billing.handlers import BillingDeps
from byok_events import utc_now
from byok_testing.waiting import wait_until
from fakes.billing import FakeLedger, FakePublisher


class SweepRecordingLedger(FakeLedger):
    def __init__(self) -> None:
        super().__init__()
        self.sweeps: list[datetime] = []

    async def unpublished(self, older_than):  # type: ignore[no-untyped-def]
        self.sweeps.append(older_than)
        return await super().unpublished(older_than)


async def test_start_up_and_sweeps_leave_batches_younger_than_the_grace_alone() -> None:
    ledger = SweepRecordingLedger()
    deps = BillingDeps(ledger, FakePublisher(), Pricer(OverrideBook([])), Decimal("0.2"), Decimal("0.05"))
    sweeper = OutboxSweeper(deps, asyncio.Lock(), every=30.0, grace=0.3)
    before = utc_now()
    await sweeper.sweep()  # what BillingApp.run does before it consumes
    periodic = asyncio.create_task(sweeper.run())
    try:
        await wait_until(lambda: len(ledger.sweeps) >= 2, 5, "no periodic sweep", interval=0.01)
    finally:
        periodic.cancel()
    assert len(ledger.sweeps) >= 2, "start-up sweep, then one once the grace is over (not after 30 s)"
    start_up_sweep, first_periodic = ledger.sweeps[:2]
    assert start_up_sweep < before - timedelta(seconds=0.2), "the start-up sweep skips batches in the grace"
    assert first_periodic > start_up_sweep + timedelta(seconds=0.2), "the next sweep comes after the grace"

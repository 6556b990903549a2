"""The billing consumer end to end on the real Kafka, with the ledger on PostgreSQL and on SQLite."""

from __future__ import annotations

from decimal import Decimal

import pytest
from byok_billing.ports import OutRecord
from byok_events import Charge, DeadLetter, topics
from byok_testing.topics import TopicTail
from byok_testing.waiting import wait_until
from fakes.billing import usage_event as usage
from sqlalchemy import text
from support.billing import producer, running, send, settings_for

pytestmark = pytest.mark.integration
D = Decimal


@pytest.mark.parametrize("pipeline", [False, True], ids=["serial", "pipeline"])
async def test_charges_dlq_and_redelivery(db_url: str, kafka_bootstrap: str, unique_id: str, pipeline: bool) -> None:
    t = "t-" + unique_id
    settings = settings_for(db_url, kafka_bootstrap, "byok-billing-test-" + unique_id, billing_pipeline=pipeline)
    events = [
        usage(f"{t}-anthropic", t),  # byok: 0.0054 * 0.05
        usage(f"{t}-openai", t, provider="openai", model="gpt-4.1", key_source="system", byok=False),  # 0.0033*1.2
        usage(f"{t}-gemini", t, provider="gemini", model="gemini-2.5-flash", key_source="org"),  # 0.00084*0.05
        usage(
            f"{t}-or",
            t,
            provider="openrouter",
            model="anthropic/claude-sonnet-4.5",
            route="openrouter",
            key_source="system",
            byok=False,
        ),  # 0.0054 * 1.2
        usage(f"{t}-unknown", t, model="claude-unknown-7"),
    ]
    invalid = [
        usage(f"{t}-neg", t, input_tokens=-1),
        usage(f"{t}-huge", t, output_tokens=10**13),
        {k: v for k, v in usage(f"{t}-missing", t).items() if k != "output_tokens"},
    ]
    async with (
        TopicTail(kafka_bootstrap, topics.BILLING_CHARGES, key=t) as charges,
        TopicTail(kafka_bootstrap, topics.DLQ, key=t) as dlq,
        running(settings),
        producer(kafka_bootstrap) as p,
    ):
        await send(p, t, *events, events[0], *invalid, events[0])  # event 0 delivered three times
        got = await charges.wait_for(count=len(events), timeout=40, settle=2)
        letters = await dlq.wait_for(count=3, timeout=20)
    by_id = {c["event_id"]: Charge.model_validate(c) for c in got}
    assert len(got) == len(events) == len(by_id)  # one charge per event, none for the duplicates
    assert {k: v.charge for k, v in by_id.items()} == {
        f"{t}-anthropic": D("0.00027"),
        f"{t}-openai": D("0.00396"),
        f"{t}-gemini": D("0.000042"),
        f"{t}-or": D("0.00648"),
        f"{t}-unknown": D(0),
    }
    assert by_id[f"{t}-unknown"].priced is False and by_id[f"{t}-or"].provider_cost == D("0.0054")
    reasons = sorted(DeadLetter.model_validate(d).reason for d in letters)
    assert len(reasons) == 3 and all(r.startswith("invalid_request") for r in reasons)
    assert any("output_tokens: Field required" in r for r in reasons)
    from byok_billing.main import make_ledger

    ledger = make_ledger(settings)
    with ledger.engine.connect() as conn:
        rows = conn.execute(text("SELECT event_id, priced FROM charges WHERE tenant_id = :t"), {"t": t}).all()
    ledger.engine.dispose()
    assert sorted(r.event_id for r in rows) == sorted(by_id)


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the service catches it."""


class CrashingPublisher:
    """Dies on the first publish that carries charges, i.e. after the ledger commit, before offsets."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner

    async def publish(self, records: list[OutRecord]) -> None:
        if any(r.topic == topics.BILLING_CHARGES for r in records):
            raise Crash()
        await self.inner.publish(records)


@pytest.mark.parametrize("pipeline", [False, True], ids=["serial", "pipeline"])
async def test_a_crash_between_db_commit_and_offset_commit_charges_nothing_twice(
    db_url: str, kafka_bootstrap: str, unique_id: str, pipeline: bool
) -> None:
    t = "t-" + unique_id
    group = "byok-billing-test-" + unique_id
    settings = settings_for(db_url, kafka_bootstrap, group, billing_pipeline=pipeline)
    async with TopicTail(kafka_bootstrap, topics.BILLING_CHARGES, key=t) as charges, producer(kafka_bootstrap) as p:
        async with running(settings) as warm:  # commit an offset for the group first
            await send(p, t, usage(f"{t}-warm", t))
            assert len(await charges.wait_for(count=1, timeout=30)) == 1
            warm.app.deps.publisher = CrashingPublisher(warm.app.deps.publisher)
            await send(p, t, usage(f"{t}-1", t), usage(f"{t}-2", t))
            task = warm.task
            assert task is not None
            await wait_until(task.done, 30, "the consumer did not die after its database commit")
            assert isinstance(task.exception(), Crash)
        async with running(settings):  # a new process of the same group: the batch is redelivered
            got = await charges.wait_for(count=3, timeout=40, settle=3)
    # published once each (the later two by the outbox), the warm-up's charge included
    assert sorted(c["event_id"] for c in got) == [f"{t}-1", f"{t}-2", f"{t}-warm"]
    from byok_billing.main import make_ledger

    ledger = make_ledger(settings)
    with ledger.engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM charges WHERE tenant_id = :t"), {"t": t}).scalar_one()
        unpublished = conn.execute(
            text(
                "SELECT count(*) FROM charges c JOIN publish_batches b ON b.batch_id = c.batch_id "
                "WHERE c.tenant_id = :t AND NOT b.published"
            ),
            {"t": t},
        ).scalar_one()
    ledger.engine.dispose()
    assert (count, unpublished) == (3, 0)


async def test_budget_alerts_reach_kafka_once_per_threshold(db_url: str, kafka_bootstrap: str, unique_id: str) -> None:
    t = "t-" + unique_id
    settings = settings_for(db_url, kafka_bootstrap, "byok-billing-test-" + unique_id)
    from byok_billing.main import make_ledger
    from byok_events import utc_now

    ledger = make_ledger(settings)
    from byok_billing.adapters.migrate import upgrade

    upgrade(ledger.engine)
    ledger.set_budget(t, "platform_charge", "hard", D("0.02"), utc_now())  # 0.00648 per system event
    ledger.set_budget(t, "platform_charge", "soft", D("0.01"), utc_now())
    ledger.engine.dispose()
    async with (
        TopicTail(kafka_bootstrap, topics.BILLING_ALERTS, key=t) as alerts,
        TopicTail(kafka_bootstrap, topics.BILLING_CHARGES, key=t) as charges,
        running(settings),
        producer(kafka_bootstrap) as p,
    ):
        for i in range(6):  # one event at a time: spend 0.00648 .. 0.03888
            await send(p, t, usage(f"{t}-{i}", t, key_source="system", byok=False))
            assert len(await charges.wait_for(count=i + 1, timeout=30)) == i + 1
        got = await alerts.wait_for(count=6, timeout=20, settle=2)
    # soft 0.01: 0.5 at 0.005, 0.8 at 0.008, 1.0 at 0.01; hard 0.02: 0.5 at 0.01, 0.8 at 0.016, 1.0 at 0.02
    assert sorted((a["kind"], a["threshold"]) for a in got) == [
        ("hard", "0.5"),
        ("hard", "0.8"),
        ("hard", "1.0"),
        ("soft", "0.5"),
        ("soft", "0.8"),
        ("soft", "1.0"),
    ]
    blocked = [a for a in got if a["kind"] == "hard" and a["threshold"] == "1.0"]
    assert blocked[0]["spent"] == "0.0259200000" and blocked[0]["period"] == "2026-11"
    assert blocked[0]["measure"] == "platform_charge" and blocked[0]["schema"] == "byok.billing.alert/v1"


async def test_hostile_usage_records_are_dead_lettered_and_charging_goes_on(
    db_url: str, kafka_bootstrap: str, unique_id: str
) -> None:
    """Issue 9: one usage event stopped every tenant's charging (U+0000 refused by PostgreSQL and the batch
    retried forever; deep nesting; a timestamp overflowing UTC). Each ends in the DLQ; the good one behind
    them on the same partition is charged."""
    t = "t-" + unique_id
    settings = settings_for(db_url, kafka_bootstrap, "byok-billing-test-" + unique_id)
    hostile: list = [
        b'{"event_id": "' + f"{t}-deep".encode() + b'", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        usage(f"{t}-overflow", t, occurred_at="0001-01-01T00:00:00+05:00"),
    ]
    if db_url.startswith("postgresql"):  # SQLite stores U+0000; PostgreSQL refuses it
        hostile.insert(0, usage(f"{t}-nul", "acme\x00" + unique_id))
    async with (
        TopicTail(kafka_bootstrap, topics.BILLING_CHARGES, key=t) as charges,
        TopicTail(kafka_bootstrap, topics.DLQ, key=t) as dlq,
    ):
        async with producer(kafka_bootstrap) as p, running(settings):
            await send(p, t, *hostile, usage(f"{t}-good", t))
            got = await charges.wait_for(count=1, timeout=30)
            letters = [DeadLetter.model_validate(v) for v in await dlq.wait_for(count=len(hostile), timeout=30)]
    assert [c["event_id"] for c in got] == [f"{t}-good"]
    assert len(letters) == len(hostile) and all(letter.source_topic == topics.USAGE_EVENTS for letter in letters)
    assert len({letter.offset for letter in letters}) == len(hostile)

"""A real crash of the billing consumer: `python -m byok_billing` as a process, killed with SIGKILL mid-stream.

Thousands of usage events of one fresh tenant (some event_ids sent twice on purpose) are on
byok.usage.events before the consumer starts. Once the ledger holds some but not all of them, the process
is killed (-9: no finally, no flush, no offset commit), started again in the same consumer group, and left
to finish. Then: every distinct event_id is exactly once in usage_events and in charges, the charges add
up to what genai-prices + the money rules give, and byok.billing.charges carries every event_id, with
duplicates (the documented at-least-once publication after a crash) bounded by one batch.

The ledger is the shared PostgreSQL one (other tests use it too): everything read is filtered by tenant.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from byok_billing.adapters.ledger_sql import make_engine
from byok_billing.adapters.migrate import upgrade
from byok_billing.config import BillingSettings
from byok_billing.domain.money import charge_for, markup_rate
from byok_billing.domain.overrides import OverrideBook, load_overrides
from byok_billing.domain.pricing import Tokens, independent_cost
from byok_core.kafka import topic_partitions
from byok_events import topics
from byok_testing.topics import TopicTail
from byok_testing.waiting import wait_until
from fakes.billing import usage_event as usage
from sqlalchemy import Engine, text
from support.billing import producer

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
PYTHON = REPO / ".venv" / "bin" / "python"
DISTINCT = 3000  # distinct event_ids
RESENT = 400  # of them sent a second time (same batch or a later one)
MAX_RECORDS = 200  # records per poll: ~17 batches
KILL_AT = DISTINCT // 3  # charges in the ledger when the first process is killed
MARKUP, BYOK_FEE = Decimal("0.2"), Decimal("0.05")
OCCURRED_AT = "2026-11-27T15:00:01Z"
SHAPES = (  # (provider, model, key_source, byok): all priced by genai-prices
    ("anthropic", "claude-sonnet-4-5", "user", True),
    ("openai", "gpt-4.1", "system", False),
    ("gemini", "gemini-2.5-flash", "org", True),
)


# --- helpers ---------------------------------------------------------------------------------------------


def make_events(tenant: str, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(distinct events, the stream as sent: every event once plus RESENT of them again, shuffled in)."""
    distinct = []
    for i in range(DISTINCT):
        provider, model, key_source, byok = SHAPES[i % len(SHAPES)]
        input_tokens = rng.randint(1, 20_000)
        distinct.append(
            usage(
                f"{tenant}-{i:05d}",
                tenant,
                provider=provider,
                model=model,
                key_source=key_source,
                byok=byok,
                input_tokens=input_tokens,
                output_tokens=rng.randint(0, 4_000),
                cache_read_tokens=rng.randint(0, input_tokens // 2),
                occurred_at=OCCURRED_AT,
            )
        )
    stream = list(distinct)
    for event in rng.sample(distinct, RESENT):
        # Half right behind the original (same poll), half far later (another batch, maybe another process).
        at = stream.index(event) + 1 if rng.random() < 0.5 else rng.randint(0, len(stream))
        stream.insert(at, event)
    return distinct, stream


def expected_charge(event: dict[str, Any], overrides: OverrideBook) -> Decimal:
    """The charge by hand: genai-prices' own calc_price (no memo, no fast path) and the money rules."""
    result = independent_cost(
        overrides,
        event["provider"],
        event["model"],
        datetime.fromisoformat(event["occurred_at"]),
        Tokens(event["input_tokens"], event["output_tokens"], event["cache_read_tokens"], 0),
    )
    assert result.priced, event["model"]
    rate = markup_rate(event["key_source"], MARKUP, BYOK_FEE)
    return charge_for(result.provider_cost, event["key_source"], rate)


async def produce(bootstrap: str, tenant: str, stream: list[dict[str, Any]]) -> dict[int, int]:
    """Sends the stream (pipelined, idempotent, acks=all); returns partition -> offset of our first record."""
    import json

    first: dict[int, int] = {}
    async with producer(bootstrap) as p:
        futures = [await p.send(topics.USAGE_EVENTS, json.dumps(e).encode(), key=tenant.encode()) for e in stream]
        for meta in await asyncio.gather(*futures):
            first[meta.partition] = min(first.get(meta.partition, meta.offset), meta.offset)
    return first


async def start_group_at(bootstrap: str, group: str, first: dict[int, int]) -> None:
    """Commits the new group's offsets: our first record on our partition, the end elsewhere. The consumer
    then reads exactly from our events on, never the topic's whole history (auto_offset_reset unused)."""
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await c.start()
    try:
        tps = await topic_partitions({"bootstrap_servers": bootstrap}, [topics.USAGE_EVENTS])
        c.assign(tps)
        ends = await c.end_offsets(tps)
        await c.commit({tp: first.get(tp.partition, ends[tp]) for tp in tps})
    finally:
        await c.stop()


class Consumer:
    """One `python -m byok_billing` process, its JSON log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = log.open("ab")
        self.proc = subprocess.Popen(
            [str(PYTHON), "-m", "byok_billing"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, wait: float = 20.0) -> int:
        """SIGTERM (graceful drain) and its exit code; SIGKILL if it does not stop in time."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.kill9()
            return -9

    def close(self) -> None:
        """Always called (finally): whatever state the process is in, it is dead afterwards."""
        if self.alive():
            self.kill9()
        self.handle.close()

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def charged(engine: Engine, tenant: str) -> int:
    """Charge rows of the tenant (index ix_charges_tenant_occurred: cheap enough to poll)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM charges WHERE tenant_id = :t"), {"t": tenant}).scalar_one()


def counts(engine: Engine, tenant: str) -> tuple[int, int]:
    """(usage rows, charge rows) of the tenant. usage_events has no tenant index (a scan of the shared
    ledger: ~0.3 s with millions of rows), so this is not polled."""
    with engine.connect() as conn:
        used = conn.execute(text("SELECT count(*) FROM usage_events WHERE tenant_id = :t"), {"t": tenant}).scalar_one()
    return used, charged(engine, tenant)


def unpublished(engine: Engine, tenant: str) -> int:
    """Charges of the tenant whose batch is committed but not marked published (the outbox)."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM charges c JOIN publish_batches b ON b.batch_id = c.batch_id "
                "WHERE c.tenant_id = :t AND NOT b.published"
            ),
            {"t": tenant},
        ).scalar_one()


async def wait_for(engine: Engine, tenant: str, proc: Consumer, count: int, timeout: float) -> int:
    """Polls the ledger every ~10 ms until the tenant has `count` charges; fails (with the log) if the
    process dies or time runs out."""

    def reached() -> int:
        assert proc.alive(), f"billing consumer exited {proc.proc.returncode}:\n{proc.log_tail()}"
        now = charged(engine, tenant)
        return now if now >= count else 0

    return await wait_until(
        reached, timeout, lambda: f"ledger stuck at {charged(engine, tenant)}:\n{proc.log_tail()}", interval=0.01
    )


async def collect_charges(charges_topic: TopicTail, ids: set[str], wait: float, settle: float = 2.0) -> list[Any]:
    """The tail's charge records once every id in `ids` was seen, and `settle` s more for late duplicates."""
    await charges_topic.until(lambda got: ids <= {c["event_id"] for c in got}, timeout=wait)
    return await charges_topic.absent_for(settle)


@pytest.fixture
def ledger_engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(BillingSettings(database_url=postgres_url).database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


# --- the test --------------------------------------------------------------------------------------------


async def test_kill9_mid_stream_charges_every_event_exactly_once(
    stack_env: dict[str, str],
    kafka_bootstrap: str,
    ledger_engine: Engine,
    unique_id: str,
    tmp_path: Path,
) -> None:
    tenant = "t-kill9-" + unique_id
    group = "byok-billing-kill9-" + unique_id
    rng = random.Random(unique_id)
    distinct, stream = make_events(tenant, rng)
    overrides = OverrideBook(load_overrides(BillingSettings().billing_price_overrides))
    expected = {e["event_id"]: expected_charge(e, overrides) for e in distinct}
    env = {
        **os.environ,
        "BYOK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "BYOK_DATABASE_URL": stack_env["BYOK_DATABASE_URL"],
        "BYOK_BILLING_GROUP_ID": group,
        "BYOK_BILLING_AUTO_OFFSET_RESET": "latest",  # offsets are committed before it starts
        "BYOK_BILLING_METRICS_PORT": "0",
        "BYOK_BILLING_MAX_RECORDS": str(MAX_RECORDS),
        "BYOK_BILLING_MARKUP": str(MARKUP),
        "BYOK_BILLING_BYOK_FEE": str(BYOK_FEE),
        "BYOK_LOG_FORMAT": "json",
    }
    log = tmp_path / "billing.log"

    async with TopicTail(kafka_bootstrap, topics.BILLING_CHARGES, key=tenant) as charges_topic:
        first = await produce(kafka_bootstrap, tenant, stream)
        await start_group_at(kafka_bootstrap, group, first)

        victim = Consumer(env, log)
        try:
            await wait_for(ledger_engine, tenant, victim, KILL_AT, timeout=40)
            victim.kill9()
        finally:
            victim.close()
        assert victim.proc.returncode == -signal.SIGKILL
        at_kill = counts(ledger_engine, tenant)  # what the dead process left behind
        left_unpublished = unpublished(ledger_engine, tenant)
        assert 0 < at_kill[1] < DISTINCT, f"not killed mid-stream: {at_kill} of {DISTINCT}"
        assert at_kill[0] == at_kill[1]  # usage and charge rows are committed together

        survivor = Consumer(env, log)
        try:
            await wait_for(ledger_engine, tenant, survivor, DISTINCT, timeout=40)
            # The ledger is complete; its charges reach the topic right after each batch commit.
            got = await collect_charges(charges_topic, set(expected), wait=20)
            exit_code = survivor.terminate()
        finally:
            survivor.close()
        assert exit_code == 0, f"SIGTERM did not drain cleanly ({exit_code}):\n{survivor.log_tail()}"

    # The ledger: exactly one usage row and one charge row per distinct event_id, with the right money.
    with ledger_engine.connect() as conn:
        usage_ids = Counter(
            conn.execute(text("SELECT event_id FROM usage_events WHERE tenant_id = :t"), {"t": tenant}).scalars()
        )
        rows = conn.execute(
            text("SELECT event_id, charge, priced FROM charges WHERE tenant_id = :t"), {"t": tenant}
        ).all()
        total = conn.execute(text("SELECT sum(charge) FROM charges WHERE tenant_id = :t"), {"t": tenant}).scalar_one()
    once = Counter(list(expected))
    assert usage_ids == once  # every distinct id exactly once, no other id
    assert Counter(r.event_id for r in rows) == once
    assert all(r.priced for r in rows)
    assert {r.event_id: Decimal(r.charge) for r in rows} == expected
    assert isinstance(total, Decimal) and total == sum(expected.values(), Decimal(0)) > 0
    assert unpublished(ledger_engine, tenant) == 0  # the outbox published what the crash left behind

    # The topic: every distinct event_id at least once, each with the ledger's charge; duplicates (the
    # at-least-once publication of the batch in flight at the kill) at most one batch's worth.
    on_topic = Counter(c["event_id"] for c in got)
    assert set(on_topic) == set(expected), f"missing on the topic: {len(set(expected) - set(on_topic))}"
    assert all(Decimal(c["charge"]) == expected[c["event_id"]] for c in got)
    duplicates = len(got) - len(on_topic)
    assert duplicates <= MAX_RECORDS, f"{duplicates} duplicate charges on the topic"
    print(
        f"\nkill -9 at ledger {at_kill[1]}/{DISTINCT} charged ({left_unpublished} committed but unpublished); "
        f"after restart: {len(got)} charge records on the topic for {len(on_topic)} event_ids, "
        f"{duplicates} duplicates"
    )

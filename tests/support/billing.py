"""Kafka and event helpers of the billing integration tests (a uniquely named module, imported by them)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from byok_billing.config import BillingSettings
from byok_billing.main import BillingApp, bootstrap
from byok_core.kafka import topic_partitions


class TopicTail:
    """Reads a topic from its end at start(): what the test makes appear, filtered by tenant key."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)

    async def start(self) -> None:
        await self.consumer.start()
        tps = await topic_partitions({"bootstrap_servers": self.bootstrap}, [self.topic])
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        for tp in tps:
            await self.consumer.position(tp)

    async def collect(self, key: str, count: int, wait: float = 30.0, settle: float = 0.0) -> list[dict[str, Any]]:
        """Records keyed `key` until `count` arrived (then `settle` more seconds to catch extras)."""
        found: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        settle_until: float | None = None
        while loop.time() < deadline:
            if len(found) >= count:
                settle_until = settle_until or loop.time() + settle
                if loop.time() >= settle_until:
                    break
            batch = await self.consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                found.extend(json.loads(m.value) for m in messages if m.key == key.encode())
        return found

    async def stop(self) -> None:
        await self.consumer.stop()


@contextlib.asynccontextmanager
async def tail(bootstrap: str, topic: str) -> AsyncIterator[TopicTail]:
    t = TopicTail(bootstrap, topic)
    await t.start()
    try:
        yield t
    finally:
        await t.stop()


@contextlib.asynccontextmanager
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def send(p: AIOKafkaProducer, tenant: str, *events: dict[str, Any] | bytes) -> None:
    for e in events:
        value = e if isinstance(e, bytes) else json.dumps(e).encode()
        await p.send_and_wait("byok.usage.events", value, key=tenant.encode())


def settings_for(db_url: str, kafka_bootstrap: str, group: str, **extra: Any) -> BillingSettings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "billing_group_id": group,
        "billing_metrics_port": 0,
        "billing_poll_ms": 100,
        "billing_auto_offset_reset": "latest",
    }
    values.update(extra)
    settings = BillingSettings(**values)
    settings.kafka.bootstrap = kafka_bootstrap
    return settings


class RunningApp:
    def __init__(self, app: BillingApp) -> None:
        self.app, self.stop = app, asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self, wait: float = 30.0) -> None:
        self.task = asyncio.create_task(self.app.run(self.stop))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        consumer = self.app.consumer
        while not consumer.assignment():
            if self.task.done():
                self.task.result()
            assert loop.time() < deadline, "no partitions assigned"
            await asyncio.sleep(0.1)
        for tp in consumer.assignment():  # resolve 'latest' before the test produces
            await consumer.position(tp)

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self.task, 30)


@contextlib.asynccontextmanager
async def running(settings: BillingSettings, **overrides: Any) -> AsyncIterator[RunningApp]:
    app = bootstrap(settings)
    for name, value in overrides.items():
        setattr(app.deps, name, value)
    runner = RunningApp(app)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.close()

"""Kafka and event helpers of the billing integration tests: a producer, the consumer app in-process."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaProducer
from byok_billing.config import BillingSettings
from byok_billing.main import BillingApp, bootstrap
from byok_testing.waiting import wait_until


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
        task = self.task = asyncio.create_task(self.app.run(self.stop))
        consumer = self.app.consumer

        def assigned() -> bool:
            if task.done():
                task.result()  # its error, if it stopped
            return bool(consumer.assignment())

        await wait_until(assigned, wait, "no partitions assigned")
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

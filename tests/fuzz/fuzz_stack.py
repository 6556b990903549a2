"""Helpers of the through-the-stack fuzz: hostile records drawn from the strategies, a producer that writes
each one followed by a valid record on the same partition, a tail of the topics the services write, the
services' own counters, and the checks that the services are still the processes they were.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from byok_events import topics as contract
from fuzz_support import FUZZ
from hypothesis import Phase, given, seed, settings
from hypothesis import strategies as st

# The broker's default message.max.bytes is 1,048,588: larger hostile records cannot enter Kafka at all
# (they are fuzzed in process); the batch header and the record's headers need the rest.
BROKER_MAX_RECORD = 1_000_000
Headers = list[tuple[str, bytes]]
CONTRACT_TOPICS = (
    contract.PROMPT_REQUESTS,
    contract.PROMPT_RESPONSES,
    contract.USAGE_EVENTS,
    contract.BILLING_CHARGES,
    contract.BILLING_ALERTS,
    contract.KEY_EVENTS,
    contract.DLQ,
)


def draw(strategy: st.SearchStrategy[Any], n: int, first_seed: int) -> list[Any]:
    """`n` values of `strategy` from seeded hypothesis runs (the generate phase only): the same every run."""
    out: list[Any] = []
    run = first_seed
    while len(out) < n:

        @seed(run)
        @settings(FUZZ, max_examples=n - len(out), phases=[Phase.generate])
        @given(strategy)
        def collect(value: Any) -> None:
            out.append(value)

        collect()
        run += 1
    return out[:n]


@dataclass
class Sent:
    """One record as written: where it landed, and what the test expects of it."""

    topic: str
    partition: int
    value: bytes
    key: bytes | None
    headers: Headers
    follower: bool  # the valid record that follows a hostile one
    expected: Any = None  # the contract's verdict: the parsed event, or None for a refused record
    offset: int = -1


@dataclass
class Plan:
    """Hostile records, each followed by a valid one on the same partition, written in one burst."""

    topic: str
    partitions: int
    records: list[Sent] = field(default_factory=list)
    seconds: float = 0.0

    def pair(self, hostile: Sent, follower: Sent) -> None:
        self.records += [hostile, follower]

    @property
    def hostile(self) -> list[Sent]:
        return [r for r in self.records if not r.follower]

    @property
    def followers(self) -> list[Sent]:
        return [r for r in self.records if r.follower]

    @property
    def refused(self) -> list[Sent]:
        return [r for r in self.hostile if r.expected is None]

    @property
    def accepted(self) -> list[Sent]:
        return [r for r in self.hostile if r.expected is not None]


async def write(bootstrap: str, plan: Plan) -> None:
    """Every record of the plan in order (idempotent producer: the order on a partition is the order sent)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_request_size=BROKER_MAX_RECORD + 48_000,
    )
    await producer.start()
    started = time.monotonic()
    try:
        futures = [
            await producer.send(r.topic, r.value, key=r.key, partition=r.partition, headers=r.headers)
            for r in plan.records
        ]
        for record, metadata in zip(plan.records, await asyncio.gather(*futures), strict=True):
            record.offset = metadata.offset
    finally:
        await producer.stop()
    plan.seconds = time.monotonic() - started


class Tail:
    """Every record written to some topics after start(), from every partition, without a consumer group."""

    def __init__(self, bootstrap: str, topics: Sequence[str]) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            max_partition_fetch_bytes=2 * 1024 * 1024,
        )
        self._topics = topics
        self._bootstrap = bootstrap
        self.records: dict[str, list[Any]] = {t: [] for t in topics}
        self.partition_counts: dict[str, int] = {}
        self._bodies: dict[str, list[dict[str, Any]]] = {t: [] for t in topics}
        self._parsed: dict[str, int] = dict.fromkeys(topics, 0)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        try:
            for described in await admin.describe_topics(list(CONTRACT_TOPICS)):
                self.partition_counts[described["topic"]] = len(described["partitions"])
        finally:
            await admin.close()
        assert all(self.partition_counts.get(t) for t in self._topics), self.partition_counts
        await self._consumer.start()
        partitions = [TopicPartition(t, p) for t in self._topics for p in range(self.partition_counts[t])]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self._consumer.position(tp)  # fixes the start before anything is written
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            for tp, records in (await self._consumer.getmany(timeout_ms=200, max_records=5000)).items():
                self.records[tp.topic].extend(records)

    def bodies(self, topic: str) -> list[dict[str, Any]]:
        """The JSON objects among the records (parsed once each)."""
        records, done = self.records[topic], self._parsed[topic]
        for record in records[done:]:
            try:
                body = json.loads(record.value)
            except (ValueError, TypeError, RecursionError):
                continue
            if isinstance(body, dict):
                self._bodies[topic].append(body)
        self._parsed[topic] = len(records)
        return self._bodies[topic]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


async def wait_until(condition: Callable[[], Awaitable[bool] | bool], timeout: float, what: str) -> float:
    """Seconds until `condition()` holds; an AssertionError naming `what` after `timeout`."""
    started = time.monotonic()
    while True:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.2)


async def counters(url: str) -> dict[tuple[str, str, str], float]:
    """byok_messages_total of one service's /metrics: (service, topic, outcome) -> count."""
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as answer:
        assert answer.status == 200
        text = await answer.text()
    found: dict[tuple[str, str, str], float] = {}
    for line in text.splitlines():
        if not line.startswith("byok_messages_total{"):
            continue
        labels, value = line[len("byok_messages_total{") :].rsplit("} ", 1)
        pairs = dict(part.split("=", 1) for part in labels.split('",') if "=" in part)
        name = {k.strip(): v.strip().strip('"') for k, v in pairs.items()}
        found[(name["service"], name["topic"], name["outcome"])] = float(value)
    return found


class Counters:
    """What a service's counters did since `start()`."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._before: dict[tuple[str, str, str], float] = {}

    async def start(self) -> Counters:
        self._before = await counters(self._url)
        return self

    async def delta(self, service: str, topic: str, outcome: str) -> int:
        key = (service, topic, outcome)
        return int((await counters(self._url)).get(key, 0) - self._before.get(key, 0))


@dataclass
class Alive:
    """The services' process ids at the start: at the end each must be the same process, answering /healthz."""

    run_dir: Path
    urls: dict[str, str]
    pids: dict[str, int] = field(default_factory=dict)

    def read(self) -> dict[str, int]:
        return {name: int((self.run_dir / f"{name}.pid").read_text()) for name in self.urls}

    def start(self) -> Alive:
        self.pids = self.read()
        return self

    async def check(self) -> None:
        assert self.read() == self.pids, "a service process was replaced (it stopped and was restarted)"
        for name, url in self.urls.items():
            restarts = (self.run_dir / f"{name}.restarts").read_text().split()[0]
            assert restarts == "0", f"{name} was restarted {restarts} times"
            async with aiohttp.ClientSession() as http, http.get(url + "/healthz") as answer:
                assert answer.status == 200, f"{name} /healthz answered {answer.status}"

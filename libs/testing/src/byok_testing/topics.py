"""Reading Kafka topics in tests, on aiokafka's public API: what a test causes, from a topic's end as of start.

    async with TopicTail(bootstrap, "byok.billing.charges", key=tenant) as charges:
        ...  # make the service write
        [charge] = await charges.wait_for(lambda c: c["event_id"] == "e1")

The tail reads in the background from the moment start() returns, so nothing written after it is missed.
Values are decoded as JSON once, on arrival (a record that is not JSON keeps `NOT_JSON` as its value).
It is independent of the services' own Kafka code on purpose: the tests check that code, not share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from typing import Any, Self

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from byok_testing.waiting import wait_until

POLL = 0.05  # seconds between two looks at what was read (a test's condition may scan every record)
NOT_JSON: Any = object()  # the decoded value of a record whose value is not JSON

Match = Callable[[Any], object]
KeyFilter = bytes | str | Callable[[bytes | None], object]


async def partitions_of(bootstrap: str, topics: Sequence[str]) -> list[TopicPartition]:
    """Every partition of these topics, from the cluster's metadata (admin client: joins no group)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics(list(topics))}
    finally:
        await admin.close()
    missing = [t for t in topics if t not in described or described[t]["error_code"] or not described[t]["partitions"]]
    if missing:
        raise LookupError(f"topics not found: {', '.join(missing)}")
    return [TopicPartition(t, p["partition"]) for t in topics for p in described[t]["partitions"]]


def _decode(value: bytes | None) -> Any:
    try:
        return json.loads(value) if value is not None else NOT_JSON
    except ValueError:
        return NOT_JSON


def _key_filter(key: KeyFilter | None) -> Callable[[bytes | None], object]:
    if key is None:
        return lambda _: True
    if isinstance(key, str | bytes):
        wanted = key.encode() if isinstance(key, str) else key
        return lambda k: k == wanted
    return key


class TopicTail:
    """Reads `topics` in the background from their end as of start() (or from their beginning).

    `key` keeps only records with that key (bytes or str) or whose key passes it (a callable): a busy shared
    topic then costs little memory. Records are kept in arrival order in `records`, with decoded values."""

    def __init__(
        self, bootstrap: str, *topics: str, key: KeyFilter | None = None, from_beginning: bool = False
    ) -> None:
        if not topics:
            raise ValueError("no topic to read")
        self.bootstrap = bootstrap
        self.topics = topics
        self.from_beginning = from_beginning
        self.records: list[ConsumerRecord[bytes, bytes]] = []
        self._decoded: list[Any] = []
        self._keep = _key_filter(key)
        self._partitions: list[TopicPartition] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Self:
        self._partitions = await partitions_of(self.bootstrap, self.topics)
        consumer = self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100
        )
        await consumer.start()
        try:
            consumer.assign(self._partitions)
            if self.from_beginning:
                await consumer.seek_to_beginning(*self._partitions)
            else:
                await consumer.seek_to_end(*self._partitions)
            for tp in self._partitions:  # resolve the start offsets now, before the test writes anything
                await consumer.position(tp)
        except BaseException:
            await consumer.stop()
            raise
        self._task = asyncio.create_task(self._read(consumer), name=f"tail {','.join(self.topics)}")
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            for batch in (await consumer.getmany(timeout_ms=100)).values():
                for record in batch:
                    if self._keep(record.key):
                        self.records.append(record)
                        self._decoded.append(_decode(record.value))

    def _alive(self) -> None:
        if self._task is None:
            raise RuntimeError("the tail is not started")
        if self._task.done():
            self._task.result()  # the reader's own error, if it stopped on one
            raise RuntimeError("the tail stopped reading")

    def values(
        self, match: Match | None = None, *, topic: str | None = None, partition: int | None = None
    ) -> list[Any]:
        """The decoded values read so far (JSON only), in arrival order: those passing `match`, of `topic` and
        `partition` when given."""
        return [
            value
            for record, value in zip(self.records, self._decoded, strict=True)
            if value is not NOT_JSON
            and (topic is None or record.topic == topic)
            and (partition is None or record.partition == partition)
            and (match is None or match(value))
        ]

    def _describe(self) -> str:
        return f"{', '.join(self.topics)}: {len(self.records)} records read"

    async def wait_for(
        self,
        match: Match | None = None,
        count: int = 1,
        *,
        timeout: float = 30.0,
        settle: float = 0.0,
        topic: str | None = None,
        partition: int | None = None,
    ) -> list[Any]:
        """The values passing `match`, once at least `count` of them arrived (TimeoutError otherwise).

        `settle` seconds more of reading before returning, so that extras (duplicates) arriving late are
        in the result: for asserting an exact count."""

        def matching() -> list[Any]:
            return self.values(match, topic=topic, partition=partition)

        def enough() -> bool:
            self._alive()
            return len(matching()) >= count

        await wait_until(
            enough, timeout, lambda: f"{len(matching())} of {count} matching; {self._describe()}", interval=POLL
        )
        if settle:
            await asyncio.sleep(settle)
        return matching()

    async def until(self, condition: Callable[[list[Any]], object], *, timeout: float = 30.0) -> list[Any]:
        """Waits until `condition(values())` holds; returns the values (TimeoutError otherwise)."""

        def met() -> bool:
            self._alive()
            return bool(condition(self.values()))

        await wait_until(met, timeout, lambda: f"condition not met; {self._describe()}", interval=POLL)
        return self.values()

    async def absent_for(self, seconds: float, match: Match | None = None) -> list[Any]:
        """Keeps reading for `seconds` (the wait is the point: proving that nothing more arrives), then
        returns the values passing `match`."""
        await asyncio.sleep(seconds)
        self._alive()
        return self.values(match)

    async def caught_up(self, timeout: float = 30.0) -> list[ConsumerRecord[bytes, bytes]]:
        """Reads up to the topics' end offsets as of this call; returns every record kept so far."""
        self._alive()
        consumer = self._consumer
        assert consumer is not None
        ends = await consumer.end_offsets(self._partitions)

        async def reached() -> bool:
            self._alive()
            return all([await consumer.position(tp) >= end for tp, end in ends.items()])

        await wait_until(
            reached, timeout, lambda: f"not caught up with the end offsets; {self._describe()}", interval=POLL
        )
        return list(self.records)

"""The one state-topic follower survives records it cannot apply (issue 9: a follower that died silently on
one bad record stopped budget blocks and de-duplication from updating)."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition
from byok_core.kafka import Followed, StateFollower
from fakes.kafka import FakeConsumer, records
from prometheus_client import REGISTRY


async def test_bad_records_are_counted_and_following_goes_on() -> None:
    consumer = FakeConsumer(partitions={"state": {0}, "later": {0}})
    applied: list[bytes] = []

    def apply(record) -> None:  # type: ignore[no-untyped-def]
        if record.value == b"overflow":
            raise OverflowError("date value out of range")
        if record.value == b"deep":
            raise RecursionError("maximum recursion depth exceeded")
        applied.append(record.value)

    async def find_partitions(names: list[str]) -> list[TopicPartition]:
        return [TopicPartition(name, 0) for name in names]

    follower = StateFollower(
        consumer,
        [Followed("state", apply, start_ms=lambda: 0), Followed("later", apply, catch_up=False)],
        service="test",
        find_partitions=find_partitions,
    )

    def counted() -> dict[str, float]:
        return {
            o: REGISTRY.get_sample_value("byok_messages_total", {"service": "test", "topic": "state", "outcome": o})
            or 0.0
            for o in ("applied", "unreadable")
        }

    before = counted()
    await follower.start()
    consumer.add(records("state", [b"a", b"overflow", b"b", b"deep", b"c"]))
    async with asyncio.timeout(5):
        while len(applied) < 3:
            await asyncio.sleep(0.01)
    assert applied == [b"a", b"b", b"c"] and follower.bad_records == 2
    # what the through-the-stack fuzz reads from /metrics: every record counted, applied or not
    after = counted()
    assert {o: after[o] - before[o] for o in after} == {"applied": 3, "unreadable": 2}
    await follower.stop()

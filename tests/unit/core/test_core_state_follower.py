"""The one state-topic follower survives records it cannot apply (issue 9: a follower that died silently on
one bad record stopped budget blocks and de-duplication from updating)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from byok_core.kafka import Followed, StateFollower
from byok_testing.waiting import wait_until
from fakes.kafka import FakeConsumer, Rec, records
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
    await wait_until(lambda: len(applied) >= 3, 5, lambda: f"{len(applied)} of 3 applied", interval=0.01)
    assert applied == [b"a", b"b", b"c"] and follower.bad_records == 2
    # what the through-the-stack fuzz reads from /metrics: every record counted, applied or not
    after = counted()
    assert {o: after[o] - before[o] for o in after} == {"applied": 3, "unreadable": 2}
    await follower.stop()


@dataclass
class SeekingConsumer(FakeConsumer):
    """A fake consumer whose fetches start at the seek position and whose end offsets stay put, as Kafka's do."""

    ends: dict[TopicPartition, int] = field(default_factory=dict)

    def add(self, recs: list[Rec]) -> None:
        super().add(recs)
        for r in recs:
            tp = TopicPartition(r.topic, r.partition)
            self.ends[tp] = max(self.ends.get(tp, 0), r.offset + 1)

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.ends.get(tp, 0) for tp in partitions}

    async def offsets_for_times(self, timestamps: dict[TopicPartition, int]) -> dict[TopicPartition, Any]:
        return {tp: SimpleNamespace(offset=0) for tp in timestamps}  # every record is in the window

    async def position(self, tp: TopicPartition) -> int:
        return min(
            [r.offset for r in self.pending if (r.topic, r.partition) == (tp.topic, tp.partition)],
            default=self.ends.get(tp, 0),
        )

    def seek(self, tp: TopicPartition, offset: int) -> None:
        super().seek(tp, offset)
        self.pending = [
            r for r in self.pending if (r.topic, r.partition) != (tp.topic, tp.partition) or r.offset >= offset
        ]


async def test_a_start_reads_at_most_the_newest_max_records_spread_over_the_partitions() -> None:
    consumer = SeekingConsumer(partitions={"answers": {0, 1}})
    consumer.add(records("answers", [f"p0-{i}".encode() for i in range(100)], partition=0))
    consumer.add(records("answers", [f"p1-{i}".encode() for i in range(7)], partition=1))
    applied: list[bytes] = []

    async def find_partitions(names: list[str]) -> list[TopicPartition]:
        return [TopicPartition("answers", 0), TopicPartition("answers", 1)]

    follower = StateFollower(
        consumer,
        [Followed("answers", lambda r: applied.append(r.value), start_ms=lambda: 0, max_records=40)],
        service="test",
        find_partitions=find_partitions,
    )
    await follower.start()
    assert await follower.catch_up(5)
    # 20 per partition: the newest 20 of partition 0, all 7 of partition 1 (the window starts before them)
    assert sorted(applied) == sorted(
        [f"p0-{i}".encode() for i in range(80, 100)] + [f"p1-{i}".encode() for i in range(7)]
    )
    await follower.stop()


async def test_a_catch_up_that_times_out_says_so_and_following_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    consumer = SeekingConsumer(partitions={"answers": {0}})
    consumer.add(records("answers", [b"a", b"b"]))
    applied: list[bytes] = []
    release = asyncio.Event()

    def apply(record) -> None:  # type: ignore[no-untyped-def]
        applied.append(record.value)

    async def find_partitions(names: list[str]) -> list[TopicPartition]:
        return [TopicPartition("answers", 0)]

    follower = StateFollower(
        consumer, [Followed("answers", apply, start_ms=lambda: 0)], service="test", find_partitions=find_partitions
    )
    real_getmany = consumer.getmany

    async def slow_getmany(*args, **kwargs):  # type: ignore[no-untyped-def]
        await release.wait()
        return await real_getmany(*args, **kwargs)

    consumer.getmany = slow_getmany  # type: ignore[method-assign]
    await follower.start()
    with caplog.at_level(logging.INFO, logger="byok.kafka.follower"):
        assert await follower.catch_up(0.3, report_every=0.1) is False
    messages = [r.getMessage() for r in caplog.records]
    assert "catching up on state topics" in messages
    assert messages[-1] == "state topics not caught up in time; going on while following"
    assert caplog.records[-1].records_left == 2  # type: ignore[attr-defined]
    release.set()
    await wait_until(lambda: applied == [b"a", b"b"], 5, lambda: f"applied {applied}", interval=0.01)
    assert await follower.catch_up(5)
    await follower.stop()

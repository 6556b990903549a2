"""An in-memory stand-in for AIOKafkaConsumer (the part the runner and the follower use) and a DLQ sink."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from byok_core.kafka import PublishFailed
from byok_events import DeadLetter


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int
    value: Any
    key: bytes | None = b"k"
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp: int = 0


def records(topic: str, values: list[Any], partition: int = 0, start: int = 0) -> list[Rec]:
    return [Rec(topic, partition, start + i, v) for i, v in enumerate(values)]


@dataclass
class FakeConsumer:
    """Hands out the given records in fetch order, at most `max_records` per getmany; records commits."""

    pending: list[Rec] = field(default_factory=list)
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    listener: Any = None
    started: bool = False
    assigned: set[TopicPartition] = field(default_factory=set)
    positions: dict[TopicPartition, int] = field(default_factory=dict)
    partitions: dict[str, set[int]] = field(default_factory=dict)

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

    def subscribe(self, topics: list[str], listener: Any = None) -> None:
        self.listener = listener

    def unsubscribe(self) -> None:
        pass

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned = set(partitions)

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return self.partitions.get(topic) or {r.partition for r in self.pending if r.topic == topic} or None

    async def offsets_for_times(self, timestamps: dict[TopicPartition, int]) -> dict[TopicPartition, Any]:
        return {tp: None for tp in timestamps}

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.positions.get(tp, 0) for tp in partitions}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    async def position(self, tp: TopicPartition) -> int:
        return self.positions.get(tp, 0)

    def highwater(self, tp: TopicPartition) -> int | None:
        return None

    def add(self, recs: list[Rec]) -> None:
        self.pending.extend(recs)
        for r in recs:
            tp = TopicPartition(r.topic, r.partition)
            self.positions[tp] = max(self.positions.get(tp, 0), r.offset + 1)

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[Rec]]:
        if self.listener is not None and not self.assigned:
            self.assigned = {TopicPartition(r.topic, r.partition) for r in self.pending}
            await self.listener.on_partitions_assigned(self.assigned)
        if not self.pending:
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        wanted = [r for r in self.pending if not partitions or TopicPartition(r.topic, r.partition) in partitions]
        take = wanted[: max_records or None]
        taken = {id(r) for r in take}
        self.pending = [r for r in self.pending if id(r) not in taken]
        batch: dict[TopicPartition, list[Rec]] = {}
        for r in take:
            batch.setdefault(TopicPartition(r.topic, r.partition), []).append(r)
        return batch

    async def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        for tp, meta in offsets.items():
            self.committed[tp] = getattr(meta, "offset", meta)


@dataclass
class FakeDeadLetterSink:
    letters: list[tuple[DeadLetter, bytes | None]] = field(default_factory=list)
    fail: bool = False

    async def dead_letter(self, letter: DeadLetter, key: bytes | None) -> None:
        if self.fail:
            raise PublishFailed("byok.dlq: KafkaConnectionError")
        self.letters.append((letter, key))

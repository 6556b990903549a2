"""Kafka through aiokafka: the usage consumer (manual offset commits), an idempotent producer (acks=all)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import murmur2
from byok_core.kafka import aiokafka_options
from byok_core.settings import KafkaSettings

from ..ports import InRecord, OutRecord

MAX_CACHED_KEYS = 100_000


class KafkaPublisher:
    """Publisher port: sends every record, then waits for all acknowledgements."""

    def __init__(self, settings: KafkaSettings, **options: Any) -> None:
        self.producer = AIOKafkaProducer(
            **aiokafka_options(settings),
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=512 * 1024,
            **options,
        )
        self._key_hashes: dict[bytes, int] = {}

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    async def publish(self, records: list[OutRecord]) -> None:
        """Records grouped per partition (the producer's own key partitioner, so keyed records land where
        send() would put them) into a few batches: far less Python per record than one send() each."""
        by_partition: dict[tuple[str, int], list[OutRecord]] = {}
        partitions: dict[str, list[int]] = {}
        for topic in {r.topic for r in records}:
            partitions[topic] = sorted(await self.producer.partitions_for(topic))  # metadata
        for r in records:
            by_partition.setdefault((r.topic, self._partition_of(r, partitions[r.topic])), []).append(r)
        futures = []
        for (topic, partition), items in by_partition.items():
            batch = self.producer.create_batch()
            for r in items:
                if batch.append(key=r.key, value=r.value, timestamp=None) is None:
                    futures.append(await self.producer.send_batch(batch, topic, partition=partition))
                    batch = self.producer.create_batch()
                    if batch.append(key=r.key, value=r.value, timestamp=None) is None:
                        raise ValueError("record larger than a producer batch")
            futures.append(await self.producer.send_batch(batch, topic, partition=partition))
        if futures:
            await asyncio.gather(*futures)

    def _partition_of(self, record: OutRecord, partitions: list[int]) -> int:
        """The default partitioner's choice (murmur2 of the key over all partitions, as the Java client),
        with the pure-Python murmur2 memoised per key: a batch has many records of the same tenant."""
        if record.key is None:
            return self.producer._partition(record.topic, None, None, record.value, None, record.value)
        hashed = self._key_hashes.get(record.key)
        if hashed is None:
            if len(self._key_hashes) >= MAX_CACHED_KEYS:
                self._key_hashes.clear()
            hashed = self._key_hashes[record.key] = murmur2(record.key) & 0x7FFFFFFF
        return partitions[hashed % len(partitions)]


class UsageConsumer:
    """byok.usage.events in batches; offsets are committed only by commit(), after the ledger commit."""

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        group_id: str,
        auto_offset_reset: str = "earliest",
        **options: Any,
    ) -> None:
        self.consumer = AIOKafkaConsumer(
            topic,
            **aiokafka_options(settings),
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset=auto_offset_reset,
            isolation_level="read_committed",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=32 * 1024 * 1024,
            **options,
        )

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def poll(self, timeout_ms: int, max_records: int) -> tuple[list[InRecord], dict[TopicPartition, int]]:
        """A batch of records, in partition order, and the offsets to commit once it is processed."""
        fetched = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        records: list[InRecord] = []
        offsets: dict[TopicPartition, int] = {}
        for tp, messages in fetched.items():
            if not messages:
                continue
            records.extend(InRecord(m.topic, m.partition, m.offset, m.key, m.value) for m in messages)
            offsets[tp] = messages[-1].offset + 1
        return records, offsets

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if offsets:
            await self.consumer.commit(offsets)

"""Kafka through aiokafka: the usage consumer (manual offset commits), an idempotent producer (acks=all)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from byok_core.kafka import aiokafka_options
from byok_core.settings import KafkaSettings

from ..ports import InRecord, OutRecord


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

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    async def publish(self, records: list[OutRecord]) -> None:
        """Records grouped per partition (the producer's own key partitioner, so keyed records land where
        send() would put them) into a few batches: far less Python per record than one send() each."""
        by_partition: dict[tuple[str, int], list[OutRecord]] = {}
        for topic in {r.topic for r in records}:
            await self.producer.partitions_for(topic)  # metadata
        for r in records:
            partition = self.producer._partition(r.topic, None, r.key, r.value, r.key, r.value)  # noqa: SLF001
            by_partition.setdefault((r.topic, partition), []).append(r)
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

    async def poll(
        self, timeout_ms: int, max_records: int
    ) -> tuple[list[InRecord], dict[TopicPartition, int]]:
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

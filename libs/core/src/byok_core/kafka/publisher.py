"""The one publisher: an idempotent producer (acks=all); every publish returns once the broker acked it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from aiokafka.partitioner import murmur2
from byok_events import DeadLetter, topics

from ..settings import KafkaSettings
from .connection import aiokafka_options
from .errors import PublishFailed, RecordRejected

RETRIABLE_ATTEMPTS = 6  # 0.25 + 0.5 + 1 + 2 + 4 s of back-off: longer than a leader election

Headers = list[tuple[str, bytes]]
MAX_CACHED_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class OutRecord:
    topic: str
    key: bytes | None
    value: bytes
    headers: Headers | None = None


def make_producer(
    settings: KafkaSettings, *, linger_ms: int = 0, max_batch_size: int = 512 * 1024, **options: Any
) -> AIOKafkaProducer:
    """acks=all with idempotence, always; linger and batch size are the caller's latency trade-off."""
    return AIOKafkaProducer(
        **aiokafka_options(settings),
        acks="all",
        enable_idempotence=True,
        linger_ms=linger_ms,
        max_batch_size=max_batch_size,
        **options,
    )


class KafkaPublisher:
    """send() for one record (waits for its ack), publish() for a batch (grouped per partition)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self._key_hashes: dict[bytes, int] = {}

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Headers | None = None,
        *,
        partition: int | None = None,
    ) -> None:
        for attempt in range(RETRIABLE_ATTEMPTS):
            try:
                future = await self.producer.send(topic, value=value, key=key, headers=headers, partition=partition)
                await future
                return
            except MessageSizeTooLargeError as exc:
                raise RecordRejected(f"a record of {len(value)} bytes is too large for {topic}") from exc
            except KafkaError as exc:
                # A broker lost mid-send (NodeNotReady, NotLeader...): the cluster elects a new leader within
                # seconds; only an error that outlasts that is a refused write (a re-send is at-least-once).
                if getattr(exc, "retriable", False) and attempt + 1 < RETRIABLE_ATTEMPTS:
                    await asyncio.sleep(min(0.25 * 2**attempt, 4.0))
                    continue
                raise PublishFailed(f"{topic}: {type(exc).__name__}") from exc
            except TimeoutError as exc:
                raise PublishFailed(f"{topic}: {type(exc).__name__}") from exc

    async def dead_letter(self, letter: DeadLetter, key: bytes | None) -> None:
        await self.send(topics.DLQ, key, letter.to_bytes())

    async def publish(self, records: Sequence[OutRecord]) -> None:
        """All records, then every ack. Keyed records are grouped per partition (the default partitioner's
        choice, as send() would make it) into a few producer batches: far less Python per record."""
        try:
            await self._publish(records)
        except MessageSizeTooLargeError as exc:
            raise RecordRejected("a record is too large for the broker") from exc
        except (KafkaError, TimeoutError) as exc:
            raise PublishFailed(type(exc).__name__) from exc

    async def _publish(self, records: Sequence[OutRecord]) -> None:
        partitions = {t: sorted(await self.producer.partitions_for(t)) for t in {r.topic for r in records}}
        grouped: dict[tuple[str, int], list[OutRecord]] = {}
        futures: list[asyncio.Future[Any]] = []
        for r in records:
            if r.key is None or r.headers:  # no key to hash (or headers, which batches do not carry)
                futures.append(await self.producer.send(r.topic, r.value, key=r.key, headers=r.headers))
            else:
                grouped.setdefault((r.topic, self.partition_of(r.key, partitions[r.topic])), []).append(r)
        for (topic, partition), items in grouped.items():
            batch = self.producer.create_batch()
            for r in items:
                if batch.append(key=r.key, value=r.value, timestamp=None) is None:
                    futures.append(await self.producer.send_batch(batch, topic, partition=partition))
                    batch = self.producer.create_batch()
                    if batch.append(key=r.key, value=r.value, timestamp=None) is None:
                        raise RecordRejected("record larger than a producer batch")
            futures.append(await self.producer.send_batch(batch, topic, partition=partition))
        if futures:
            await asyncio.gather(*futures)

    def partition_of(self, key: bytes, partitions: list[int]) -> int:
        """murmur2 of the key over all partitions (the Java client's and aiokafka's default), memoised
        per key: a batch has many records of the same tenant."""
        hashed = self._key_hashes.get(key)
        if hashed is None:
            if len(self._key_hashes) >= MAX_CACHED_KEYS:
                self._key_hashes.clear()
            hashed = self._key_hashes[key] = murmur2(key) & 0x7FFFFFFF
        return partitions[hashed % len(partitions)]

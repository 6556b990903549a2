"""The publisher's memoised partition choice is the producer's own (murmur2 over all partitions)."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from byok_billing.adapters import kafka_io
from byok_billing.adapters.kafka_io import KafkaPublisher
from byok_billing.ports import OutRecord
from byok_core.settings import KafkaSettings


async def test_partition_of_matches_the_default_partitioner(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    publisher = KafkaPublisher(KafkaSettings(bootstrap="127.0.0.1:1"))
    monkeypatch.setattr(kafka_io, "MAX_CACHED_KEYS", 50)  # also crosses the cache's reset
    for count in (1, 3, 6, 12):
        partitions = list(range(count))
        for i in range(300):
            key = f"tenant-{i}-é".encode()
            record = OutRecord("byok.billing.charges", key, b"{}")
            expected = DefaultPartitioner()(key, partitions, partitions)
            assert publisher._partition_of(record, partitions) == expected
            assert publisher._partition_of(record, partitions) == expected
    assert len(publisher._key_hashes) <= 50

"""TopicTail, the tests' topic reader, against the real Kafka of the local stack (a topic of its own)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from byok_testing.topics import TopicTail, partitions_of

pytestmark = pytest.mark.integration


@pytest.fixture
async def topic(kafka_bootstrap: str) -> AsyncIterator[str]:
    name = f"byok.test.tail-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
        yield name
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def test_reads_what_follows_its_start_by_partition_key_and_json(kafka_bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        assert len(await partitions_of(kafka_bootstrap, [topic])) == 2
        await producer.send_and_wait(topic, b'{"n": 0}', key=b"a", partition=0)  # before the tail: not seen
        async with TopicTail(kafka_bootstrap, topic) as tail:
            await producer.send_and_wait(topic, b'{"n": 1}', key=b"a", partition=0)
            await producer.send_and_wait(topic, b"not json", key=b"a", partition=0)
            await producer.send_and_wait(topic, b'{"n": 2}', key=b"b", partition=1)
            assert await tail.wait_for(lambda v: v["n"] == 2) == [{"n": 2}]
            records = await tail.caught_up()
            assert sorted(r.value for r in records) == [b"not json", b'{"n": 1}', b'{"n": 2}']
            assert sorted(json.dumps(v) for v in tail.values()) == ['{"n": 1}', '{"n": 2}']  # JSON values only
            assert tail.values(partition=1) == [{"n": 2}] and tail.values(topic="another") == []
            with pytest.raises(TimeoutError, match=r"^0 of 1 matching; .*: 3 records read \(waited 0.2 s\)$"):
                await tail.wait_for(lambda v: v["n"] == 3, timeout=0.2)
            await producer.send_and_wait(topic, b'{"n": 3}', key=b"a", partition=1)
            assert await tail.absent_for(0.2, lambda v: v["n"] == 3) == [{"n": 3}]
        async with TopicTail(kafka_bootstrap, topic, key="a", from_beginning=True) as from_start:
            assert sorted(v["n"] for v in await from_start.wait_for(count=3)) == [0, 1, 3]
            assert all(r.key == b"a" for r in await from_start.caught_up())
    finally:
        await producer.stop()


async def test_a_missing_topic_is_named(kafka_bootstrap: str) -> None:
    with pytest.raises(LookupError, match="topics not found: byok.no-such-topic"):
        await TopicTail(kafka_bootstrap, "byok.no-such-topic").start()

"""The real Kafka broker: idempotent producer, transactional producer, read_committed consumer."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from byok_events import topics

pytestmark = pytest.mark.integration


@pytest.fixture
async def scratch_topic(kafka_bootstrap: str):
    name = f"smoke-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
    try:
        yield name
    finally:
        await admin.delete_topics([name])
        await admin.close()


async def _consume_all(bootstrap: str, topic: str, expected: int, isolation: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"smoke-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        isolation_level=isolation,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while len(values) < expected and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                values.extend(r.value for r in records)
    finally:
        await consumer.stop()
    return values


async def test_contract_topics_exist(kafka_bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    assert set(topics.ALL_TOPICS) <= existing


async def test_idempotent_producer_round_trip(kafka_bootstrap: str, scratch_topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for i in range(50):
            await producer.send(scratch_topic, key=str(i % 5).encode(), value=f"v{i}".encode())
        await producer.flush()
    finally:
        await producer.stop()
    values = await _consume_all(kafka_bootstrap, scratch_topic, 50, "read_uncommitted")
    assert sorted(values) == sorted(f"v{i}".encode() for i in range(50))


async def test_transactions_hide_aborted_records_from_read_committed(kafka_bootstrap: str, scratch_topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id=f"smoke-{uuid.uuid4().hex}")
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(scratch_topic, value=b"committed-1")
            await producer.send(scratch_topic, value=b"committed-2")
        await producer.begin_transaction()
        await producer.send(scratch_topic, value=b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(scratch_topic, value=b"committed-3")
    finally:
        await producer.stop()

    committed = await _consume_all(kafka_bootstrap, scratch_topic, 3, "read_committed")
    assert sorted(committed) == [b"committed-1", b"committed-2", b"committed-3"]
    everything = await _consume_all(kafka_bootstrap, scratch_topic, 4, "read_uncommitted")
    assert b"aborted" in everything

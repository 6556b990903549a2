"""Kafka clients of the billing consumer: the usage consumer (offsets committed by the runner after the
ledger commit) and the shared idempotent publisher (acks=all)."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer
from byok_core.kafka import KafkaPublisher, aiokafka_options, make_producer
from byok_core.settings import KafkaSettings


def make_publisher(settings: KafkaSettings, **options: Any) -> KafkaPublisher:
    return KafkaPublisher(make_producer(settings, linger_ms=5, max_batch_size=512 * 1024, **options))


def make_usage_consumer(
    settings: KafkaSettings, group_id: str, auto_offset_reset: str = "earliest"
) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **aiokafka_options(settings),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset=auto_offset_reset,
        isolation_level="read_committed",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
    )

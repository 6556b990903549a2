"""Kafka for every service: connection settings, the consumer runner (in-flight and batch modes), the
publisher, the dead-letter factory and the state-topic follower. FastStream (make_broker,
faststream_security) is imported only when asked for, so the worker does not load it."""

from __future__ import annotations

from typing import Any

from .connection import aiokafka_options, ssl_context, topic_partitions
from .dead_letters import DeadLetters, record_key
from .errors import PublishFailed, RecordRejected
from .follower import Followed, StateFollower
from .offsets import PartitionOffsets
from .publisher import KafkaPublisher, OutRecord, make_producer
from .runner import BatchHandler, ConsumerRunner, RecordHandler, failure_reason

__all__ = [
    "BatchHandler",
    "ConsumerRunner",
    "DeadLetters",
    "Followed",
    "KafkaPublisher",
    "OutRecord",
    "PartitionOffsets",
    "PublishFailed",
    "RecordHandler",
    "RecordRejected",
    "StateFollower",
    "aiokafka_options",
    "failure_reason",
    "faststream_security",
    "make_broker",
    "make_producer",
    "record_key",
    "ssl_context",
    "topic_partitions",
]


def __getattr__(name: str) -> Any:
    if name in ("make_broker", "faststream_security"):
        from . import broker

        return getattr(broker, name)
    raise AttributeError(name)

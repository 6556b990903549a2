"""KafkaSettings -> keyword arguments of aiokafka's producers, consumers and admin clients."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import TopicPartition

from ..settings import KafkaSettings


def ssl_context(settings: KafkaSettings) -> ssl.SSLContext | None:
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context = ssl.create_default_context(cafile=settings.ssl_cafile)
    if settings.ssl_certfile:
        context.load_cert_chain(settings.ssl_certfile, settings.ssl_keyfile)
    return context


def aiokafka_options(settings: KafkaSettings) -> dict[str, Any]:
    """Connection keyword arguments for AIOKafkaProducer / AIOKafkaConsumer / admin clients."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap,
        "client_id": settings.client_id,
        "security_protocol": settings.security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password.get_secret_value() if settings.sasl_password else None
    return options


async def topic_partitions(consumer: Any, topic_names: Sequence[str], timeout: float = 30.0) -> list[TopicPartition]:  # noqa: ASYNC109
    """Every partition of these topics, through aiokafka's public API only.

    A group-less consumer knows a topic's partitions once its client tracks the topic: a subscription
    makes it fetch their metadata; the subscription is dropped again, leaving the caller to assign()."""
    names = list(topic_names)
    if not all(consumer.partitions_for_topic(t) for t in names):
        consumer.subscribe(names)
        deadline = time.monotonic() + timeout
        try:
            while not all(consumer.partitions_for_topic(t) for t in names):
                if time.monotonic() > deadline:
                    missing = [t for t in names if not consumer.partitions_for_topic(t)]
                    raise RuntimeError(f"topics not found: {', '.join(missing)}")
                await asyncio.sleep(0.01)
        finally:
            consumer.unsubscribe()
    return [TopicPartition(t, p) for t in names for p in sorted(consumer.partitions_for_topic(t))]

"""KafkaSettings -> keyword arguments of aiokafka's producers, consumers and admin clients."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

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


async def topic_partitions(options: dict[str, Any], topic_names: Sequence[str]) -> list[TopicPartition]:
    """Every partition of these topics, from the cluster's metadata through aiokafka's public admin API.

    `options` are connection options (aiokafka_options(settings), or at least bootstrap_servers). A consumer
    is not used for this: subscribing one just to learn partitions joins a group (with a group id) or leaves
    aiokafka's group-less coordinator spinning (without one)."""
    names = list(topic_names)
    admin = AIOKafkaAdminClient(**{k: v for k, v in options.items() if k in _ADMIN_OPTIONS})
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics(names)}
    finally:
        await admin.close()
    missing = [t for t in names if t not in described or described[t]["error_code"] or not described[t]["partitions"]]
    if missing:
        raise RuntimeError(f"topics not found: {', '.join(missing)}")
    return [
        TopicPartition(t, p["partition"])
        for t in names
        for p in sorted(described[t]["partitions"], key=lambda p: p["partition"])
    ]


_ADMIN_OPTIONS = {
    "bootstrap_servers",
    "client_id",
    "security_protocol",
    "ssl_context",
    "sasl_mechanism",
    "sasl_plain_username",
    "sasl_plain_password",
}

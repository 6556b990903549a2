"""Kafka wiring: one place that turns KafkaSettings into FastStream brokers and aiokafka clients."""

from __future__ import annotations

import ssl
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from .settings import KafkaSettings


def _ssl_context(settings: KafkaSettings) -> ssl.SSLContext | None:
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context = ssl.create_default_context(cafile=settings.ssl_cafile)
    if settings.ssl_certfile:
        context.load_cert_chain(settings.ssl_certfile, settings.ssl_keyfile)
    return context


def faststream_security(settings: KafkaSettings) -> BaseSecurity | None:
    context = _ssl_context(settings)
    if settings.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
        sasl_class = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}[
            settings.sasl_mechanism
        ]
        return sasl_class(
            username=settings.sasl_username or "",
            password=password,
            ssl_context=context,
            use_ssl=context is not None,
        )
    if context is not None:
        return BaseSecurity(ssl_context=context, use_ssl=True)
    return None


def make_broker(settings: KafkaSettings, **options: Any) -> KafkaBroker:
    """A FastStream broker on this cluster; topics are created by infra, never auto-created."""
    return KafkaBroker(
        settings.bootstrap,
        security=faststream_security(settings),
        client_id=settings.client_id,
        allow_auto_create_topics=False,
        **options,
    )


def aiokafka_options(settings: KafkaSettings) -> dict[str, Any]:
    """Connection keyword arguments for AIOKafkaProducer / AIOKafkaConsumer / admin clients."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap,
        "client_id": settings.client_id,
        "security_protocol": settings.security_protocol,
    }
    context = _ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password.get_secret_value() if settings.sasl_password else None
    return options

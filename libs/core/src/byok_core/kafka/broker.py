"""KafkaSettings -> a FastStream broker (the key-vault service and the AsyncAPI document use FastStream)."""

from __future__ import annotations

from typing import Any

from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from ..settings import KafkaSettings
from .connection import ssl_context


def faststream_security(settings: KafkaSettings) -> BaseSecurity | None:
    context = ssl_context(settings)
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
    """A FastStream broker on this cluster; topics are created by infra, never auto-created.
    Producer settings are the shared publisher's (acks=all, idempotence) unless overridden."""
    return KafkaBroker(
        settings.bootstrap,
        security=faststream_security(settings),
        client_id=settings.client_id,
        allow_auto_create_topics=False,
        **{"acks": "all", "enable_idempotence": True, **options},
    )

"""Where Kafka is and how to log in: the contract's BYOK_KAFKA_* variables, without pydantic-settings."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaConfig:
    """Connection settings of a producer principal (the same names as `.run/clients/producer.env`)."""

    bootstrap: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    client_id: str = "byok-client"

    def __post_init__(self) -> None:
        if self.security_protocol not in _PROTOCOLS:
            raise ValueError(f"security_protocol must be one of {', '.join(_PROTOCOLS)}")
        if self.sasl_mechanism not in _MECHANISMS:
            raise ValueError(f"sasl_mechanism must be one of {', '.join(_MECHANISMS)}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaConfig:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(f"BYOK_KAFKA_{name}", "").strip()
            return value or None

        password, password_file = get("SASL_PASSWORD"), get("SASL_PASSWORD_FILE")
        if password is None and password_file is not None:
            with open(password_file) as held:  # docker compose: the principal's own volume
                password = held.read().strip() or None

        return cls(
            bootstrap=get("BOOTSTRAP") or cls.bootstrap,
            security_protocol=get("SECURITY_PROTOCOL") or cls.security_protocol,
            sasl_mechanism=get("SASL_MECHANISM") or cls.sasl_mechanism,
            sasl_username=get("SASL_USERNAME"),
            sasl_password=password,
            ssl_cafile=get("SSL_CAFILE"),
            ssl_certfile=get("SSL_CERTFILE"),
            ssl_keyfile=get("SSL_KEYFILE"),
            client_id=get("CLIENT_ID") or cls.client_id,
        )

    def aiokafka_options(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer / AIOKafkaConsumer."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            context = ssl.create_default_context(cafile=self.ssl_cafile)
            if self.ssl_certfile:
                context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
            options["ssl_context"] = context
        if self.security_protocol.startswith("SASL"):
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        return options

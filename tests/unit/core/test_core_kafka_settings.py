"""Production Kafka settings (TLS, SASL) reach both the FastStream broker and the aiokafka clients."""

from __future__ import annotations

import ssl

from byok_core.kafka import aiokafka_options, faststream_security
from byok_core.settings import KafkaSettings
from faststream.security import SASLScram512


def test_plaintext_is_the_local_default() -> None:
    settings = KafkaSettings()
    assert settings.bootstrap == "127.0.0.1:9092"
    assert faststream_security(settings) is None
    assert aiokafka_options(settings)["security_protocol"] == "PLAINTEXT"


def test_sasl_over_tls_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("BYOK_KAFKA_BOOTSTRAP", "kafka-1:9093,kafka-2:9093")
    monkeypatch.setenv("BYOK_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("BYOK_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("BYOK_KAFKA_SASL_USERNAME", "inference")
    monkeypatch.setenv("BYOK_KAFKA_SASL_PASSWORD", "s3cret-password")
    settings = KafkaSettings()
    options = aiokafka_options(settings)
    assert options["bootstrap_servers"] == "kafka-1:9093,kafka-2:9093"
    assert (options["security_protocol"], options["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("inference", "s3cret-password")
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    security = faststream_security(settings)
    assert isinstance(security, SASLScram512) and security.use_ssl
    assert "s3cret-password" not in repr(settings), "the password is a SecretStr"

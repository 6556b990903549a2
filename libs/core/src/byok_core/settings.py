"""Settings shared by the services; each service composes them in its own settings class.

Every variable is BYOK_-prefixed; the contract's names (BYOK_KAFKA_BOOTSTRAP, BYOK_VAULT_ADDR, ...) are kept.
Production options: Kafka over TLS with SASL, Vault AppRole instead of a token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BYOK_KAFKA_", extra="ignore")

    bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: str | None = Field(
        None, description="A file holding the SASL password (docker compose: each service's own volume)"
    )
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    client_id: str = "byok"

    @model_validator(mode="after")
    def _password_from_file(self) -> KafkaSettings:
        if self.sasl_password is None and self.sasl_password_file:
            self.sasl_password = SecretStr(Path(self.sasl_password_file).read_text().strip())
        return self


class VaultSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BYOK_VAULT_", extra="ignore")

    addr: str = Field("http://127.0.0.1:8200", description="Vault address")
    token: SecretStr | None = Field(SecretStr("byok-dev-root"), description="Vault token (dev default)")
    role_id: str | None = Field(None, description="AppRole role id; with secret_id, replaces the token")
    secret_id: SecretStr | None = None
    approle_mount: str = "approle"
    kv_mount: str = "byok"
    cacert: str | None = None
    timeout_seconds: float = 5.0


class ProviderEndpoints(BaseSettings):
    """Provider base URLs; None means the provider's own."""

    model_config = SettingsConfigDict(env_prefix="BYOK_", extra="ignore")

    anthropic_base_url: str | None = None
    openai_base_url: str | None = None
    gemini_base_url: str | None = None
    openrouter_base_url: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class SystemKeys(BaseSettings):
    """The platform's own provider keys, loaded into Vault at start-up when set."""

    model_config = SettingsConfigDict(env_prefix="BYOK_SYSTEM_", extra="ignore")

    anthropic_api_key: SecretStr | None = None
    openai_api_key: SecretStr | None = None
    gemini_api_key: SecretStr | None = None
    openrouter_api_key: SecretStr | None = None

    def present(self) -> dict[str, SecretStr]:
        return {
            provider: value
            for provider, value in (
                ("anthropic", self.anthropic_api_key),
                ("openai", self.openai_api_key),
                ("gemini", self.gemini_api_key),
                ("openrouter", self.openrouter_api_key),
            )
            if value is not None and value.get_secret_value().strip()
        }


class ObservabilitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BYOK_", extra="ignore")

    env: Literal["dev", "prod"] = Field("dev", description="prod refuses unsafe defaults")
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    metrics_host: str = "127.0.0.1"

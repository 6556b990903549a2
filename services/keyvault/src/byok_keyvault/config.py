"""Settings of the key-vault service (env prefix BYOK_), composed of the shared sub-settings."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from byok_core.auth import AuthSettings, auth_problems
from byok_core.settings import (
    KafkaSettings,
    ObservabilitySettings,
    ProviderEndpoints,
    SystemKeys,
    VaultSettings,
)
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .web.headers import parse_frame_ancestors

# Without BYOK_AUTH_JWT_SECRET (dev only) a random per-process secret: no token minted elsewhere is
# accepted, so a forgotten setting fails closed instead of trusting a secret anyone could read here.
_EPHEMERAL_JWT_SECRET = secrets.token_urlsafe(48)

log = logging.getLogger("byok.keyvault.config")


def _default_outbox_path() -> str:
    run_dir = Path(os.environ.get("BYOK_RUN_DIR", ".run"))
    return str(run_dir / "keyvault-outbox.sqlite3")


class SettingsError(SystemExit):
    """Invalid configuration; the message names the variables, never their values (they may be secrets)."""


def load_settings() -> KeyvaultSettings:
    try:
        return KeyvaultSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False, include_context=False)
        )
        raise SettingsError(f"invalid key-vault settings: {problems}") from None


class KeyvaultSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BYOK_", extra="ignore")

    keyvault_host: str = Field("127.0.0.1", description="HTTP bind address")
    keyvault_port: int = Field(8080, description="HTTP port")
    keyvault_max_body_bytes: int = Field(64 * 1024, description="Larger request bodies get 413")
    keyvault_outbox_path: str = Field(default_factory=_default_outbox_path, description="SQLite outbox file")
    keyvault_outbox_retry_seconds: float = Field(1.0, gt=0)
    keyvault_publish_timeout_seconds: float = Field(5.0, gt=0)
    keyvault_live_validation_timeout_seconds: float = Field(5.0, gt=0)
    keyvault_consumer_group: str = Field("byok-keyvault", description="Group of the key.invalid subscriber")
    keyvault_sealing_cache_seconds: float = Field(10.0, ge=0, description="How long GET /api/sealing-key is cached")
    keyvault_shutdown_grace_seconds: float = Field(10.0, ge=0)
    keyvault_frame_ancestors: str = Field(
        "", description="Origins that may embed the /keys page and hand it a token (space-separated); none"
    )

    auth: AuthSettings = Field(default_factory=AuthSettings, description="BYOK_AUTH_*: bearer token keys")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    vault: VaultSettings = Field(default_factory=VaultSettings)
    providers: ProviderEndpoints = Field(default_factory=ProviderEndpoints)
    system_keys: SystemKeys = Field(default_factory=SystemKeys)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)

    @field_validator("keyvault_frame_ancestors")
    @classmethod
    def _origins(cls, value: str) -> str:
        parse_frame_ancestors(value)
        return value

    @model_validator(mode="after")
    def _safe_auth_in_prod(self) -> KeyvaultSettings:
        problems = auth_problems(self.auth, self.observability.env)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def jwt_secret(self) -> str | None:
        """The HS256 secret; without any verification key (dev only) a random per-process one."""
        if self.auth.secret() is not None:
            return self.auth.secret()
        if self.auth.has_verification_key():
            return None  # asymmetric tokens only
        log.warning(
            "BYOK_AUTH_JWT_SECRET is not set: using a random per-process secret, so no bearer token is "
            "accepted. Set BYOK_AUTH_JWT_SECRET (BYOK_ENV=prod refuses to start without it)."
        )
        return _EPHEMERAL_JWT_SECRET

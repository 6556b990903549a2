"""Settings of the inference worker (env prefix BYOK_INFERENCE_ plus the shared BYOK_* sub-settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from byok_core.auth import AuthSettings, auth_problems
from byok_core.settings import (
    KafkaSettings,
    ObservabilitySettings,
    ProviderEndpoints,
    SystemKeys,
    VaultSettings,
)
from byok_events import Provider
from byok_pricing import shared_overrides_path
from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class InferenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BYOK_INFERENCE_", extra="ignore")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    vault: VaultSettings = Field(default_factory=VaultSettings)
    providers: ProviderEndpoints = Field(default_factory=ProviderEndpoints)
    system_keys: SystemKeys = Field(default_factory=SystemKeys, description="Fallback when Vault has none")
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings, description="BYOK_AUTH_*: how user tokens are verified")

    price_overrides: Path | None = Field(
        default_factory=shared_overrides_path,
        description="Price overrides TOML, as billing's (default: BYOK_BILLING_PRICE_OVERRIDES, else the "
        "repository's infra/billing/prices.toml); a system-key call for a model without a price is refused",
    )
    user_auth: Literal["required", "off"] | None = Field(
        default=None,
        description="required: a stored user or org key is used only with the user's token (header "
        "byok-user-token); off: the event's tenant_id and user_id are trusted. Default: required when "
        "BYOK_ENV=prod, else off",
    )

    group_id: str = Field(default="byok-inference", description="Consumer group of byok.prompt.requests")
    key_store: Literal["vault", "env"] = Field(
        default="vault", description="env: no Vault, system keys from BYOK_SYSTEM_* only (demo, benchmarks)"
    )
    auto_offset_reset: Literal["earliest", "latest"] = Field(
        default="earliest", description="Where a new consumer group starts (earliest: nothing is skipped)"
    )
    max_in_flight: int = Field(default=512, ge=1, le=100_000, description="Requests processed at once per process")
    metrics_port: int = Field(default=9101, ge=0, le=65535, description="/healthz and /metrics port; 0 disables")
    provider_timeout_seconds: float = Field(default=60.0, gt=0, description="One provider call, streaming included")
    retry_attempts: int = Field(default=3, ge=1, le=10, description="Provider attempts per request, the first included")
    retry_base_delay_seconds: float = Field(default=0.25, ge=0)
    retry_max_delay_seconds: float = Field(default=8.0, ge=0)
    max_retry_after_seconds: float = Field(default=20.0, ge=0, description="A longer retry-after fails at once")
    key_store_attempts: int = Field(default=3, ge=1, le=10)
    key_cache_ttl_seconds: float = Field(default=30.0, ge=0)
    key_stale_if_unavailable_seconds: float = Field(
        default=300.0,
        ge=0,
        le=24 * 3600,
        description="While Vault cannot answer, an expired cached key is still used this long past its expiry",
    )
    max_sdk_clients: int = Field(default=1024, ge=1, description="SDK clients kept (one per provider and key)")
    default_max_tokens: int = Field(default=1024, ge=1)
    max_request_bytes: int = Field(default=512 * 1024, ge=1024)
    dedupe_window_seconds: float = Field(
        default=24 * 3600.0,
        ge=0,
        description="How far back byok.prompt.responses is read at start for answered ids",
    )
    dedupe_max_entries: int = Field(
        default=500_000,
        ge=1_000,
        le=50_000_000,
        description="Answered (tenant_id, request_id) kept for de-duplication, oldest forgotten first (~50 B each)",
    )
    dedupe_catch_up_max_records: int = Field(
        default=1_000_000,
        ge=1_000,
        description="At most this many of byok.prompt.responses' newest records are read at start (within the"
        " window): twice what the de-duplication store keeps, so a busy day cannot make a start-up read unbounded",
    )
    catch_up_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long start-up and each partition assignment wait for the state topics before going on"
        " while still following them (a late answer then costs at most a repeated provider call, never a charge)",
    )
    drain_timeout_seconds: float = Field(default=30.0, ge=0, description="Graceful shutdown: wait for in-flight work")
    commit_interval_seconds: float = Field(default=0.2, gt=0)
    preload_providers: list[Provider] | None = Field(
        default=None,
        description="SDKs imported at start (unset: those of the providers with a BYOK_SYSTEM_*_API_KEY); the"
        " others in a thread at their provider's first call, which waits for it once (0.4-1.3 s). Each SDK costs"
        " 12-38 MB of RSS that a worker not serving its provider saves",
    )
    fetch_max_wait_ms: int = Field(
        default=100, ge=0, le=10_000, description="How long the broker holds a fetch when there is nothing new"
    )
    poll_ms: int = Field(default=100, ge=1, description="How long one poll waits for records")
    fetch_partition_max_bytes: int = Field(
        default=128 * 1024,
        ge=16 * 1024,
        le=8 * 1024 * 1024,
        description="Records read ahead per partition and fetch (a larger record still comes, alone: KIP-74); "
        "the read-ahead is held in memory: 1 MiB per partition cost ~5 MB more RSS and no throughput (bench)",
    )
    prompt_fetch_min_bytes: int = Field(
        default=1,
        ge=1,
        le=8 * 1024 * 1024,
        description="The prompt consumer's fetch waits for this much or PROMPT_FETCH_MAX_WAIT_MS: 1500 with 5 ms"
        " took 1.55 -> 1.11 ms of worker CPU per prompt at 500 prompts/s, p50 8.5 -> 8.9 ms, but 10% -> 15% of a"
        " core at 20 prompts/s (bench); for steady, busy traffic",
    )
    prompt_fetch_max_wait_ms: int | None = Field(
        default=None, ge=0, le=10_000, description="With PROMPT_FETCH_MIN_BYTES; unset: FETCH_MAX_WAIT_MS"
    )
    state_fetch_min_bytes: int = Field(
        default=64 * 1024,
        ge=1,
        le=8 * 1024 * 1024,
        description="The state follower's fetch waits for this much (or FETCH_MAX_WAIT_MS): one fetch per "
        "answer on byok.prompt.responses cost the prompt path ~2.5 ms of p50 at 500 prompts/s (bench)",
    )
    fetch_max_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=64 * 1024,
        le=64 * 1024 * 1024,
        description="Records read ahead per fetch, all partitions together",
    )
    producer_linger_ms: int = Field(
        default=0, ge=0, description="0: send at once; batches still form while a request is in flight"
    )
    producer_max_batch_bytes: int = Field(
        default=512 * 1024,
        ge=16 * 1024,
        le=1024 * 1024,
        description="Per-partition producer batch; a full batch makes every sender wait (aiokafka: 16 KiB)",
    )
    sealed_key_max_age_seconds: float = Field(
        default=900.0,
        gt=0,
        le=7 * 24 * 3600,
        validation_alias=AliasChoices("BYOK_SEALED_KEY_MAX_AGE_SECONDS", "sealed_key_max_age_seconds"),
        description="A sealed request key opens only while its request's created_at is at most this old",
    )
    gc_young_threshold: int = Field(
        default=10_000, ge=0, description="gc threshold of the young generation once started (0: Python's 700)"
    )

    @model_validator(mode="after")
    def _user_auth(self) -> InferenceSettings:
        if self.user_auth is None:
            self.user_auth = "required" if self.observability.env == "prod" else "off"
        if self.user_auth == "off" and self.observability.env == "prod":
            raise ValueError("BYOK_INFERENCE_USER_AUTH=off is refused when BYOK_ENV=prod")
        if self.user_auth == "required":
            problems = auth_problems(self.auth, self.observability.env)
            if not self.auth.has_verification_key() and not problems:
                problems.append(
                    "BYOK_INFERENCE_USER_AUTH=required needs BYOK_AUTH_JWT_SECRET, BYOK_AUTH_JWT_PUBLIC_KEY "
                    "or BYOK_AUTH_JWKS_URL"
                )
            if problems:
                raise ValueError("; ".join(dict.fromkeys(problems)))
        return self

    def providers_to_preload(self) -> list[Provider]:
        """BYOK_INFERENCE_PRELOAD_PROVIDERS when set, else the providers this worker holds a system key for."""
        if self.preload_providers is not None:
            return self.preload_providers
        return [Provider(name) for name in self.system_keys.present()]

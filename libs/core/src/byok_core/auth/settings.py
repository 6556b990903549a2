"""BYOK_AUTH_* settings, and the checks a service runs on them at start-up."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The secret the local stack and docker-compose use when none is given: public, so never in prod.
DEV_JWT_SECRET = "byok-dev-jwt-secret-change-me-in-production"
MIN_PROD_SECRET_CHARS = 32


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BYOK_AUTH_", extra="ignore")

    jwt_secret: SecretStr | None = Field(None, description="HS256 secret of the bearer tokens")
    jwt_public_key: str | None = Field(
        None, description="PEM public key (Ed25519, P-256 or RSA) of asymmetric tokens, or a path to a PEM file"
    )
    jwks_url: str | None = Field(None, description="JWKS of the identity provider (keys chosen by kid)")
    audience: str | None = Field(None, description="Required `aud` when set")
    issuer: str | None = Field(None, description="Required `iss` when set")
    max_token_seconds: int = Field(86400, ge=1, description="Largest exp - iat accepted")
    jwt_leeway_seconds: int = Field(10, ge=0, le=300, description="Clock skew allowed on exp and iat")
    jwks_cache_seconds: float = Field(300.0, gt=0, description="How long a fetched JWKS is used")
    jwks_min_refresh_seconds: float = Field(
        30.0, ge=0, description="An unknown kid refreshes the JWKS at most this often"
    )
    jwks_timeout_seconds: float = Field(5.0, gt=0)

    @field_validator("jwt_secret", "jwt_public_key", "jwks_url", "audience", "issuer", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def secret(self) -> str | None:
        if self.jwt_secret is None or not self.jwt_secret.get_secret_value():
            return None
        return self.jwt_secret.get_secret_value()

    def has_verification_key(self) -> bool:
        return bool(self.secret() or self.jwt_public_key or self.jwks_url)


def auth_problems(settings: AuthSettings, env: str) -> list[str]:
    """What is unsafe about these settings in `env` (names the variables, never their values)."""
    if env != "prod":
        return []
    problems = []
    secret = settings.secret()
    if not settings.has_verification_key():
        problems.append(
            "BYOK_AUTH_JWT_SECRET (or BYOK_AUTH_JWT_PUBLIC_KEY / BYOK_AUTH_JWKS_URL) is required when BYOK_ENV=prod"
        )
    if secret is not None and secret == DEV_JWT_SECRET:
        problems.append("BYOK_AUTH_JWT_SECRET is the public development secret; refused when BYOK_ENV=prod")
    elif secret is not None and len(secret) < MIN_PROD_SECRET_CHARS:
        problems.append(f"BYOK_AUTH_JWT_SECRET must be at least {MIN_PROD_SECRET_CHARS} characters when BYOK_ENV=prod")
    if settings.jwks_url and not settings.jwks_url.startswith("https://"):
        problems.append("BYOK_AUTH_JWKS_URL must be https:// when BYOK_ENV=prod")
    return problems

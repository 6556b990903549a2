"""Settings: prod refuses a missing or short JWT secret, and errors never print the values."""

from __future__ import annotations

import pytest
from byok_keyvault.config import SettingsError, load_settings


def test_dev_without_a_secret_fails_closed_with_a_random_one(monkeypatch, caplog):
    monkeypatch.delenv("BYOK_AUTH_JWT_SECRET", raising=False)
    monkeypatch.setenv("BYOK_ENV", "dev")
    settings = load_settings()
    secret = settings.jwt_secret()
    assert len(secret) >= 48 and settings.jwt_secret() == secret, "stable within the process"
    assert load_settings().jwt_secret() == secret
    assert "random per-process secret" in caplog.text
    assert (settings.keyvault_port, settings.keyvault_host) == (8080, "127.0.0.1")


@pytest.mark.parametrize("secret", [None, "", "short-but-secret-value"])
def test_prod_refuses_weak_or_missing_secret_without_echoing_it(monkeypatch, secret):
    monkeypatch.setenv("BYOK_ENV", "prod")
    if secret is None:
        monkeypatch.delenv("BYOK_AUTH_JWT_SECRET", raising=False)
    else:
        monkeypatch.setenv("BYOK_AUTH_JWT_SECRET", secret)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "BYOK_AUTH_JWT_SECRET" in str(caught.value)
    if secret:
        assert secret not in str(caught.value)


def test_prod_with_a_strong_secret(monkeypatch):
    monkeypatch.setenv("BYOK_ENV", "prod")
    monkeypatch.setenv("BYOK_AUTH_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("BYOK_KEYVAULT_PORT", "9090")
    settings = load_settings()
    assert settings.jwt_secret() == "x" * 40 and settings.keyvault_port == 9090


def test_prod_refuses_the_public_development_secret(monkeypatch):
    from byok_core.auth import DEV_JWT_SECRET

    monkeypatch.setenv("BYOK_ENV", "prod")
    monkeypatch.setenv("BYOK_AUTH_JWT_SECRET", DEV_JWT_SECRET)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "development secret" in str(caught.value) and DEV_JWT_SECRET not in str(caught.value)


def test_prod_with_only_a_public_key_needs_no_secret(monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    monkeypatch.setenv("BYOK_ENV", "prod")
    monkeypatch.delenv("BYOK_AUTH_JWT_SECRET", raising=False)
    monkeypatch.setenv("BYOK_AUTH_JWT_PUBLIC_KEY", pem)
    settings = load_settings()
    assert settings.jwt_secret() is None, "asymmetric tokens only: no HS256 secret, not even a random one"

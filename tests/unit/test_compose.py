"""docker-compose.yml agrees with the contract and with infra/ (no Docker engine runs here, so it is parsed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from byok_events import topics

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _contract_variables() -> set[str]:
    text = (REPO / "docs" / "contract.md").read_text()
    settings = text.split("## Settings", 1)[1]
    return set(re.findall(r"`(BYOK_[A-Z_]+)`", settings))


def test_the_whole_stack_is_there(compose: dict) -> None:
    assert {"kafka", "kafka-init", "vault", "vault-init", "postgres", "keyvault", "inference", "billing"} <= set(
        compose["services"]
    )
    for service in ("keyvault", "inference", "billing"):
        assert compose["services"][service]["build"] == "."
    assert compose["services"]["kafka"]["image"].startswith("apache/kafka:3.9")
    assert compose["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_services_use_the_contract_variables(compose: dict) -> None:
    contract = _contract_variables()
    assert {"BYOK_KAFKA_BOOTSTRAP", "BYOK_VAULT_ADDR", "BYOK_DATABASE_URL", "BYOK_KEYVAULT_PORT"} <= contract
    services = compose["services"]
    for name in ("keyvault", "inference", "billing"):
        env = services[name]["environment"]
        assert env["BYOK_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert services["billing"]["environment"]["BYOK_DATABASE_URL"].startswith("postgresql+psycopg://")
    keyvault = services["keyvault"]["environment"]
    assert {"BYOK_AUTH_JWT_SECRET", "BYOK_SYSTEM_ANTHROPIC_API_KEY", "BYOK_SYSTEM_OPENROUTER_API_KEY"} <= set(keyvault)
    for name in ("keyvault", "inference"):
        env = services[name]["environment"]
        for provider in ("ANTHROPIC", "OPENAI", "GEMINI", "OPENROUTER"):
            assert f"BYOK_{provider}_BASE_URL" in env
    declared = {k for s in services.values() for k in (s.get("environment") or {}) if k.startswith("BYOK_")}
    additions = {
        "BYOK_KEYVAULT_HOST",
        "BYOK_METRICS_HOST",
        "BYOK_INFERENCE_METRICS_PORT",
        "BYOK_BILLING_METRICS_PORT",
        "BYOK_VAULT_TOKEN",
    }
    assert declared - contract <= additions, "compose uses BYOK_ variables that are not in the contract or additions"


def test_every_compose_variable_is_read_by_the_service_settings(compose: dict, monkeypatch) -> None:
    from byok_billing.config import BillingSettings
    from byok_inference.config import InferenceSettings
    from byok_keyvault.config import KeyvaultSettings

    for name, settings_class in (
        ("keyvault", KeyvaultSettings),
        ("inference", InferenceSettings),
        ("billing", BillingSettings),
    ):
        env = {k: str(v) for k, v in compose["services"][name]["environment"].items()}
        for key, value in env.items():
            monkeypatch.setenv(key, re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value))  # compose's own defaults
        settings = settings_class()
        assert settings.kafka.bootstrap == "kafka:9092"
        assert settings.observability.metrics_host == env.get("BYOK_METRICS_HOST", "127.0.0.1")
        for key in env:
            monkeypatch.delenv(key)


def test_keyvault_port_is_published_as_configured(compose: dict) -> None:
    keyvault = compose["services"]["keyvault"]
    port = keyvault["environment"]["BYOK_KEYVAULT_PORT"]
    assert f"127.0.0.1:{port}:{port}" in keyvault["ports"]


def test_topics_come_from_the_infra_definitions(compose: dict) -> None:
    init = compose["services"]["kafka-init"]
    assert "./infra/kafka/topics.txt:/topics.txt:ro" in init["volumes"]
    defined = {
        line.split()[0]
        for line in (REPO / "infra/kafka/topics.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert defined == set(topics.ALL_TOPICS)


def test_vault_tokens_match_the_bootstrap_and_policies(compose: dict) -> None:
    init = compose["services"]["vault-init"]
    assert "./infra/vault/policies:/policies:ro" in init["volumes"]
    bootstrap = (REPO / "infra/vault/compose-bootstrap.sh").read_text()
    for service in ("keyvault", "inference"):
        token = compose["services"][service]["environment"]["BYOK_VAULT_TOKEN"]
        assert token == f"byok-{service}-compose-token"
        assert "byok-$service-compose-token" in bootstrap
    for service in ("keyvault", "inference", "billing"):
        assert (REPO / f"infra/vault/policies/{service}.hcl").exists()
    assert "BYOK_VAULT_TOKEN" not in compose["services"]["billing"]["environment"], "billing needs no Vault"

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
        "BYOK_KEYVAULT_OUTBOX_PATH",
        "BYOK_BILLING_PRICE_OVERRIDES",
        "BYOK_KEYVAULT_URL",  # the demo's
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


# --- the compose file would start: environment, health, restarts, dependencies, state, host access ---

LONG_RUNNING = ("kafka", "vault", "postgres", "keyvault", "inference", "billing", "fake-providers")
INIT_JOBS = ("kafka-init", "vault-init")


def _env_names(settings_class: type) -> set[str]:
    """Every variable a pydantic-settings class reads, its sub-settings (built from their own prefix) included."""
    from pydantic_settings import BaseSettings

    prefix = settings_class.model_config.get("env_prefix", "")
    names: set[str] = set()
    for name, info in settings_class.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseSettings):
            names |= _env_names(kind)
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def _settings_of(service: str) -> set[str]:
    from byok_billing.config import BillingSettings
    from byok_inference.config import InferenceSettings
    from byok_keyvault.config import KeyvaultSettings

    classes = {"keyvault": KeyvaultSettings, "inference": InferenceSettings, "billing": BillingSettings}
    if service == "demo":  # the demo reads the client's Kafka settings and two coordinates
        return {"BYOK_KAFKA_BOOTSTRAP", "BYOK_KEYVAULT_URL", "BYOK_AUTH_JWT_SECRET"}
    return _env_names(classes[service])


def test_each_service_environment_is_read_by_its_settings_class(compose: dict) -> None:
    assert "BYOK_KAFKA_BOOTSTRAP" in _settings_of("inference") and "BYOK_VAULT_TOKEN" in _settings_of("keyvault")
    for name in ("keyvault", "inference", "billing", "demo"):
        env = compose["services"][name]["environment"]
        unread = {k for k in env if k.startswith("BYOK_")} - _settings_of(name)
        assert not unread, f"{name} is given variables its settings never read: {sorted(unread)}"


def test_every_long_running_service_has_a_healthcheck_and_a_restart_policy(compose: dict) -> None:
    services = compose["services"]
    assert set(LONG_RUNNING) | set(INIT_JOBS) | {"demo"} == set(services)
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check and check["test"] and check["interval"] and check["retries"] >= 10, name
        assert services[name]["restart"] == "unless-stopped", name
    for name in INIT_JOBS:
        assert services[name]["restart"] == "on-failure" and "healthcheck" not in services[name], name
    for name, port in (("keyvault", "8080"), ("inference", "9101"), ("billing", "9102")):
        assert f"127.0.0.1:{port}/healthz" in " ".join(services[name]["healthcheck"]["test"]), name
    assert services["vault"]["command"] == ["server"], "server mode: the image loads /vault/config, no -dev"


def test_every_dependency_waits_for_health_or_completion(compose: dict) -> None:
    services = compose["services"]
    for name, service in services.items():
        if name in ("kafka", "vault", "postgres", "fake-providers"):
            assert "depends_on" not in service, name
            continue
        depends = service["depends_on"]
        assert isinstance(depends, dict) and depends, name
        for target, rule in depends.items():
            if target in INIT_JOBS:
                assert rule == {"condition": "service_completed_successfully"}, (name, target)
            else:
                assert rule == {"condition": "service_healthy"}, (name, target)
                assert "healthcheck" in services[target], (name, target)
    assert set(services["inference"]["depends_on"]) == {"kafka-init", "vault-init", "keyvault"}
    assert set(services["billing"]["depends_on"]) == {"kafka-init", "postgres"}
    assert set(services["keyvault"]["depends_on"]) == {"kafka-init", "vault-init"}


def _mounts(service: dict) -> dict[str, str]:
    """Container path -> source (named volume or host path) of a service's volumes."""
    return {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", [])}


def test_all_state_is_in_named_volumes(compose: dict) -> None:
    services, declared = compose["services"], set(compose["volumes"])
    used = {src for s in services.values() for src in _mounts(s).values() if not src.startswith(".")}
    assert used == declared == {"kafka-data", "vault-data", "vault-init", "postgres-data", "keyvault-data"}
    kafka = services["kafka"]
    assert _mounts(kafka)[kafka["environment"]["KAFKA_LOG_DIRS"]] == "kafka-data"
    assert kafka["environment"]["CLUSTER_ID"], "a fixed cluster id, so a restart finds its own data"
    assert _mounts(services["postgres"])["/var/lib/postgresql/data"] == "postgres-data"
    vault_config = (REPO / "infra/compose/vault-server.hcl").read_text()
    [storage_path] = re.findall(r'storage "file" \{\s*path\s*=\s*"([^"]+)"', vault_config)
    assert _mounts(services["vault"])[storage_path] == "vault-data"
    assert _mounts(services["vault"])["/vault/config/server.hcl"] == "./infra/compose/vault-server.hcl"
    assert _mounts(services["vault-init"])["/vault/init"] == "vault-init"

    keyvault = services["keyvault"]
    outbox_dir = str(Path(keyvault["environment"]["BYOK_KEYVAULT_OUTBOX_PATH"]).parent)
    assert _mounts(keyvault)[outbox_dir] == "keyvault-data"
    dockerfile = (REPO / "Dockerfile").read_text()
    assert f"mkdir -p {outbox_dir} && chown byok {outbox_dir}" in dockerfile, "the service user must own it"
    assert dockerfile.index("useradd --system --uid 10001 byok") < dockerfile.index("USER byok")


def test_kafka_is_reachable_from_the_host(compose: dict) -> None:
    kafka = compose["services"]["kafka"]
    env = kafka["environment"]
    advertised = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", env["KAFKA_ADVERTISED_LISTENERS"])
    listeners = dict(item.split("://") for item in advertised.split(","))
    assert listeners["INTERNAL"] == "kafka:9092"
    host, port = listeners["EXTERNAL"].rsplit(":", 1)
    assert host == "127.0.0.1"
    assert port == "9094" and "EXTERNAL://:9094" in env["KAFKA_LISTENERS"]
    assert kafka["ports"] == ["127.0.0.1:${BYOK_KAFKA_HOST_PORT:-9094}:9094"], "advertised = published"
    assert "${BYOK_KAFKA_HOST_PORT:-9094}" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] == "INTERNAL"
    assert "EXTERNAL:PLAINTEXT" in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]


def test_vault_init_is_idempotent_and_unseals(compose: dict) -> None:
    init = compose["services"]["vault-init"]
    assert init["entrypoint"] == ["/bin/sh", "/vault-init.sh"]
    assert _mounts(init)["/vault-init.sh"] == "./infra/compose/vault-init.sh"
    script = (REPO / "infra/compose/vault-init.sh").read_text()
    assert 'if [ "$(status | field initialized)" != "true" ]' in script  # init only once
    assert script.index("operator init") < script.index("operator unseal") < script.index("compose-bootstrap.sh")
    assert "umask 077" in script
    bootstrap = (REPO / "infra/vault/compose-bootstrap.sh").read_text()
    assert "byok-dev-root" not in bootstrap, "server mode has no dev root token"
    for guard in ("grep -q '^byok/'", "vault token lookup"):
        assert guard in bootstrap  # every step may run again


def test_no_known_secret_is_set(compose: dict) -> None:
    text = (REPO / "docker-compose.yml").read_text()
    assert "change-me" not in text and "byok-dev-jwt-secret" not in text
    secret = compose["services"]["keyvault"]["environment"]["BYOK_AUTH_JWT_SECRET"]
    assert secret.startswith("${BYOK_AUTH_JWT_SECRET:?"), "no default: compose refuses to start without one"


def test_the_demo_profile_runs_fake_providers_and_the_demo(compose: dict) -> None:
    services = compose["services"]
    for name in ("fake-providers", "demo"):
        assert services[name]["profiles"] == ["demo"]
    assert all("profiles" not in services[n] for n in services if n not in ("fake-providers", "demo"))
    command = services["fake-providers"]["command"]
    port = command[command.index("--port") + 1]
    assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - inside the compose network
    assert services["demo"]["command"] == ["python", "-m", "byok_client.demo"]
    demo_env = dict(
        line.split("=", 1)
        for line in (REPO / "infra/compose/demo.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for provider in ("ANTHROPIC", "OPENAI", "GEMINI", "OPENROUTER"):
        assert demo_env[f"BYOK_{provider}_BASE_URL"].startswith(f"http://fake-providers:{port}")
        assert demo_env[f"BYOK_SYSTEM_{provider}_API_KEY"]
        assert f"BYOK_SYSTEM_{provider}_API_KEY" in services["keyvault"]["environment"]
    assert len(demo_env["BYOK_AUTH_JWT_SECRET"]) >= 32


def test_billing_finds_its_prices_in_the_image(compose: dict) -> None:
    path = compose["services"]["billing"]["environment"]["BYOK_BILLING_PRICE_OVERRIDES"]
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "WORKDIR /app" in dockerfile and "COPY infra/billing infra/billing" in dockerfile
    assert path == "/app/infra/billing/prices.toml" and (REPO / "infra/billing/prices.toml").exists()
    assert "--no-editable" in dockerfile, "the image must not depend on the source tree layout"

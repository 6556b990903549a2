"""docker-compose.yml agrees with the contract and with infra/ (no Docker engine runs here, so it is parsed)."""

from __future__ import annotations

import base64
import os
import re
import stat
import subprocess
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
        "BYOK_DEMO_ANALYST_PASSWORD_FILE",  # the demo reads the charges as analyst
        "BYOK_KAFKA_SECURITY_PROTOCOL",  # each principal's login (docs/additions.md)
        "BYOK_KAFKA_SASL_MECHANISM",
        "BYOK_KAFKA_SASL_USERNAME",
        "BYOK_KAFKA_SASL_PASSWORD_FILE",
        "BYOK_INFERENCE_USER_AUTH",
    }
    assert declared - contract <= additions, "compose uses BYOK_ variables that are not in the contract or additions"


def test_every_compose_variable_is_read_by_the_service_settings(compose: dict, monkeypatch, tmp_path) -> None:
    from byok_billing.config import BillingSettings
    from byok_inference.config import InferenceSettings
    from byok_keyvault.config import KeyvaultSettings

    for name, settings_class in (
        ("keyvault", KeyvaultSettings),
        ("inference", InferenceSettings),
        ("billing", BillingSettings),
    ):
        env = {k: str(v) for k, v in compose["services"][name]["environment"].items()}
        password = tmp_path / f"{name}.password"  # what the service's own volume holds
        password.write_text(f"scram-password-of-{name}\n")
        env["BYOK_KAFKA_SASL_PASSWORD_FILE"] = str(password)
        for key, value in env.items():
            monkeypatch.setenv(key, re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value))  # compose's own defaults
        settings = settings_class()
        assert settings.kafka.bootstrap == "kafka:9092"
        assert (settings.kafka.security_protocol, settings.kafka.sasl_mechanism) == ("SASL_PLAINTEXT", "SCRAM-SHA-512")
        assert settings.kafka.sasl_username == f"byok-{name}"
        assert settings.kafka.sasl_password.get_secret_value() == f"scram-password-of-{name}"
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
INIT_JOBS = ("kafka-credentials", "kafka-init", "vault-init")


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
    if service == "demo":  # the demo reads the client's Kafka settings (KafkaConfig.from_env) and two coordinates
        client = {
            f"BYOK_KAFKA_{n}" for n in ("SECURITY_PROTOCOL", "SASL_MECHANISM", "SASL_USERNAME", "SASL_PASSWORD_FILE")
        }
        return {
            "BYOK_KAFKA_BOOTSTRAP",
            "BYOK_KEYVAULT_URL",
            "BYOK_AUTH_JWT_SECRET",
            "BYOK_DEMO_ANALYST_PASSWORD_FILE",
        } | client
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
        if name in ("kafka-credentials", "vault", "postgres", "fake-providers"):
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
    assert set(services["kafka"]["depends_on"]) == {"kafka-credentials"}


def _mounts(service: dict) -> dict[str, str]:
    """Container path -> source (named volume or host path) of a service's volumes."""
    return {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", [])}


def test_all_state_is_in_named_volumes(compose: dict) -> None:
    services, declared = compose["services"], set(compose["volumes"])
    used = {src for s in services.values() for src in _mounts(s).values() if not src.startswith(".")}
    secrets = {f"kafka-secret-{name}" for name in ("keyvault", "inference", "billing", "producer", "analyst")}
    state = {"kafka-data", "kafka-credentials", "vault-data", "vault-init", "postgres-data", "keyvault-data"}
    assert used == declared == state | secrets
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
    assert "EXTERNAL:SASL_PLAINTEXT" in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]


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


# --- Kafka: SASL/SCRAM and the contract's ACL table, as in the local stack's SASL mode (kafka.sh --sasl) ---

SERVICES = ("keyvault", "inference", "billing")
# The contract's table ("Who may spend a key") and docs/additions.md's: principal -> (may write, may read).
TABLE = {
    "producer": ({topics.PROMPT_REQUESTS}, {topics.PROMPT_RESPONSES}),
    "byok-inference": (
        {topics.PROMPT_RESPONSES, topics.USAGE_EVENTS, topics.KEY_EVENTS, topics.DLQ},
        {topics.PROMPT_REQUESTS, topics.KEY_EVENTS, topics.BILLING_ALERTS, topics.PROMPT_RESPONSES},
    ),
    "byok-billing": ({topics.BILLING_CHARGES, topics.BILLING_ALERTS, topics.DLQ}, {topics.USAGE_EVENTS}),
    "byok-keyvault": ({topics.KEY_EVENTS, topics.DLQ}, {topics.KEY_EVENTS}),
    "analyst": (set(), {topics.BILLING_CHARGES, topics.BILLING_ALERTS}),
}


def _kafka_env(compose: dict) -> dict[str, str]:
    env = {k: str(v) for k, v in compose["services"]["kafka"]["environment"].items()}
    return {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", v) for k, v in env.items()}


def _principals_of(script: str) -> list[str]:
    [names] = re.findall(r"^PRINCIPALS=\(([^)]*)\)", (REPO / script).read_text(), re.MULTILINE)
    return names.split()


def test_kafka_authenticates_every_client_and_authorizes_with_the_standard_authorizer(compose: dict) -> None:
    env = _kafka_env(compose)
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    listeners = dict(item.split("://") for item in env["KAFKA_LISTENERS"].split(","))
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert set(protocols) == set(listeners)
    for name, protocol in protocols.items():
        if name != controller:
            assert protocol.startswith("SASL_"), f"{name} is a client listener without SASL"
    # the only PLAINTEXT listener is the node's own controller: on the container's loopback, never advertised
    assert listeners[controller].startswith("127.0.0.1:")
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"1@{listeners[controller]}"
    assert controller not in env["KAFKA_ADVERTISED_LISTENERS"]
    assert all(listeners[controller].split(":")[1] not in p for p in compose["services"]["kafka"]["ports"])
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == env["KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL"] == "SCRAM-SHA-512"
    assert protocols[env["KAFKA_INTER_BROKER_LISTENER_NAME"]] == "SASL_PLAINTEXT"
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_SUPER_USERS"].split(";") == ["User:admin", "User:ANONYMOUS"]  # as infra/kafka/kafka.sh
    assert "super.users=User:admin;User:ANONYMOUS" in (REPO / "infra/kafka/kafka.sh").read_text()


def test_the_cluster_id_is_a_kafka_uuid(compose: dict) -> None:
    cluster_id = compose["services"]["kafka"]["environment"]["CLUSTER_ID"]
    assert len(cluster_id) == 22 and not cluster_id.startswith("-")
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16  # what kafka-storage format accepts


def test_every_service_logs_in_as_its_own_principal_with_only_its_own_password(compose: dict) -> None:
    services = compose["services"]
    logins = {name: services[name]["environment"] for name in (*SERVICES, "demo")}
    usernames = {name: env["BYOK_KAFKA_SASL_USERNAME"] for name, env in logins.items()}
    assert usernames == {
        "keyvault": "byok-keyvault",
        "inference": "byok-inference",
        "billing": "byok-billing",
        "demo": "producer",
    }
    for name, env in logins.items():
        assert env["BYOK_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT" and env["BYOK_KAFKA_SASL_MECHANISM"] == (
            "SCRAM-SHA-512"
        )
        assert "BYOK_KAFKA_SASL_PASSWORD" not in env, "no password in the compose file"
        volume = f"kafka-secret-{'producer' if name == 'demo' else name}"
        folder = str(Path(env["BYOK_KAFKA_SASL_PASSWORD_FILE"]).parent)
        assert f"{volume}:{folder}:ro" in services[name]["volumes"], name
        holders = {other for other, s in services.items() if volume in _mounts(s).values()}
        assert holders == {name, "kafka-credentials"}, f"{volume} is mounted by {holders}"
    analyst_file = services["demo"]["environment"]["BYOK_DEMO_ANALYST_PASSWORD_FILE"]  # it reads the charges
    assert f"kafka-secret-analyst:{Path(analyst_file).parent}:ro" in services["demo"]["volumes"]
    assert {n for n, s in services.items() if "kafka-secret-analyst" in _mounts(s).values()} == {
        "demo",
        "kafka-credentials",
    }
    everyone = {other for other, s in services.items() if "kafka-credentials" in _mounts(s).values()}
    assert everyone == {"kafka-credentials", "kafka", "kafka-init"}, "only the broker and the admin tooling"
    credentials = (REPO / "infra/compose/kafka-credentials.sh").read_text()
    assert 'chown 10001 "/principals/$name/password"' in credentials and "umask 077" in credentials
    assert "useradd --system --uid 10001 byok" in (REPO / "Dockerfile").read_text()


def test_the_principals_are_the_local_stacks_and_the_acl_tables(compose: dict) -> None:
    local = _principals_of("infra/kafka/kafka.sh")
    assert _principals_of("infra/compose/kafka-start.sh") == local
    made, handed = re.findall(
        r"^for name in ([a-z -]+); do$", (REPO / "infra/compose/kafka-credentials.sh").read_text(), re.M
    )
    assert made.split() == local
    assert set(handed.split()) == {*SERVICES, "producer", "analyst"}
    acl_principals = {
        line.split()[0]
        for line in (REPO / "infra/kafka/acls.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert acl_principals == set(TABLE) == set(local) - {"admin"}


def test_kafka_init_creates_exactly_the_contract_acls(compose: dict) -> None:
    init = compose["services"]["kafka-init"]
    assert _mounts(init)["/acls.txt"] == "./infra/kafka/acls.txt"
    assert init["entrypoint"] == ["/bin/bash", "/kafka-init.sh"]
    done = subprocess.run(
        ["bash", REPO / "infra/compose/kafka-init.sh", "--dry-run", REPO / "infra/kafka/acls.txt"],
        capture_output=True,
        text=True,
        check=True,
    )
    granted: dict[str, tuple[set[str], set[str]]] = {name: (set(), set()) for name in TABLE}
    groups: dict[str, str] = {}
    for line in done.stdout.splitlines():
        args = line.split()
        assert args[:2] == ["--add", "--allow-principal"]
        principal = args[2].removeprefix("User:")
        pairs = list(zip(args[1::2], args[2::2], strict=True))  # after --add: flag value pairs
        values = {flag: [v for f, v in pairs if f == flag] for flag, _ in pairs}
        [pattern], operations = values["--resource-pattern-type"], values["--operation"]
        for topic in values.get("--topic", []):
            assert pattern == "literal", line
            for operation in operations:
                granted[principal][0 if operation == "Write" else 1].add(topic)
        for group in values.get("--group", []):
            assert (pattern, operations) == ("prefixed", ["Read"]), line
            groups[principal] = group
    assert granted == TABLE
    assert groups == {name: name for name in TABLE}, "each principal's consumer groups start with its name"


def test_the_kafka_start_script_renders_a_sasl_configuration(compose: dict, tmp_path: Path) -> None:
    credentials, config = tmp_path / "credentials", tmp_path / "config"
    credentials.mkdir()
    for name in _principals_of("infra/kafka/kafka.sh"):
        (credentials / name).write_text(f"pw-{name}\n")
    env = {"PATH": os.environ["PATH"], "BYOK_KAFKA_CREDENTIALS": str(credentials), "BYOK_KAFKA_CONFIG_DIR": str(config)}
    done = subprocess.run(
        ["bash", REPO / "infra/compose/kafka-start.sh", "--render"],
        env=env | _kafka_env(compose),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    properties = dict(
        line.split("=", 1) for line in (config / "server.properties").read_text().splitlines() if "=" in line
    )
    assert properties["listener.security.protocol.map"] == _kafka_env(compose)["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert properties["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert properties["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert properties["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert properties["log.dirs"] == "/var/lib/kafka/data" and "cluster.id" not in properties
    for listener in ("internal", "external"):
        jaas = properties[f"listener.name.{listener}.scram-sha-512.sasl.jaas.config"]
        assert 'username="admin" password="pw-admin";' in jaas
    assert not [k for k in properties if k.startswith("listener.name.controller")]
    assert 'password="pw-admin"' in (config / "admin.properties").read_text()
    for path in (config / "server.properties", config / "admin.properties"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert "pw-" not in done.stdout + done.stderr
    healthcheck = " ".join(compose["services"]["kafka"]["healthcheck"]["test"])
    assert "--command-config /tmp/byok-kafka/admin.properties" in healthcheck

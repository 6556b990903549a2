"""docker-compose.yml as Compose itself reads it: `docker-compose config` (Debian's docker-compose, which needs
no Docker engine; `make test` installs it through infra/compose/install.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SECRET = "a-long-random-secret-for-the-compose-check-0123456789"


def _compose_config(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is not installed: run infra/compose/install.sh (make test does)"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_")}
    environment.update(env or {})
    return subprocess.run(
        [binary, "--project-directory", str(REPO), "-f", str(REPO / "docker-compose.yml"), *args, "config"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def resolved() -> dict:
    run = _compose_config(env={"BYOK_AUTH_JWT_SECRET": SECRET})
    assert run.returncode == 0, run.stderr
    return yaml.safe_load(run.stdout)


@pytest.fixture(scope="module")
def resolved_demo() -> dict:
    env_file = REPO / "infra" / "compose" / "demo.env"
    run = _compose_config("--env-file", str(env_file), "--profile", "demo")
    assert run.returncode == 0, run.stderr
    return yaml.safe_load(run.stdout)


def test_compose_refuses_to_start_without_a_jwt_secret() -> None:
    run = _compose_config()
    assert run.returncode != 0
    assert "BYOK_AUTH_JWT_SECRET" in run.stderr


def test_compose_accepts_the_file_and_resolves_every_service(resolved: dict) -> None:
    declared = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    assert set(resolved["services"]) == set(declared)
    for name, spec in resolved["services"].items():
        assert spec.get("profiles") == declared[name].get("profiles"), name
    assert resolved["services"]["keyvault"]["environment"]["BYOK_AUTH_JWT_SECRET"] == SECRET


def test_every_dependency_names_a_service_compose_knows_with_a_condition(resolved: dict) -> None:
    services = resolved["services"]
    for name, spec in services.items():
        for dependency, how in (spec.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert how["condition"] in {"service_healthy", "service_completed_successfully"}, (name, dependency)
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}, which has no healthcheck"


def test_every_named_volume_is_declared(resolved: dict) -> None:
    declared = set(resolved.get("volumes") or {})
    for name, spec in resolved["services"].items():
        for volume in spec.get("volumes") or []:
            source = volume["source"] if isinstance(volume, dict) else volume.split(":", 1)[0]
            if not source.startswith(("/", ".")):
                assert source in declared, f"{name} mounts undeclared volume {source}"


def test_the_demo_profile_adds_the_fake_providers_and_the_demo(resolved_demo: dict) -> None:
    in_demo_only = {name for name, spec in resolved_demo["services"].items() if spec.get("profiles")}
    assert in_demo_only == {"fake-providers", "demo"}
    assert all(resolved_demo["services"][name]["profiles"] == ["demo"] for name in in_demo_only)
    inference = resolved_demo["services"]["inference"]["environment"]
    for provider in ("ANTHROPIC", "OPENAI", "GEMINI", "OPENROUTER"):
        assert inference[f"BYOK_{provider}_BASE_URL"].startswith("http://fake-providers:"), provider
    assert resolved_demo["services"]["demo"]["depends_on"]["fake-providers"]["condition"] == "service_healthy"

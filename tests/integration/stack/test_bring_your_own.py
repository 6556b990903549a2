"""stack.sh up honours BYOK_KAFKA_BOOTSTRAP, BYOK_VAULT_ADDR and BYOK_DATABASE_URL: a second stack against the
running one's servers starts only what is not given, checks what is, and says so."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import hvac
import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
STACK_SH = REPO / "infra/local/stack.sh"


def _stack(run_dir: Path, command: str, **given: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_")} | {"BYOK_RUN_DIR": str(run_dir)} | given
    return subprocess.run([STACK_SH, command], env=env, capture_output=True, text=True, timeout=300)


def _env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def _policies(addr: str, token: str) -> list[str]:
    return hvac.Client(url=addr, token=token).auth.token.lookup_self()["data"]["policies"]


def test_a_second_stack_on_the_first_ones_kafka_starts_vault_and_postgres_only(stack_env, tmp_path) -> None:
    try:
        up = _stack(tmp_path, "up", BYOK_KAFKA_BOOTSTRAP=stack_env["BYOK_KAFKA_BOOTSTRAP"])
        assert up.returncode == 0, up.stderr[-3000:]
        assert f"kafka: BYOK_KAFKA_BOOTSTRAP is set: using {stack_env['BYOK_KAFKA_BOOTSTRAP']}" in up.stderr
        assert "7 topics present (0 created" in up.stderr
        second = _env(tmp_path / "stack.env")
        assert second["BYOK_KAFKA_BOOTSTRAP"] == stack_env["BYOK_KAFKA_BOOTSTRAP"]
        assert second["BYOK_STACK_STARTED"] == "postgres vault"
        assert second["BYOK_VAULT_ADDR"] != stack_env["BYOK_VAULT_ADDR"]
        assert second["BYOK_DATABASE_URL"] != stack_env["BYOK_DATABASE_URL"]
        assert not list((tmp_path / "kafka").glob("*.pid"))
        policies = _policies(second["BYOK_VAULT_ADDR"], second["BYOK_VAULT_TOKEN_INFERENCE"])
        assert policies == ["byok-inference", "default"]
    finally:
        down = _stack(tmp_path, "down")
    assert down.returncode == 0, down.stderr
    answer = subprocess.run(
        [REPO / ".venv/bin/python", REPO / "infra/kafka/topics.py", "wait", "--timeout", "10"],
        env=os.environ | {"BYOK_KAFKA_BOOTSTRAP": stack_env["BYOK_KAFKA_BOOTSTRAP"]},
        capture_output=True,
        text=True,
    )
    assert answer.returncode == 0, "stopping the second stack stopped the first one's Kafka"


def test_all_three_given_nothing_starts_and_vault_is_bootstrapped_with_a_token_that_may(stack_env, tmp_path) -> None:
    given = {k: stack_env[k] for k in ("BYOK_KAFKA_BOOTSTRAP", "BYOK_VAULT_ADDR", "BYOK_DATABASE_URL")}
    try:
        up = _stack(tmp_path, "up", **given, BYOK_VAULT_ROOT_TOKEN=stack_env["BYOK_VAULT_ROOT_TOKEN"])
        assert up.returncode == 0, up.stderr[-3000:]
        for name, variable in (("kafka", "KAFKA_BOOTSTRAP"), ("vault", "VAULT_ADDR"), ("postgres", "DATABASE_URL")):
            assert f"{name}: BYOK_{variable} is set: using" in up.stderr
        second = _env(tmp_path / "stack.env")
        assert {k: second[k] for k in given} == given and second["BYOK_STACK_STARTED"] == ""
        assert "vault: bootstrapped" in up.stderr
        assert second["BYOK_VAULT_TOKEN_KEYVAULT"] != stack_env["BYOK_VAULT_TOKEN_KEYVAULT"]
        assert _policies(given["BYOK_VAULT_ADDR"], second["BYOK_VAULT_TOKEN_KEYVAULT"]) == ["byok-keyvault", "default"]
        assert not (tmp_path / "vault.pid").exists() and not (tmp_path / "pg-data").exists()
    finally:
        assert _stack(tmp_path, "down").returncode == 0


def test_a_vault_token_that_may_not_bootstrap_is_used_as_it_is(stack_env, tmp_path) -> None:
    given = {k: stack_env[k] for k in ("BYOK_KAFKA_BOOTSTRAP", "BYOK_VAULT_ADDR", "BYOK_DATABASE_URL")}
    try:
        up = _stack(tmp_path, "up", **given, BYOK_VAULT_TOKEN=stack_env["BYOK_VAULT_TOKEN_KEYVAULT"])
        assert up.returncode == 0, up.stderr[-3000:]
        assert "may not create mounts, auth methods and policies: not bootstrapping" in up.stderr
        assert not [k for k in _env(tmp_path / "stack.env") if k.startswith("BYOK_VAULT_TOKEN_")]
    finally:
        assert _stack(tmp_path, "down").returncode == 0


def test_a_given_server_that_does_not_answer_stops_the_stack_with_a_reason(stack_env, tmp_path) -> None:
    kafka = stack_env["BYOK_KAFKA_BOOTSTRAP"]
    up = _stack(tmp_path, "up", BYOK_KAFKA_BOOTSTRAP=kafka, BYOK_VAULT_ADDR="http://127.0.0.1:9")
    try:
        assert up.returncode != 0
        assert "Vault at http://127.0.0.1:9 is not ready" in up.stderr
        assert not (tmp_path / "stack.env").exists() and not (tmp_path / "pg-data").exists()
    finally:
        assert _stack(tmp_path, "down").returncode == 0

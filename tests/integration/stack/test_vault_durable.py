"""Vault in durable mode (file storage, scripted init and unseal): keys and service tokens survive a restart."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import hvac
import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
VAULT_SH = REPO / "infra/vault/vault.sh"


def _vault(run_dir: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_VAULT")} | {"BYOK_RUN_DIR": str(run_dir)}
    done = subprocess.run([VAULT_SH, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def _env(run_dir: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (run_dir / "vault.env").read_text().splitlines() if "=" in line)
    return {k: v.strip() for k, v in pairs}


def test_a_durable_vault_keeps_keys_and_tokens_across_a_restart(tmp_path: Path) -> None:
    try:
        _vault(tmp_path, "start-durable")
        _vault(tmp_path, "bootstrap")
        before = _env(tmp_path)
        keyvault = hvac.Client(url=before["BYOK_VAULT_ADDR"], token=before["BYOK_VAULT_TOKEN_KEYVAULT"])
        keyvault.secrets.kv.v2.create_or_update_secret(
            path="tenants/durable/org/openai", secret={"api_key": "not-a-real-key"}, mount_point="byok"
        )
        _vault(tmp_path, "stop")
        _vault(tmp_path, "start-durable")
        after = _env(tmp_path)
        inference = hvac.Client(url=after["BYOK_VAULT_ADDR"], token=before["BYOK_VAULT_TOKEN_INFERENCE"])
        assert not inference.sys.is_sealed()
        read = inference.secrets.kv.v2.read_secret_version(
            path="tenants/durable/org/openai", mount_point="byok", raise_on_deleted_version=True
        )
        assert read["data"]["data"] == {"api_key": "not-a-real-key"}
    finally:
        _vault(tmp_path, "stop")

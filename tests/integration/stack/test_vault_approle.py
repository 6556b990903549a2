"""Production-style Vault login: each service's AppRole gets exactly its policy through VaultClient."""

from __future__ import annotations

import uuid

import pytest
from byok_core.settings import VaultSettings
from byok_core.vault import VaultClient, VaultForbidden

pytestmark = pytest.mark.integration


def _approle_client(stack_env: dict[str, str], service: str) -> VaultClient:
    return VaultClient(
        VaultSettings(
            addr=stack_env["BYOK_VAULT_ADDR"],
            token=None,
            role_id=stack_env[f"BYOK_VAULT_ROLE_ID_{service.upper()}"],
            secret_id=stack_env[f"BYOK_VAULT_SECRET_ID_{service.upper()}"],
        )
    )


def test_approle_logins_carry_each_service_policy(stack_env: dict[str, str]) -> None:
    path = f"tenants/approle-{uuid.uuid4().hex[:8]}/org/anthropic"
    keyvault = _approle_client(stack_env, "keyvault")
    assert keyvault.kv_write(path, {"api_key": "not-a-real-key"}) == 1
    inference = _approle_client(stack_env, "inference")
    data, metadata = inference.kv_read(path)
    assert data == {"api_key": "not-a-real-key"} and metadata["version"] == 1
    with pytest.raises(VaultForbidden):
        inference.kv_write(path, {"api_key": "overwritten"})
    with pytest.raises(VaultForbidden):
        _approle_client(stack_env, "billing").kv_read(path)
    keyvault.kv_destroy(path)
    assert inference.kv_read(path) is None

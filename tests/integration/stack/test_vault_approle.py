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


async def test_approle_logins_carry_each_service_policy(stack_env: dict[str, str]) -> None:
    path = f"tenants/approle-{uuid.uuid4().hex[:8]}/org/anthropic"
    async with (
        _approle_client(stack_env, "keyvault") as keyvault,
        _approle_client(stack_env, "inference") as inference,
        _approle_client(stack_env, "billing") as billing,
    ):
        assert (await keyvault.write(path, {"api_key": "not-a-real-key"})).version == 1
        data, metadata = await inference.read(path)
        assert data == {"api_key": "not-a-real-key"} and metadata["version"] == 1
        with pytest.raises(VaultForbidden):
            await inference.write(path, {"api_key": "overwritten"})
        with pytest.raises(VaultForbidden):
            await billing.read(path)
        await keyvault.destroy(path)
        assert await inference.read(path) is None

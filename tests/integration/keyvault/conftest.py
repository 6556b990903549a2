"""Key-vault integration fixtures: the real Vault and Kafka of stack.env, the service in-process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import hvac
import pytest
from byok_core.settings import VaultSettings
from byok_core.vault import VaultClient
from pydantic import SecretStr
from support.keyvault import running_service, settings_for


@pytest.fixture(scope="session")
def vault_root(stack_env) -> hvac.Client:
    return hvac.Client(url=stack_env["BYOK_VAULT_ADDR"], token=stack_env["BYOK_VAULT_ROOT_TOKEN"])


async def _vault_client(stack_env, name: str) -> AsyncIterator[VaultClient]:
    settings = VaultSettings(addr=stack_env["BYOK_VAULT_ADDR"], token=SecretStr(stack_env[name]))
    async with VaultClient(settings) as client:
        yield client


@pytest.fixture(scope="session")
async def inference_vault(stack_env) -> AsyncIterator[VaultClient]:
    async for client in _vault_client(stack_env, "BYOK_VAULT_TOKEN_INFERENCE"):
        yield client


@pytest.fixture(scope="session")
async def keyvault_vault(stack_env) -> AsyncIterator[VaultClient]:
    async for client in _vault_client(stack_env, "BYOK_VAULT_TOKEN_KEYVAULT"):
        yield client


@pytest.fixture(scope="session")
async def billing_vault(stack_env) -> AsyncIterator[VaultClient]:
    async for client in _vault_client(stack_env, "BYOK_VAULT_TOKEN_BILLING"):
        yield client


@pytest.fixture(scope="module")
async def kv(stack_env, tmp_path_factory):
    """One running key-vault service per test module (own outbox file and consumer group)."""
    group = f"byok-keyvault-test-{uuid.uuid4().hex[:10]}"
    settings = settings_for(stack_env, str(tmp_path_factory.mktemp("kv")), group)
    async with running_service(settings) as running:
        yield running

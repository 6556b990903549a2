"""The fingerprint secret in the real Vault: created once, shared by both services, readable by no one else."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac

import hvac
import pytest
from byok_core.fingerprint import Fingerprints, load_secret
from byok_core.settings import VaultSettings
from byok_core.vault import VaultClient, VaultForbidden
from byok_core.vault.key_codec import FINGERPRINT_SECRET_PATH
from pydantic import SecretStr

pytestmark = pytest.mark.integration

KEY = "sk-ant-api03-" + "k" * 60


def _client(stack_env: dict[str, str], name: str) -> VaultClient:
    return VaultClient(VaultSettings(addr=stack_env["BYOK_VAULT_ADDR"], token=SecretStr(stack_env[name])))


async def test_created_once_then_shared_and_private(stack_env: dict[str, str], unique_id: str) -> None:
    root = hvac.Client(url=stack_env["BYOK_VAULT_ADDR"], token=stack_env["BYOK_VAULT_ROOT_TOKEN"])
    async with (
        _client(stack_env, "BYOK_VAULT_TOKEN_KEYVAULT") as keyvault,
        _client(stack_env, "BYOK_VAULT_TOKEN_INFERENCE") as inference,
        _client(stack_env, "BYOK_VAULT_TOKEN_BILLING") as billing,
    ):
        # concurrent first starts of the key-vault service agree on one secret (on a fresh path of its own)
        fresh = f"fingerprint/itest-{unique_id}"
        created = await asyncio.gather(*(load_secret(keyvault, create=True, path=fresh) for _ in range(4)))
        assert len(set(created)) == 1 and len(created[0]) == 32
        assert await load_secret(inference, create=False, path=fresh) == created[0]
        root.secrets.kv.v2.delete_metadata_and_all_versions(path=fresh, mount_point="byok")
        with pytest.raises(LookupError):
            await load_secret(inference, create=False, path=fresh)

        secrets = [await load_secret(keyvault, create=True)]
        stored = root.secrets.kv.v2.read_secret_version(
            path=FINGERPRINT_SECRET_PATH, mount_point="byok", raise_on_deleted_version=True
        )
        assert base64.b64decode(stored["data"]["data"]["key"]) == secrets[0]

        kv_side, worker_side = Fingerprints(keyvault, create=True), Fingerprints(inference)
        await kv_side.load()
        assert kv_side(KEY) == await worker_side.of(KEY)  # the worker's key.invalid matches the stored one
        assert kv_side(KEY).split("#")[1] == hmac.new(secrets[0], KEY.encode(), hashlib.sha256).hexdigest()[:6]

        with pytest.raises(VaultForbidden):
            await inference.write(FINGERPRINT_SECRET_PATH, {"key": "x"})  # the worker only reads it
        with pytest.raises(VaultForbidden):
            await billing.read(FINGERPRINT_SECRET_PATH)
        with pytest.raises(VaultForbidden):  # and the key-vault service never overwrites it
            await keyvault.write(FINGERPRINT_SECRET_PATH, {"key": "x"}, cas=1)

"""The real Vault server: KV v2 versions, Transit round trip, and per-service policies that deny."""

from __future__ import annotations

import base64
import uuid

import hvac
import hvac.exceptions
import pytest

pytestmark = pytest.mark.integration

KV = "byok"
TRANSIT = "byok-transit"


def _client(stack_env: dict[str, str], service: str) -> hvac.Client:
    return hvac.Client(url=stack_env["BYOK_VAULT_ADDR"], token=stack_env[f"BYOK_VAULT_TOKEN_{service.upper()}"])


@pytest.fixture
def secret_path() -> str:
    return f"tenants/smoke-{uuid.uuid4().hex[:8]}/org/openai"


def test_kv_v2_versions_with_the_keyvault_token(stack_env: dict[str, str], secret_path: str) -> None:
    keyvault = _client(stack_env, "keyvault")
    kv = keyvault.secrets.kv.v2
    assert kv.create_or_update_secret(path=secret_path, secret={"v": "one"}, mount_point=KV)["data"]["version"] == 1
    assert kv.create_or_update_secret(path=secret_path, secret={"v": "two"}, mount_point=KV)["data"]["version"] == 2
    assert kv.read_secret_version(path=secret_path, mount_point=KV, raise_on_deleted_version=True)["data"]["data"] == {
        "v": "two"
    }
    first = kv.read_secret_version(path=secret_path, version=1, mount_point=KV, raise_on_deleted_version=True)
    assert first["data"]["data"] == {"v": "one"}
    kv.delete_metadata_and_all_versions(path=secret_path, mount_point=KV)
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version(path=secret_path, mount_point=KV, raise_on_deleted_version=True)


def test_inference_reads_but_cannot_write_and_billing_cannot_read(stack_env: dict[str, str], secret_path: str) -> None:
    _client(stack_env, "keyvault").secrets.kv.v2.create_or_update_secret(
        path=secret_path, secret={"v": "x"}, mount_point=KV
    )
    inference = _client(stack_env, "inference").secrets.kv.v2
    assert inference.read_secret_version(path=secret_path, mount_point=KV, raise_on_deleted_version=True)["data"][
        "data"
    ] == {"v": "x"}
    with pytest.raises(hvac.exceptions.Forbidden):
        inference.create_or_update_secret(path=secret_path, secret={"v": "y"}, mount_point=KV)
    with pytest.raises(hvac.exceptions.Forbidden):
        _client(stack_env, "billing").secrets.kv.v2.read_secret_version(
            path=secret_path, mount_point=KV, raise_on_deleted_version=True
        )
    _client(stack_env, "keyvault").secrets.kv.v2.delete_metadata_and_all_versions(path=secret_path, mount_point=KV)


def test_keyvault_can_create_but_not_read_sealing_private_keys(stack_env: dict[str, str]) -> None:
    path = f"sealing/private/smoke{uuid.uuid4().hex[:8]}"
    keyvault = _client(stack_env, "keyvault").secrets.kv.v2
    keyvault.create_or_update_secret(path=path, secret={"private_key": "x"}, mount_point=KV)
    with pytest.raises(hvac.exceptions.Forbidden):
        keyvault.read_secret_version(path=path, mount_point=KV, raise_on_deleted_version=True)
    inference = _client(stack_env, "inference").secrets.kv.v2
    assert inference.read_secret_version(path=path, mount_point=KV, raise_on_deleted_version=True)["data"]["data"] == {
        "private_key": "x"
    }


def test_transit_round_trip(stack_env: dict[str, str]) -> None:
    keyvault = _client(stack_env, "keyvault")
    name = f"keyvault-smoke-{uuid.uuid4().hex[:8]}"
    keyvault.secrets.transit.create_key(name=name, mount_point=TRANSIT)
    plaintext = base64.b64encode(b"not a real key").decode()
    ciphertext = keyvault.secrets.transit.encrypt_data(name=name, plaintext=plaintext, mount_point=TRANSIT)["data"][
        "ciphertext"
    ]
    assert ciphertext.startswith("vault:v1:")
    decrypted = keyvault.secrets.transit.decrypt_data(name=name, ciphertext=ciphertext, mount_point=TRANSIT)
    assert decrypted["data"]["plaintext"] == plaintext
    with pytest.raises(hvac.exceptions.Forbidden):
        _client(stack_env, "billing").secrets.transit.decrypt_data(
            name=name, ciphertext=ciphertext, mount_point=TRANSIT
        )

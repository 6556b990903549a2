"""The real Vault server: KV v2 versions, only the engines in use, and per-service policies that deny."""

from __future__ import annotations

import uuid

import hvac
import hvac.exceptions
import pytest

pytestmark = pytest.mark.integration

KV = "byok"


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


def test_the_stack_mounts_no_engine_but_kv_v2(stack_env: dict[str, str]) -> None:
    root = hvac.Client(url=stack_env["BYOK_VAULT_ADDR"], token=stack_env["BYOK_VAULT_ROOT_TOKEN"])
    mounts = root.sys.list_mounted_secrets_engines()["data"]
    built_in = ("system", "identity", "cubbyhole", "kv")  # a dev server also mounts secret/ (KV)
    assert [path for path, mount in mounts.items() if mount["type"] not in built_in] == [], "an unused engine"
    assert mounts[f"{KV}/"]["options"]["version"] == "2"

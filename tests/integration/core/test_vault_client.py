"""byok_core.vault against the real Vault of the local stack: the key codec's paths, check-and-set, the
invalid mark as both services see it, AppRole renewal and re-login, and timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import hvac
import hvac.exceptions
import pytest
from byok_core.settings import SystemKeys, VaultSettings
from byok_core.vault import KeyStoreUnavailable, VaultClient, VaultForbidden, VersionConflict
from byok_core.vault import key_codec as codec
from byok_events import Provider
from byok_inference.adapters.vault_keys import VaultKeyReader
from byok_keyvault.adapters.vault_store import VaultKeyStore
from byok_keyvault.domain.models import KeyRef, KeyStatus, Scope
from pydantic import SecretStr

pytestmark = pytest.mark.integration

HOSTILE_USERS = ["alice", "alice\n", "../x", "..", "a/b", "a%2Fb", "org", "alicé", "alice/../bob"]


@pytest.fixture(scope="module")
def root(stack_env: dict[str, str]) -> hvac.Client:
    return hvac.Client(url=stack_env["BYOK_VAULT_ADDR"], token=stack_env["BYOK_VAULT_ROOT_TOKEN"])


def _settings(stack_env: dict[str, str], token_name: str, **extra: object) -> VaultSettings:
    return VaultSettings(addr=stack_env["BYOK_VAULT_ADDR"], token=SecretStr(stack_env[token_name]), **extra)


@pytest.fixture(scope="module")
async def keyvault_client(stack_env: dict[str, str]) -> AsyncIterator[VaultClient]:
    async with VaultClient(_settings(stack_env, "BYOK_VAULT_TOKEN_KEYVAULT")) as client:
        yield client


@pytest.fixture(scope="module")
async def inference_client(stack_env: dict[str, str]) -> AsyncIterator[VaultClient]:
    async with VaultClient(_settings(stack_env, "BYOK_VAULT_TOKEN_INFERENCE")) as client:
        yield client


def _key(n: int) -> str:
    return f"sk-proj-{n:04d}" + "x" * 40


async def test_hostile_ids_each_reach_their_own_secret_and_no_other(
    keyvault_client: VaultClient, inference_client: VaultClient, root: hvac.Client, unique_id: str
) -> None:
    tenant = f"codec-{unique_id}"
    writer, reader = VaultKeyStore(keyvault_client), VaultKeyReader(inference_client, SystemKeys())
    for n, user in enumerate(HOSTILE_USERS):
        ref = KeyRef(tenant_id=tenant, scope=Scope.USER, provider=Provider.OPENAI, user_id=user)
        await writer.put(ref, _key(n), fingerprint=f"fp{n}", expected_version=0, created_at="2026-11-30T00:00:00Z")
    for n, user in enumerate(HOSTILE_USERS):
        found = await reader.get("user", tenant, user, Provider.OPENAI)
        assert found is not None and found.api_key == _key(n), user
        [listed] = await writer.list(tenant, Scope.USER, user)
        assert listed.fingerprint == f"fp{n}" and listed.version == 1
    # Vault holds exactly one folder per user, named by its encoded id, and nothing above or beside them
    names = root.secrets.kv.v2.list_secrets(path=f"tenants/{tenant}/users", mount_point="byok")["data"]["keys"]
    assert sorted(names) == sorted(codec.encode_segment(u) + "/" for u in HOSTILE_USERS)
    top = root.secrets.kv.v2.list_secrets(path=f"tenants/{tenant}", mount_point="byok")["data"]["keys"]
    assert top == ["users/"]
    assert await reader.get("org", tenant, None, Provider.OPENAI) is None
    for user in HOSTILE_USERS:
        await keyvault_client.destroy(codec.user_key_path(tenant, user, "openai"))


async def test_check_and_set_and_the_invalid_mark_as_both_services_see_it(
    keyvault_client: VaultClient, inference_client: VaultClient, unique_id: str
) -> None:
    writer, reader = VaultKeyStore(keyvault_client), VaultKeyReader(inference_client, SystemKeys())
    ref = KeyRef(tenant_id=f"mark-{unique_id}", scope=Scope.ORG, provider=Provider.ANTHROPIC)
    first = await writer.put(ref, _key(1), fingerprint="a", expected_version=0, created_at="2026-11-30T00:00:00Z")
    assert first.version == 1
    with pytest.raises(VersionConflict):
        await writer.put(ref, _key(2), fingerprint="b", expected_version=0, created_at="2026-11-30T00:00:00Z")
    assert await writer.mark_invalid(ref, 1)
    assert (await writer.get(ref)).status is KeyStatus.INVALID  # type: ignore[union-attr]
    assert await reader.get("org", ref.tenant_id, None, Provider.ANTHROPIC) is None
    assert await writer.mark_invalid(ref, 7)  # a version that never existed: nothing to mark, key still there
    second = await writer.put(ref, _key(2), fingerprint="b", expected_version=1, created_at="2026-11-30T00:00:00Z")
    assert second.version == 2 and (await writer.get(ref)).status is KeyStatus.ACTIVE  # type: ignore[union-attr]
    found = await reader.get("org", ref.tenant_id, None, Provider.ANTHROPIC)
    assert found is not None and (found.api_key, found.version) == (_key(2), 2)
    await writer.destroy(ref)
    assert await writer.get(ref) is None and not await writer.mark_invalid(ref, 2)
    with pytest.raises(VaultForbidden):
        await inference_client.write(ref.path, {"api_key": "x"})


@pytest.fixture
def short_lived_role(root: hvac.Client, unique_id: str) -> Iterator[tuple[str, str, str]]:
    """An AppRole with the inference policy whose tokens live 3 s, renewable up to 7 s."""
    name = f"itest-renew-{unique_id}"
    root.auth.approle.create_or_update_approle(
        name, token_policies=["byok-inference"], token_ttl="3s", token_max_ttl="7s", mount_point="approle"
    )
    role_id = root.auth.approle.read_role_id(name, mount_point="approle")["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id(name, mount_point="approle")["data"]["secret_id"]
    yield name, role_id, secret_id
    root.auth.approle.delete_role(name, mount_point="approle")


async def test_approle_tokens_are_renewed_then_replaced_near_their_maximum_ttl(
    stack_env: dict[str, str], short_lived_role: tuple[str, str, str]
) -> None:
    _, role_id, secret_id = short_lived_role
    settings = VaultSettings(
        addr=stack_env["BYOK_VAULT_ADDR"], token=None, role_id=role_id, secret_id=SecretStr(secret_id)
    )
    async with VaultClient(settings) as client:
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:  # longer than the token's maximum TTL: every read must work
            assert await client.read(f"system/no-such-{uuid.uuid4().hex[:6]}") is None
            await asyncio.sleep(0.5)
        assert client.renewals >= 1
        assert client.logins >= 2


async def test_a_revoked_approle_token_is_replaced_by_one_login(
    stack_env: dict[str, str], root: hvac.Client, short_lived_role: tuple[str, str, str]
) -> None:
    name, role_id, secret_id = short_lived_role
    settings = VaultSettings(
        addr=stack_env["BYOK_VAULT_ADDR"], token=None, role_id=role_id, secret_id=SecretStr(secret_id)
    )
    async with VaultClient(settings) as client:
        assert await client.read("system/no-such-key") is None
        assert client.logins == 1
        for accessor in root.auth.token.list_accessors()["data"]["keys"]:
            with contextlib.suppress(hvac.exceptions.VaultError):  # expired meanwhile
                meta = root.auth.token.lookup_accessor(accessor)["data"].get("meta") or {}
                if meta.get("role_name") == name:
                    root.auth.token.revoke_accessor(accessor)
        assert await client.read("system/no-such-key") is None  # 403 -> one login -> the answer
        assert client.logins == 2


async def test_an_unreachable_or_silent_vault_is_unavailable_within_the_timeout() -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(30)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        for addr in (f"http://127.0.0.1:{port}", "http://127.0.0.1:9"):
            settings = VaultSettings(addr=addr, token=SecretStr("t"), timeout_seconds=0.5)
            async with VaultClient(settings) as client:
                started = time.monotonic()
                with pytest.raises(KeyStoreUnavailable) as caught:
                    await client.read("tenants/t/org/openai")
                assert time.monotonic() - started < 3
                assert "tenants" not in str(caught.value) and "t/org" not in str(caught.value)
                assert not await client.healthy()
    finally:
        server.close()

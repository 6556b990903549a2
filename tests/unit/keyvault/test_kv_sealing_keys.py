"""byok_core.sealing_keys with a hand-written in-memory KV (the real Vault is in the integration tests)."""

from __future__ import annotations

import hvac.exceptions
import pytest
from byok_core.sealing_keys import SealingKeyStore
from byok_core.vault import VaultForbidden
from byok_sealing import SealedKeyInvalid, generate_keypair, seal


class FakeKV:
    """KV v2 semantics that matter here: versions, check-and-set, and a policy on who reads private halves."""

    def __init__(self) -> None:
        self.data: dict[str, list[dict]] = {}
        self.reads = 0

    def view(self, *, can_read_private: bool) -> FakeVault:
        return FakeVault(self, can_read_private)


class FakeVault:
    def __init__(self, kv: FakeKV, can_read_private: bool) -> None:
        self.kv, self.can_read_private = kv, can_read_private

    def kv_read(self, path):
        if path.startswith("sealing/private/") and not self.can_read_private:
            raise VaultForbidden("permission denied by Vault policy")
        self.kv.reads += 1
        versions = self.kv.data.get(path)
        return None if not versions else (versions[-1], {"version": len(versions)})

    def kv_write(self, path, data, cas=None):
        versions = self.kv.data.setdefault(path, [])
        if path.startswith("sealing/private/") and versions:
            raise VaultForbidden("permission denied by Vault policy")  # create-only
        if cas is not None and cas != len(versions):
            raise hvac.exceptions.InvalidRequest("check-and-set parameter did not match the current version")
        versions.append(dict(data))
        return len(versions)

    def kv_list(self, path):
        prefix = path.rstrip("/") + "/"
        return sorted({p[len(prefix) :].split("/")[0] for p in self.kv.data if p.startswith(prefix)})


async def test_ensure_current_is_idempotent_and_rotation_keeps_old_keys_openable():
    kv = FakeKV()
    keyvault = SealingKeyStore(kv.view(can_read_private=False), public_cache_seconds=0)
    worker = SealingKeyStore(kv.view(can_read_private=True))
    first = await keyvault.ensure_current()
    assert (await keyvault.ensure_current()).kid == first.kid  # a second start does not rotate
    assert await keyvault.public_kids() == [first.kid]
    sealed = seal("sk-ant-secret-value-123456", public_key=first, tenant_id="t", request_id="r")
    assert await worker.open(sealed, tenant_id="t", request_id="r") == "sk-ant-secret-value-123456"

    second = await keyvault.rotate()
    assert second.kid != first.kid and (await keyvault.current_public()).kid == second.kid
    assert await keyvault.public_kids() == sorted([first.kid, second.kid])
    fresh_worker = SealingKeyStore(kv.view(can_read_private=True))
    assert await fresh_worker.open(sealed, tenant_id="t", request_id="r") == "sk-ant-secret-value-123456"
    with pytest.raises(SealedKeyInvalid):
        await fresh_worker.open(sealed, tenant_id="t2", request_id="r")


async def test_worker_caches_private_keys_and_unknown_kids():
    kv = FakeKV()
    public = await SealingKeyStore(kv.view(can_read_private=False)).ensure_current()
    worker = SealingKeyStore(kv.view(can_read_private=True))
    await worker.private_key(public.kid)
    reads = kv.reads
    await worker.private_key(public.kid)
    assert kv.reads == reads
    for _ in range(3):
        with pytest.raises(SealedKeyInvalid):
            await worker.private_key("no-such-kid")
    assert kv.reads == reads + 1  # the unknown kid is remembered for a while
    with pytest.raises(SealedKeyInvalid):
        await worker.private_key("../../tenants")


async def test_keyvault_side_cannot_read_private_halves():
    kv = FakeKV()
    keyvault = SealingKeyStore(kv.view(can_read_private=False))
    public = await keyvault.ensure_current()
    with pytest.raises(VaultForbidden):
        await keyvault.private_key(public.kid)


async def test_concurrent_first_start_keeps_one_current_pointer():
    kv = FakeKV()
    a = SealingKeyStore(kv.view(can_read_private=False), public_cache_seconds=0)
    b = SealingKeyStore(kv.view(can_read_private=False), public_cache_seconds=0)
    # b installs between a's read of the pointer and a's write: a's pointer write loses the check-and-set
    pair_kid_b = (await b.ensure_current()).kid
    a._install(generate_keypair(), 0)
    assert (await a.current_public()).kid == pair_kid_b
    assert len(kv.data["sealing/public/current"]) == 1

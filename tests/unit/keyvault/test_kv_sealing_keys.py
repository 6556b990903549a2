"""byok_core.sealing_keys with a hand-written in-memory KV (the real Vault is in the integration tests)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from byok_core.sealing_keys import SealingKeyStore
from byok_core.vault import KVEntry, KVWritten, VaultForbidden, VersionConflict
from byok_sealing import SealedKeyInvalid, generate_keypair, seal

AT = datetime.now(UTC)  # created_at of the requests these sealed keys belong to


@pytest.fixture(autouse=True)
def _fresh_created_at() -> None:
    """A session can reach these tests more than the sealed keys' maximum age (900 s) after importing them."""
    global AT
    AT = datetime.now(UTC)


class FakeKV:
    """KV v2 semantics that matter here: versions, check-and-set, and a policy on who reads private halves."""

    def __init__(self) -> None:
        self.data: dict[str, list[dict]] = {}
        self.reads = 0
        self.lists = 0

    def view(self, *, can_read_private: bool) -> FakeVault:
        return FakeVault(self, can_read_private)


class FakeVault:
    def __init__(self, kv: FakeKV, can_read_private: bool) -> None:
        self.kv, self.can_read_private = kv, can_read_private

    async def read(self, path):
        if path.startswith("sealing/private/") and not self.can_read_private:
            raise VaultForbidden("permission denied by Vault policy")
        self.kv.reads += 1
        versions = self.kv.data.get(path)
        return None if not versions else KVEntry(versions[-1], {"version": len(versions)})

    async def write(self, path, data, cas=None):
        versions = self.kv.data.setdefault(path, [])
        if path.startswith("sealing/private/") and versions:
            raise VaultForbidden("permission denied by Vault policy")  # create-only
        if cas is not None and cas != len(versions):
            raise VersionConflict("the secret changed meanwhile")
        versions.append(dict(data))
        return KVWritten(len(versions), "2026-11-30T00:00:00Z")

    async def list(self, path):
        self.kv.lists += 1
        prefix = path.rstrip("/") + "/"
        return sorted({p[len(prefix) :].split("/")[0] for p in self.kv.data if p.startswith(prefix)})


async def test_ensure_current_is_idempotent_and_rotation_keeps_old_keys_openable():
    kv = FakeKV()
    keyvault = SealingKeyStore(kv.view(can_read_private=False), public_cache_seconds=0)
    worker = SealingKeyStore(kv.view(can_read_private=True))
    first = await keyvault.ensure_current()
    assert (await keyvault.ensure_current()).kid == first.kid  # a second start does not rotate
    assert await keyvault.public_kids() == [first.kid]
    sealed = seal(
        "sk-ant-secret-value-123456",
        public_key=first,
        tenant_id="t",
        request_id="r",
        provider="anthropic",
        created_at=AT,
    )
    assert (
        await worker.open(sealed, tenant_id="t", request_id="r", provider="anthropic", created_at=AT)
        == "sk-ant-secret-value-123456"
    )

    second = await keyvault.rotate()
    assert second.kid != first.kid and (await keyvault.current_public()).kid == second.kid
    assert await keyvault.public_kids() == sorted([first.kid, second.kid])
    fresh_worker = SealingKeyStore(kv.view(can_read_private=True))
    assert (
        await fresh_worker.open(sealed, tenant_id="t", request_id="r", provider="anthropic", created_at=AT)
        == "sk-ant-secret-value-123456"
    )
    with pytest.raises(SealedKeyInvalid):
        await fresh_worker.open(sealed, tenant_id="t2", request_id="r", provider="anthropic", created_at=AT)


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
    assert kv.reads == reads  # an unpublished kid costs no read of a private half
    assert kv.lists <= 1  # and at most one look at the published list
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
    await a._install(generate_keypair(), 0)
    assert (await a.current_public()).kid == pair_kid_b
    assert len(kv.data["sealing/public/current"]) == 1


async def test_a_flood_of_made_up_kids_costs_no_reads_and_bounded_memory():
    kv = FakeKV()
    public = await SealingKeyStore(kv.view(can_read_private=False)).ensure_current()
    worker = SealingKeyStore(kv.view(can_read_private=True), list_refresh_seconds=60, unknown_cache_size=100)
    reads, lists = kv.reads, kv.lists
    for i in range(10_000):
        with pytest.raises(SealedKeyInvalid, match="unknown"):
            await worker.private_key(f"kid-{i}")
    assert kv.reads == reads and kv.lists - lists == 1
    assert worker.unknown_kids_remembered == 100
    assert len(await worker.private_key(public.kid)) == 32  # the published kid still opens


async def test_a_kid_published_after_the_list_was_read_is_found_after_the_refresh_interval():
    kv = FakeKV()
    keyvault = SealingKeyStore(kv.view(can_read_private=False), public_cache_seconds=0)
    first = await keyvault.ensure_current()
    worker = SealingKeyStore(kv.view(can_read_private=True), list_refresh_seconds=0)
    await worker.private_key(first.kid)
    second = await keyvault.rotate()
    assert len(await worker.private_key(second.kid)) == 32

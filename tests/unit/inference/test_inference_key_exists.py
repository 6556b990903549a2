"""Whether a stored key exists (metadata only), asked when a prompt has no user token: cached like reads."""

from __future__ import annotations

from byok_events import Provider
from byok_inference.adapters.key_cache import CachedKeyStore
from byok_inference.adapters.vault_keys import _exists_in
from fakes.inference import FakeKeyStore


async def test_existence_is_cached_and_evicted_by_key_events() -> None:
    inner = FakeKeyStore()
    inner.put("user", "t1", "u1", "openai", "user-openai-key")
    cache = CachedKeyStore(inner, ttl=60)
    assert await cache.exists("user", "t1", "u1", Provider.OPENAI)
    assert not await cache.exists("org", "t1", None, Provider.OPENAI)
    assert await cache.exists("user", "t1", "u1", Provider.OPENAI)
    assert inner.metadata_reads == 2 and inner.reads == 0, "asked once per place, the key itself never read"
    del inner.keys[("user", "t1", "u1", "openai")]
    cache.evict("t1", "u1", "user", "openai")  # a key.deleted event
    assert not await cache.exists("user", "t1", "u1", Provider.OPENAI)
    assert inner.metadata_reads == 3


async def test_a_cached_read_answers_existence() -> None:
    inner = FakeKeyStore()
    inner.put("org", "t1", None, "openai", "org-openai-key")
    cache = CachedKeyStore(inner, ttl=60)
    await cache.get("org", "t1", "u1", Provider.OPENAI)
    assert await cache.exists("org", "t1", "u1", Provider.OPENAI) and inner.metadata_reads == 0


def _metadata(current: int, *, deleted: bool = False, destroyed: bool = False, invalid: str | None = None):
    return {
        "current_version": current,
        "versions": {
            str(current): {"deletion_time": "2026-11-30T00:00:00Z" if deleted else "", "destroyed": destroyed}
        },
        "custom_metadata": {"invalid_version": invalid} if invalid else None,
    }


def test_what_metadata_says_about_a_usable_key() -> None:
    assert _exists_in(_metadata(2))
    assert not _exists_in(None) and not _exists_in({}) and not _exists_in({"current_version": 0})
    assert not _exists_in(_metadata(2, deleted=True)) and not _exists_in(_metadata(2, destroyed=True))
    assert not _exists_in(_metadata(2, invalid="2")), "the version a provider rejected counts as absent"
    assert _exists_in(_metadata(3, invalid="2")), "rotated since: usable again"

"""The sealing key pairs in Vault KV v2: written by the key-vault service, opened by the inference worker.

Layout (mount `byok`, see byok_core.vault.key_codec):
    sealing/private/<kid>   {"kid", "alg", "private_key"}   create-only for key-vault; read by the worker only
    sealing/public/<kid>    {"kid", "alg", "format", "public_key", "created_at"}
    sealing/public/current  {"kid"}                          the key producers seal to
Rotation writes a new pair and moves `current`; old private halves are kept, so keys sealed to an earlier
kid while in flight still open. The private half never leaves Vault and the worker's memory.

A kid the worker does not hold is first looked up in the published list (one LIST, refreshed at most every
`list_refresh_seconds`), and only a published kid costs a read of its private half; unpublished kids are
remembered in a small bounded cache, so a flood of made-up kids costs neither Vault reads nor memory.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import OrderedDict
from datetime import UTC, datetime

from byok_sealing import (
    ALGORITHM,
    DEFAULT_MAX_AGE_SECONDS,
    VERSION,
    PublicSealingKey,
    SealedKeyInvalid,
    SealingKeyPair,
    check_age,
    generate_keypair,
    open_sealed,
    sealed_kid,
)

from .vault import VaultClient, VersionConflict
from .vault.key_codec import (
    SEALING_CURRENT_NAME,
    SEALING_CURRENT_PATH,
    SEALING_PUBLIC_PREFIX,
    sealing_private_path,
    sealing_public_path,
)

UNKNOWN_KID_TTL_SECONDS = 30.0
UNKNOWN_KID_CACHE_SIZE = 1024


class SealingKeyStore:
    """Key-vault side: ensure_current, rotate, current_public, public_kids. Worker side: private_key, open."""

    def __init__(
        self,
        vault: VaultClient,
        *,
        public_cache_seconds: float = 10.0,
        list_refresh_seconds: float = 2.0,
        unknown_cache_size: int = UNKNOWN_KID_CACHE_SIZE,
    ) -> None:
        self._vault = vault
        self._public_cache_seconds = public_cache_seconds
        self._list_refresh_seconds = list_refresh_seconds
        self._current: tuple[float, PublicSealingKey] | None = None
        self._private: dict[str, bytes] = {}
        self._published: tuple[float, frozenset[str]] = (float("-inf"), frozenset())
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._unknown_max = unknown_cache_size
        self._lock = asyncio.Lock()
        self._list_lock = asyncio.Lock()

    # key-vault service side ------------------------------------------------------------------------

    async def ensure_current(self) -> PublicSealingKey:
        """The current public key; on first use (no pointer yet) generate and publish a pair."""
        async with self._lock:
            if await self._vault.read(SEALING_CURRENT_PATH) is None:
                await self._install(generate_keypair(), 0)
            self._current = None
        return await self.current_public()

    async def rotate(self) -> PublicSealingKey:
        """A new pair becomes current; earlier private halves stay, so sealed keys in flight still open."""
        async with self._lock:
            pointer = await self._vault.read(SEALING_CURRENT_PATH)
            version = int(pointer.metadata["version"]) if pointer is not None else 0
            await self._install(generate_keypair(), version)
            self._current = None
        return await self.current_public()

    async def current_public(self) -> PublicSealingKey:
        cached = self._current
        if cached is not None and time.monotonic() - cached[0] < self._public_cache_seconds:
            return cached[1]
        pointer = await self._vault.read(SEALING_CURRENT_PATH)
        if pointer is None:
            raise LookupError("no sealing key yet: the key-vault service creates it at start-up")
        public = await self.public(str(pointer.data["kid"]))
        self._current = (time.monotonic(), public)
        return public

    async def public(self, kid: str) -> PublicSealingKey:
        found = await self._vault.read(sealing_public_path(kid))
        if found is None:
            raise LookupError("unknown sealing key id")
        return PublicSealingKey.from_json(found.data)

    async def public_kids(self) -> list[str]:
        names = await self._vault.list(SEALING_PUBLIC_PREFIX)
        return sorted(n for n in names if not n.endswith("/") and n != SEALING_CURRENT_NAME)

    async def _install(self, pair: SealingKeyPair, pointer_version: int) -> None:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        await self._vault.write(
            sealing_private_path(pair.kid),
            {"kid": pair.kid, "alg": ALGORITHM, "private_key": _b64(pair.private_key), "created_at": now},
            cas=0,
        )
        await self._vault.write(sealing_public_path(pair.kid), {**pair.public.to_json(), "created_at": now}, cas=0)
        try:
            await self._vault.write(SEALING_CURRENT_PATH, {"kid": pair.kid, "format": VERSION}, cas=pointer_version)
        except VersionConflict:
            pass  # another instance moved the pointer first: its key is current; ours stays valid but unused

    # inference worker side -------------------------------------------------------------------------

    async def private_key(self, kid: str) -> bytes:
        """The private half of `kid` (cached in memory); SealedKeyInvalid when no such kid is published."""
        cached = self._private.get(kid)
        if cached is not None:
            return cached
        try:
            path = sealing_private_path(kid)
        except ValueError:
            raise SealedKeyInvalid("sealed key is malformed") from None
        if self._remembered_unknown(kid) or kid not in await self._published_kids(kid):
            self._remember_unknown(kid)
            raise SealedKeyInvalid("unknown sealing key id")
        found = await self._vault.read(path)
        if found is None:
            self._remember_unknown(kid)
            raise SealedKeyInvalid("unknown sealing key id")
        raw = _unb64(str(found.data["private_key"]))
        self._private[kid] = raw
        return raw

    async def open(
        self,
        sealed: str,
        *,
        tenant_id: str,
        request_id: str,
        provider: str,
        created_at: datetime | None,
        max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    ) -> str:
        """Open a sealed provider key bound to this tenant, request, provider slot and created_at. Raises
        SealedKeyInvalid (and KeyStoreUnavailable when Vault cannot be asked: key_store_unavailable)."""
        kid = sealed_kid(sealed)
        if created_at is None:
            raise SealedKeyInvalid("a request with sealed keys needs its created_at")
        check_age(created_at, max_age_seconds=max_age_seconds)  # before any Vault read
        private = await self.private_key(kid)
        return open_sealed(
            sealed,
            private_keys={kid: private},
            tenant_id=tenant_id,
            request_id=request_id,
            provider=provider,
            created_at=created_at,
            max_age_seconds=max_age_seconds,
        )

    async def _published_kids(self, wanted: str) -> frozenset[str]:
        fetched_at, kids = self._published
        if wanted in kids or time.monotonic() - fetched_at < self._list_refresh_seconds:
            return kids
        async with self._list_lock:  # concurrent misses share one LIST
            fetched_at, kids = self._published
            if wanted in kids or time.monotonic() - fetched_at < self._list_refresh_seconds:
                return kids
            kids = frozenset(await self.public_kids())
            self._published = (time.monotonic(), kids)
            return kids

    def _remembered_unknown(self, kid: str) -> bool:
        since = self._unknown.get(kid)
        if since is None:
            return False
        if time.monotonic() - since < UNKNOWN_KID_TTL_SECONDS:
            return True
        del self._unknown[kid]
        return False

    def _remember_unknown(self, kid: str) -> None:
        self._unknown[kid] = time.monotonic()
        self._unknown.move_to_end(kid)
        while len(self._unknown) > self._unknown_max:
            self._unknown.popitem(last=False)

    @property
    def unknown_kids_remembered(self) -> int:
        return len(self._unknown)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

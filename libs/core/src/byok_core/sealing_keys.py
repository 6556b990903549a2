"""The sealing key pairs in Vault KV v2: written by the key-vault service, opened by the inference worker.

Layout (mount `byok`, see key_paths):
    sealing/private/<kid>   {"kid", "alg", "private_key"}   create-only for key-vault; read by the worker only
    sealing/public/<kid>    {"kid", "alg", "format", "public_key", "created_at"}
    sealing/public/current  {"kid"}                          the key producers seal to
Rotation writes a new pair and moves `current`; old private halves are kept, so keys sealed to an earlier
kid while in flight still open. The private half never leaves Vault and the worker's memory.
"""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import UTC, datetime

import hvac.exceptions

from .key_paths import SEALING_CURRENT_PATH, SEALING_PUBLIC_PREFIX, sealing_private_path, sealing_public_path
from .sealing import (
    ALGORITHM,
    VERSION,
    PublicSealingKey,
    SealedKeyInvalid,
    SealingKeyPair,
    generate_keypair,
    open_sealed,
    sealed_kid,
)
from .vault import VaultClient

_UNKNOWN_KID_TTL_SECONDS = 30.0


class SealingKeyStore:
    """Key-vault side: ensure_current, rotate, current_public, public_kids. Worker side: private_key, open."""

    def __init__(self, vault: VaultClient, *, public_cache_seconds: float = 10.0) -> None:
        self._vault = vault
        self._public_cache_seconds = public_cache_seconds
        self._current: tuple[float, PublicSealingKey] | None = None
        self._private: dict[str, bytes] = {}
        self._unknown: dict[str, float] = {}
        self._lock = asyncio.Lock()

    # key-vault service side ------------------------------------------------------------------------

    async def ensure_current(self) -> PublicSealingKey:
        """The current public key; on first use (no pointer yet) generate and publish a pair."""
        async with self._lock:
            pointer = await asyncio.to_thread(self._vault.kv_read, SEALING_CURRENT_PATH)
            if pointer is None:
                await asyncio.to_thread(self._install, generate_keypair(), 0)
            self._current = None
        return await self.current_public()

    async def rotate(self) -> PublicSealingKey:
        """A new pair becomes current; earlier private halves stay, so sealed keys in flight still open."""
        async with self._lock:
            pointer = await asyncio.to_thread(self._vault.kv_read, SEALING_CURRENT_PATH)
            version = int(pointer[1]["version"]) if pointer is not None else 0
            pair = generate_keypair()
            await asyncio.to_thread(self._install, pair, version)
            self._current = None
        return await self.current_public()

    async def current_public(self) -> PublicSealingKey:
        cached = self._current
        if cached is not None and time.monotonic() - cached[0] < self._public_cache_seconds:
            return cached[1]
        pointer = await asyncio.to_thread(self._vault.kv_read, SEALING_CURRENT_PATH)
        if pointer is None:
            raise LookupError("no sealing key yet: the key-vault service creates it at start-up")
        public = await self.public(str(pointer[0]["kid"]))
        self._current = (time.monotonic(), public)
        return public

    async def public(self, kid: str) -> PublicSealingKey:
        found = await asyncio.to_thread(self._vault.kv_read, sealing_public_path(kid))
        if found is None:
            raise LookupError("unknown sealing key id")
        return PublicSealingKey.from_json(found[0])

    async def public_kids(self) -> list[str]:
        names = await asyncio.to_thread(self._vault.kv_list, SEALING_PUBLIC_PREFIX)
        return sorted(n for n in names if not n.endswith("/") and n != SEALING_CURRENT_PATH.rsplit("/", 1)[1])

    def _install(self, pair: SealingKeyPair, pointer_version: int) -> None:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        self._vault.kv_write(
            sealing_private_path(pair.kid),
            {"kid": pair.kid, "alg": ALGORITHM, "private_key": _b64(pair.private_key), "created_at": now},
            cas=0,
        )
        self._vault.kv_write(sealing_public_path(pair.kid), {**pair.public.to_json(), "created_at": now}, cas=0)
        try:
            self._vault.kv_write(SEALING_CURRENT_PATH, {"kid": pair.kid, "format": VERSION}, cas=pointer_version)
        except hvac.exceptions.InvalidRequest:
            # another instance moved the pointer first: its key is current; ours stays valid but unused
            pass

    # inference worker side -------------------------------------------------------------------------

    async def private_key(self, kid: str) -> bytes:
        """The private half of `kid` (cached in memory); SealedKeyInvalid when Vault has no such kid."""
        cached = self._private.get(kid)
        if cached is not None:
            return cached
        unknown_since = self._unknown.get(kid)
        if unknown_since is not None and time.monotonic() - unknown_since < _UNKNOWN_KID_TTL_SECONDS:
            raise SealedKeyInvalid("unknown sealing key id")
        try:
            path = sealing_private_path(kid)
        except ValueError:
            raise SealedKeyInvalid("sealed key is malformed") from None
        found = await asyncio.to_thread(self._vault.kv_read, path)
        if found is None:
            self._unknown[kid] = time.monotonic()
            raise SealedKeyInvalid("unknown sealing key id")
        raw = _unb64(str(found[0]["private_key"]))
        self._private[kid] = raw
        return raw

    async def open(self, sealed: str, *, tenant_id: str, request_id: str) -> str:
        """Open a sealed provider key bound to this tenant and request. Raises SealedKeyInvalid
        (and VaultError when Vault cannot be asked: the caller answers key_store_unavailable)."""
        kid = sealed_kid(sealed)
        private = await self.private_key(kid)
        return open_sealed(sealed, private_keys={kid: private}, tenant_id=tenant_id, request_id=request_id)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

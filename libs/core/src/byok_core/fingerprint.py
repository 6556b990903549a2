"""Key fingerprints: a few visible characters and a short keyed hash, never enough to use or match the key.

`sk-p…9xQ2#3fa1c0`: the first and last 4 characters and 6 hex of HMAC-SHA256(secret, key). The secret is
kept in Vault KV (`fingerprint/hmac-key`, created once by the key-vault service when missing) and cached in
memory, so someone holding a leaked key cannot hash it and find its tenant on byok.keys.events; both
services compute the same fingerprint for the same key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
from datetime import UTC, datetime

from .vault import VaultClient, VaultForbidden, VersionConflict
from .vault.key_codec import FINGERPRINT_SECRET_PATH

SECRET_BYTES = 32


class Fingerprints:
    """Callable: `fingerprints(api_key)` once loaded (`await load()`), or `await fingerprints.of(api_key)`."""

    def __init__(self, vault: VaultClient | None = None, *, create: bool = False, secret: bytes | None = None):
        if secret is not None and len(secret) < SECRET_BYTES:
            raise ValueError("the fingerprint secret must be at least 32 bytes")
        self._vault = vault
        self._create = create
        self._secret = secret
        self._lock = asyncio.Lock()

    @classmethod
    def ephemeral(cls) -> Fingerprints:
        """A random secret of this process only (no Vault: tests, and the keyless env mode)."""
        return cls(secret=os.urandom(SECRET_BYTES))

    @property
    def loaded(self) -> bool:
        return self._secret is not None

    async def load(self) -> None:
        """Read the secret from Vault (creating it when missing and allowed); byok_core.vault errors propagate."""
        if self._secret is not None:
            return
        async with self._lock:
            if self._secret is None:
                if self._vault is None:
                    raise RuntimeError("no Vault to load the fingerprint secret from")
                self._secret = await load_secret(self._vault, create=self._create)

    async def of(self, api_key: str) -> str:
        await self.load()
        return self(api_key)

    def __call__(self, api_key: str) -> str:
        if self._secret is None:
            raise RuntimeError("the fingerprint secret is not loaded yet")
        digest = hmac.new(self._secret, api_key.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:6]
        if len(api_key) < 16:
            return f"…#{digest}"
        return f"{api_key[:4]}…{api_key[-4:]}#{digest}"


async def load_secret(vault: VaultClient, *, create: bool, path: str = FINGERPRINT_SECRET_PATH) -> bytes:
    """The HMAC secret in Vault; with `create`, written once (check-and-set 0) when missing, so concurrent
    first starts agree on one secret."""
    found = await vault.read(path)
    if found is None:
        if not create:
            raise LookupError("no fingerprint secret in Vault yet: the key-vault service creates it at start-up")
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        secret = base64.b64encode(os.urandom(SECRET_BYTES)).decode()
        refused: VaultForbidden | None = None
        try:
            await vault.write(path, {"key": secret, "alg": "HMAC-SHA256", "created_at": now}, cas=0)
        except VersionConflict:
            pass  # another instance created it first: read theirs
        except VaultForbidden as exc:  # a create-only policy answers 403, not a conflict, when it exists
            refused = exc
        found = await vault.read(path)
        if found is None:
            raise refused or LookupError("the fingerprint secret could not be read back")
    raw = base64.b64decode(str(found.data["key"]))
    if len(raw) < SECRET_BYTES:
        raise ValueError("the fingerprint secret in Vault is too short")
    return raw

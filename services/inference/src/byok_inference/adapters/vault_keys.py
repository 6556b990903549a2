"""KeyStore over Vault KV v2 (byok_core.vault.key_codec), with BYOK_SYSTEM_*_API_KEY as a system fallback.

The key-vault service writes the secrets and marks a version a provider rejected (the codec's invalid
mark; a rotation makes the new version active again). An invalid key counts as absent: resolution moves to
the next source, as if the key had been deleted; the user learnt of the rejection from the invalid_user_key
answer before. System keys: Vault system/<provider> first (the key-vault service loads BYOK_SYSTEM_* there);
when Vault has none, the worker's own BYOK_SYSTEM_<P>_API_KEY is used, so a simple deployment needs no
Vault write.
"""

from __future__ import annotations

from typing import Any

from byok_core.settings import SystemKeys
from byok_core.vault import KeyStoreUnavailable, KVEntry, VaultClient, VaultError
from byok_core.vault import key_codec as codec
from byok_events import Provider

from ..ports import Scope, StoredKey


class VaultKeyReader:
    """The worker's read-only view of the stored keys (the key-vault service's VaultKeyStore writes them)."""

    def __init__(self, vault: VaultClient, system_keys: SystemKeys | None = None) -> None:
        self._vault = vault
        self._env_system = {p: v.get_secret_value() for p, v in (system_keys or SystemKeys()).present().items()}

    async def exists(self, scope: Scope, tenant_id: str, user_id: str | None, provider: Provider) -> bool:
        """From the secret's metadata (never the key): a current version neither deleted nor marked invalid."""
        if scope == "user" and not user_id:
            return False
        try:
            path = codec.key_path(scope, tenant_id, user_id, provider.value)
        except ValueError:
            return False
        try:
            metadata = await self._vault.metadata(path)
        except KeyStoreUnavailable:
            raise
        except VaultError as exc:
            raise KeyStoreUnavailable(type(exc).__name__) from None
        return _exists_in(metadata)

    async def get(self, scope: Scope, tenant_id: str, user_id: str | None, provider: Provider) -> StoredKey | None:
        if scope == "user" and not user_id:
            return None
        try:
            path = codec.key_path(scope, tenant_id, user_id, provider.value)
        except ValueError:
            return None  # an id no path can hold (empty, over-long, not Unicode text) holds no key
        try:
            found = await self._vault.read(path)
        except KeyStoreUnavailable:
            raise  # the handler retries, then answers key_store_unavailable
        except VaultError as exc:  # a policy refusal: nothing can be read, which is not "no key"
            raise KeyStoreUnavailable(type(exc).__name__) from None
        key = usable(found)
        if key is None and scope == "system" and provider.value in self._env_system:
            return StoredKey(self._env_system[provider.value])
        return key

    async def aclose(self) -> None:
        await self._vault.aclose()


def _exists_in(metadata: dict[str, Any] | None) -> bool:
    """A current version that is neither deleted, destroyed, nor the version marked invalid."""
    if not metadata or not metadata.get("current_version"):
        return False
    current = str(metadata["current_version"])
    version = (metadata.get("versions") or {}).get(current) or {}
    if version.get("destroyed") or version.get("deletion_time"):
        return False
    custom = metadata.get("custom_metadata") or {}
    return bool(custom.get(codec.INVALID_VERSION) != current)


def usable(found: KVEntry | None) -> StoredKey | None:
    secret = codec.decode(found)
    if secret is None or secret.invalid:
        return None
    return StoredKey(secret.api_key, version=secret.version)

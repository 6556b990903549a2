"""KeyStore over Vault KV v2 (byok_core.key_paths layout), with BYOK_SYSTEM_*_API_KEY as a system fallback.

A secret is {"api_key": ..., "status": "active" | "invalid", ...}. A key the provider rejected is marked by
the key-vault service in the secret's custom_metadata (`invalid_version` = the rejected KV version; a
rotation makes the new version active again). An invalid key counts as absent: resolution moves to the next source,
as if the key had been deleted; the user learnt of the rejection from the invalid_user_key answer before.
System keys: Vault system/<provider> first (the key-vault service loads BYOK_SYSTEM_* there); when Vault
has none, the worker's own BYOK_SYSTEM_<P>_API_KEY is used, so a simple deployment needs no Vault write.
"""

from __future__ import annotations

import asyncio
from typing import Any

from byok_core.key_paths import org_key_path, system_key_path, user_key_path
from byok_core.settings import SystemKeys
from byok_core.vault import VaultClient, VaultError
from byok_events import Provider

from ..ports import KeyStoreUnavailable, Scope, StoredKey


class VaultKeyStore:
    def __init__(self, vault: VaultClient, system_keys: SystemKeys | None = None) -> None:
        self._vault = vault
        self._env_system = {p: v.get_secret_value() for p, v in (system_keys or SystemKeys()).present().items()}

    async def exists(self, scope: Scope, tenant_id: str, user_id: str | None, provider: Provider) -> bool:
        """From the secret's metadata: a current version that is neither deleted nor marked invalid."""
        try:
            path = _path(scope, tenant_id, user_id, provider)
        except ValueError:
            return False
        if path is None:
            return False
        try:
            metadata = await asyncio.to_thread(self._vault.kv_metadata, path)
        except VaultError as exc:
            raise KeyStoreUnavailable(type(exc).__name__) from None
        return _exists_in(metadata)

    async def get(self, scope: Scope, tenant_id: str, user_id: str | None, provider: Provider) -> StoredKey | None:
        try:
            if scope == "user":
                if not user_id:
                    return None
                path = user_key_path(tenant_id, user_id, provider.value)
            elif scope == "org":
                path = org_key_path(tenant_id, provider.value)
            else:
                path = system_key_path(provider.value)
        except ValueError:
            return None  # ids that cannot name a Vault path hold no key
        try:
            found = await asyncio.to_thread(self._vault.kv_read, path)
        except VaultError as exc:
            raise KeyStoreUnavailable(type(exc).__name__) from None
        key = _usable(found)
        if key is None and scope == "system" and provider.value in self._env_system:
            return StoredKey(self._env_system[provider.value])
        return key


def _exists_in(metadata: dict[str, Any] | None) -> bool:
    """A current version that is neither deleted, destroyed, nor the version marked invalid."""
    if not metadata or not metadata.get("current_version"):
        return False
    current = str(metadata["current_version"])
    version = (metadata.get("versions") or {}).get(current) or {}
    if version.get("destroyed") or version.get("deletion_time"):
        return False
    custom = metadata.get("custom_metadata") or {}
    return bool(custom.get("invalid_version") != current)


def _path(scope: Scope, tenant_id: str, user_id: str | None, provider: Provider) -> str | None:
    if scope == "user":
        return user_key_path(tenant_id, user_id, provider.value) if user_id else None
    if scope == "org":
        return org_key_path(tenant_id, provider.value)
    return system_key_path(provider.value)


def _usable(found: tuple[dict[str, Any], dict[str, Any]] | None) -> StoredKey | None:
    if found is None:
        return None
    data, metadata = found
    api_key = data.get("api_key")
    if not isinstance(api_key, str) or not api_key or data.get("status", "active") == "invalid":
        return None
    custom = metadata.get("custom_metadata") or {}
    if custom.get("invalid_version") is not None and custom.get("invalid_version") == str(metadata.get("version")):
        return None
    return StoredKey(api_key, version=metadata.get("version"))

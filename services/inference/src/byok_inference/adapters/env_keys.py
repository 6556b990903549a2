"""KeyStore and SealedKeyOpener for a deployment without Vault (BYOK_INFERENCE_KEY_STORE=env).

Only the platform's system keys exist (BYOK_SYSTEM_<P>_API_KEY); there are no stored user or org keys,
and sealed keys cannot be opened (no private sealing key): key_store_unavailable. For the keyless demo
and benchmarks; production uses Vault.
"""

from __future__ import annotations

from byok_core.settings import SystemKeys
from byok_events import Provider

from ..ports import KeyStoreUnavailable, Scope, StoredKey


class EnvKeyStore:
    def __init__(self, system_keys: SystemKeys) -> None:
        self._keys = {p: v.get_secret_value() for p, v in system_keys.present().items()}

    async def exists(self, scope: Scope, tenant_id: str, user_id: str | None, provider: Provider) -> bool:
        return scope == "system" and bool(self._keys.get(provider.value))

    async def get(self, scope: Scope, tenant_id: str, user_id: str | None, provider: Provider) -> StoredKey | None:
        if scope != "system":
            return None
        key = self._keys.get(provider.value)
        return StoredKey(key) if key else None


class NoSealedKeys:
    async def open(self, sealed: str, *, tenant_id: str, request_id: str) -> str:
        raise KeyStoreUnavailable("no sealing keys without Vault")

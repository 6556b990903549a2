"""SealedKeyOpener over byok_core.sealing_keys.SealingKeyStore (private halves read from Vault, cached).

Vault failures reach the handler as byok_core.vault.KeyStoreUnavailable (retried, then
key_store_unavailable); a policy refusal is one too, as the worker cannot open anything without it.
"""

from __future__ import annotations

from byok_core.sealing_keys import SealingKeyStore
from byok_core.vault import KeyStoreUnavailable, VaultError


class VaultSealedKeyOpener:
    def __init__(self, store: SealingKeyStore) -> None:
        self._store = store

    async def open(self, sealed: str, *, tenant_id: str, request_id: str) -> str:
        try:
            return await self._store.open(sealed, tenant_id=tenant_id, request_id=request_id)
        except KeyStoreUnavailable:
            raise
        except VaultError as exc:
            raise KeyStoreUnavailable(type(exc).__name__) from None

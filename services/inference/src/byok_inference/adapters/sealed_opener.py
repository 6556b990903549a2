"""SealedKeyOpener over byok_core.sealing_keys.SealingKeyStore (private halves read from Vault, cached).

Vault failures reach the handler as byok_core.vault.KeyStoreUnavailable (retried, then
key_store_unavailable); a policy refusal is one too, as the worker cannot open anything without it.
"""

from __future__ import annotations

from datetime import datetime

from byok_core.sealing_keys import SealingKeyStore
from byok_core.vault import KeyStoreUnavailable, VaultError
from byok_sealing import DEFAULT_MAX_AGE_SECONDS


class VaultSealedKeyOpener:
    def __init__(self, store: SealingKeyStore, *, max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS) -> None:
        self._store = store
        self._max_age = max_age_seconds

    async def open(
        self, sealed: str, *, tenant_id: str, request_id: str, provider: str, created_at: datetime | None
    ) -> str:
        try:
            return await self._store.open(
                sealed,
                tenant_id=tenant_id,
                request_id=request_id,
                provider=provider,
                created_at=created_at,
                max_age_seconds=self._max_age,
            )
        except KeyStoreUnavailable:
            raise
        except VaultError as exc:
            raise KeyStoreUnavailable(type(exc).__name__) from None

"""KeyStore over Vault KV v2: one secret per (tenant, scope, user, provider), laid out and read back by
byok_core.vault.key_codec (the inference worker reads the same secrets through the same codec)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from byok_core.vault import VaultClient
from byok_core.vault import key_codec as codec
from byok_events import Provider

from ..domain.models import KeyMetadata, KeyRef, KeyStatus, Scope

_PROVIDERS = {p.value: p for p in Provider}


class VaultKeyStore:
    """The key-vault service's read-write store. Vault failures surface as byok_core.vault errors
    (KeyStoreUnavailable, VersionConflict, VaultForbidden), which the ports re-export."""

    def __init__(self, vault: VaultClient) -> None:
        self._vault = vault

    async def aclose(self) -> None:
        await self._vault.aclose()

    async def get(self, ref: KeyRef) -> KeyMetadata | None:
        found = codec.decode(await self._vault.read(ref.path))
        return None if found is None else _metadata(ref, found)

    async def list(self, tenant_id: str, scope: Scope, user_id: str | None) -> list[KeyMetadata]:
        names = await self._vault.list(codec.keys_folder(scope.value, tenant_id, user_id))
        refs = [
            KeyRef(tenant_id=tenant_id, scope=scope, provider=_PROVIDERS[name], user_id=user_id)
            for name in names
            if name in _PROVIDERS
        ]
        found = await asyncio.gather(*(self.get(ref) for ref in refs))
        return [meta for meta in found if meta is not None]

    async def put(
        self, ref: KeyRef, api_key: str, *, fingerprint: str, expected_version: int, created_at: str
    ) -> KeyMetadata:
        data = codec.secret_data(api_key, fingerprint=fingerprint, created_at=created_at)
        written = await self._vault.write(ref.path, data, cas=expected_version)
        return KeyMetadata(
            ref=ref,
            fingerprint=fingerprint,
            version=written.version,
            created_at=codec.parse_time(created_at),
            updated_at=codec.parse_time(written.created_time),
            status=KeyStatus.ACTIVE,
        )

    async def destroy(self, ref: KeyRef) -> None:
        await self._vault.destroy(ref.path)

    async def mark_invalid(self, ref: KeyRef, version: int) -> bool:
        meta = await self._vault.metadata(ref.path)
        if meta is None:
            return False
        custom = codec.invalid_mark(meta, version)
        if custom is not None:
            await self._vault.set_custom_metadata(ref.path, custom)
        return True

    async def put_system(self, provider: Provider, api_key: str, *, fingerprint: str) -> bool:
        path = codec.system_key_path(provider.value)
        current = codec.decode(await self._vault.read(path))
        if current is not None and current.fingerprint == fingerprint:
            return False
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        await self._vault.write(path, codec.secret_data(api_key, fingerprint=fingerprint, created_at=now))
        return True

    async def healthy(self) -> bool:
        return await self._vault.healthy()


def _metadata(ref: KeyRef, found: codec.StoredSecret) -> KeyMetadata:
    return KeyMetadata(
        ref=ref,
        fingerprint=found.fingerprint,
        version=found.version,
        created_at=found.created_at,
        updated_at=found.updated_at,
        status=KeyStatus.INVALID if found.invalid else KeyStatus.ACTIVE,
    )

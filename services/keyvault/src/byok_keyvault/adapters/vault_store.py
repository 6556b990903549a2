"""KeyStore over Vault KV v2 (mount `byok`), one secret per (tenant, scope, user, provider).

Secret data: {"api_key", "fingerprint", "status", "created_at"} (created_at carried across rotations).
Versions are KV versions. key.invalid is recorded in the secret's custom_metadata as `invalid_version`,
so it never creates a version, and a rotated (newer) version is automatically active again.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import hvac
import hvac.exceptions
from byok_core.key_paths import system_key_path
from byok_core.vault import VaultClient, VaultUnavailable
from byok_events import Provider

from ..domain.models import KeyMetadata, KeyRef, KeyStatus, Scope
from ..ports import KeyStoreUnavailable
from .vault_http import AsyncKV

_PROVIDERS = {p.value: p for p in Provider}


class VaultKeyStore:
    """Reads, lists and check-and-set writes go through AsyncKV (aiohttp); the rare calls through hvac."""

    def __init__(self, client: VaultClient, kv: AsyncKV) -> None:
        self._client = client
        self._kv = kv

    async def aclose(self) -> None:
        await self._kv.aclose()

    async def _call(self, operation: Any) -> Any:
        try:
            return await self._client.acall(operation)
        except VaultUnavailable:
            raise KeyStoreUnavailable("key store unavailable") from None

    async def get(self, ref: KeyRef) -> KeyMetadata | None:
        try:
            found = await self._kv.read(ref.path)
        except VaultUnavailable:
            raise KeyStoreUnavailable("key store unavailable") from None
        return None if found is None else _metadata(ref, found[0], found[1])

    async def list(self, tenant_id: str, scope: Scope, user_id: str | None) -> list[KeyMetadata]:
        probe = KeyRef(tenant_id=tenant_id, scope=scope, provider=Provider.OPENAI, user_id=user_id)
        folder = probe.path.rsplit("/", 1)[0]
        try:
            names = await self._kv.list(folder)
        except VaultUnavailable:
            raise KeyStoreUnavailable("key store unavailable") from None
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
        data = {
            "api_key": api_key,
            "fingerprint": fingerprint,
            "status": KeyStatus.ACTIVE.value,
            "created_at": created_at,
        }
        try:
            answer = await self._kv.write(ref.path, data, cas=expected_version)
        except VaultUnavailable:
            raise KeyStoreUnavailable("key store unavailable") from None
        written = _parse_time(answer["created_time"])
        return KeyMetadata(
            ref=ref,
            fingerprint=fingerprint,
            version=int(answer["version"]),
            created_at=_parse_time(created_at),
            updated_at=written,
            status=KeyStatus.ACTIVE,
        )

    async def destroy(self, ref: KeyRef) -> None:
        path = ref.path
        try:
            await asyncio.to_thread(self._client.kv_destroy, path)
        except VaultUnavailable:
            raise KeyStoreUnavailable("key store unavailable") from None

    async def mark_invalid(self, ref: KeyRef, version: int) -> bool:
        path, mount = ref.path, self._client.kv_mount

        def mark(client: hvac.Client) -> bool:
            try:
                meta = client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=mount)["data"]
            except hvac.exceptions.InvalidPath:
                return False
            custom = dict(meta.get("custom_metadata") or {})
            if int(custom.get("invalid_version", "0")) >= version or version > int(meta["current_version"]):
                return True  # already marked, or a version that never existed: nothing to do
            custom["invalid_version"] = str(version)
            client.secrets.kv.v2.update_metadata(path=path, mount_point=mount, custom_metadata=custom)
            return True

        return bool(await self._call(mark))

    async def put_system(self, provider: Provider, api_key: str, *, fingerprint: str) -> bool:
        path = system_key_path(provider.value)
        current = await asyncio.to_thread(self._client.kv_read, path)
        if current is not None and current[0].get("fingerprint") == fingerprint:
            return False
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        await asyncio.to_thread(
            self._client.kv_write,
            path,
            {"api_key": api_key, "fingerprint": fingerprint, "status": "active", "created_at": now},
        )
        return True

    async def healthy(self) -> bool:
        return await asyncio.to_thread(self._client.is_healthy)


def _metadata(ref: KeyRef, data: dict[str, Any], meta: dict[str, Any]) -> KeyMetadata:
    version = int(meta["version"])
    updated_at = _parse_time(meta["created_time"])
    custom = meta.get("custom_metadata") or {}
    invalid = data.get("status") == KeyStatus.INVALID.value or custom.get("invalid_version") == str(version)
    return KeyMetadata(
        ref=ref,
        fingerprint=str(data.get("fingerprint", "")),
        version=version,
        created_at=_parse_time(data["created_at"]) if data.get("created_at") else updated_at,
        updated_at=updated_at,
        status=KeyStatus.INVALID if invalid else KeyStatus.ACTIVE,
    )


def _parse_time(value: str) -> datetime:
    """Vault's RFC 3339 times carry nanoseconds; keep microseconds."""
    text = value.replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    return datetime.fromisoformat(text).astimezone(UTC)

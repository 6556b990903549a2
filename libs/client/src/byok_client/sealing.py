"""Request keys sealed to the inference worker: the client's one call site of the sealing library.

The public sealing key is fetched from the key-vault service (GET /api/sealing-key) and cached for
`ttl` seconds, so a long-lived client follows a rotation without asking on every request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import datetime

import aiohttp
from byok_core.sealing import PublicSealingKey, seal

from .errors import SealingKeyUnavailable

__all__ = ["PublicSealingKey", "SealingKeyCache", "fetch_sealing_key"]


async def fetch_sealing_key(keyvault_url: str, *, timeout: float = 10.0) -> PublicSealingKey:  # noqa: ASYNC109
    """The current public sealing key, from the key-vault service's GET /api/sealing-key."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(f"{keyvault_url.rstrip('/')}/api/sealing-key") as answer,
        ):
            answer.raise_for_status()
            return PublicSealingKey.from_json(await answer.json())
    except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
        raise SealingKeyUnavailable(f"cannot fetch the sealing key from {keyvault_url}: {type(exc).__name__}") from None


class SealingKeyCache:
    def __init__(self, keyvault_url: str | None, *, ttl: float = 600.0, key: PublicSealingKey | None = None) -> None:
        self._url = keyvault_url
        self._ttl = ttl
        self._key = key
        self._fetched = time.monotonic() if key is not None else 0.0
        self._lock = asyncio.Lock()

    async def current(self) -> PublicSealingKey:
        async with self._lock:
            fresh = self._key is not None and (self._url is None or time.monotonic() - self._fetched < self._ttl)
            if not fresh:
                if self._url is None:
                    raise SealingKeyUnavailable("user_api_keys need keyvault_url (or a sealing_key) to seal them")
                self._key = await fetch_sealing_key(self._url)
                self._fetched = time.monotonic()
            assert self._key is not None
            return self._key

    async def seal_all(
        self, keys: Mapping[str, str], *, tenant_id: str, request_id: str, created_at: datetime
    ) -> dict[str, str]:
        """created_at: the request's own (sent in the same event), which newer seals bind as well."""
        public = await self.current()
        return {
            provider: seal(key, public_key=public, tenant_id=tenant_id, request_id=request_id)
            for provider, key in keys.items()
        }

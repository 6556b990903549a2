"""The hot KV v2 calls (read, list, check-and-set write) over aiohttp instead of hvac in a thread.

hvac + requests in worker threads cost ~1-2 ms of CPU per call and serialise on the thread pool; listing a
user's keys is 1 LIST + N reads, so this path is the service's throughput. Login, token renewal and the rare
calls (destroy, metadata) stay in byok_core.vault.VaultClient, whose token this client borrows.
Errors carry no token and no secret: only the status and the path kind.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from byok_core.vault import VaultClient, VaultError, VaultForbidden, VaultUnavailable

from ..ports import VersionConflict


class AsyncKV:
    def __init__(self, vault: VaultClient, addr: str, *, timeout_seconds: float = 5.0, pool_size: int = 64) -> None:
        self._vault = vault
        self._base = addr.rstrip("/") + f"/v1/{vault.kv_mount}"
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._token_lock = asyncio.Lock()

    async def _headers(self, refresh: bool = False) -> dict[str, str]:
        if self._token is None or refresh:
            async with self._token_lock:
                if refresh:  # an expired AppRole token: VaultClient logs in again on its next 403
                    try:
                        await self._vault.acall(lambda c: c.auth.token.lookup_self())
                    except VaultError:
                        pass
                self._token = await self._vault.acall(lambda c: str(c.token))
        return {"X-Vault-Token": self._token or ""}

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(limit=self._pool_size)
            )
        return self._session

    async def _request(self, method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        for attempt in range(2):
            try:
                async with self._http().request(
                    method, url, json=body, headers=await self._headers(refresh=attempt > 0)
                ) as response:
                    payload = await response.json(content_type=None) if response.content_length != 0 else None
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise VaultUnavailable(f"Vault unreachable: {type(exc).__name__}") from None
            except ValueError:
                raise VaultUnavailable("Vault answered something that is not JSON") from None
            if status == 403 and attempt == 0:
                continue
            if status == 403:
                raise VaultForbidden("permission denied by Vault policy")
            if status >= 500 and status != 503:
                raise VaultUnavailable(f"Vault unavailable: HTTP {status}")
            if status == 503:
                raise VaultUnavailable("Vault sealed or unavailable")
            return status, payload
        raise VaultForbidden("permission denied by Vault policy")

    async def read(self, path: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        status, payload = await self._request("GET", f"{self._base}/data/{path}")
        if status == 404:
            return None
        if status != 200:
            raise VaultError(f"Vault read refused: HTTP {status}")
        data = payload["data"]
        if data.get("data") is None:  # a deleted (not destroyed) version
            return None
        return data["data"], data["metadata"]

    async def list(self, path: str) -> list[str]:
        status, payload = await self._request("LIST", f"{self._base}/metadata/{path}")
        if status == 404:
            return []
        if status != 200:
            raise VaultError(f"Vault list refused: HTTP {status}")
        return list(payload["data"]["keys"])

    async def write(self, path: str, data: dict[str, Any], *, cas: int) -> dict[str, Any]:
        status, payload = await self._request(
            "POST", f"{self._base}/data/{path}", {"options": {"cas": cas}, "data": data}
        )
        if status == 400 and "check-and-set" in " ".join((payload or {}).get("errors", [])):
            raise VersionConflict("the key changed meanwhile")
        if status != 200:
            raise VaultError(f"Vault write refused: HTTP {status}")
        return dict(payload["data"])

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

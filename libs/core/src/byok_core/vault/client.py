"""The one Vault client of the project: KV v2 over aiohttp, logged in with a token or with AppRole.

Why aiohttp and not hvac: hvac is synchronous (requests); run in threads it cost the key-vault service
~1-2 ms of CPU per call and serialised on the thread pool (bench/keyvault/bench_vault_transport.py
measures both). Login: a static token is used as is; an AppRole token is renewed (renew-self) at two
thirds of its lease, logged in afresh when renewal fails or the token nears its maximum TTL, and once
more when Vault answers 403 (an expired token looks like a denial). Every request has a timeout.
Paths are KV paths as byok_core.vault.key_codec builds them; they are percent-encoded once more for the
URL, so a `%2F` inside a segment reaches Vault as part of the name, never as a separator.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from typing import Any, NamedTuple
from urllib.parse import quote

import aiohttp
from yarl import URL

from ..settings import VaultSettings
from .errors import KeyStoreUnavailable, VaultError, VaultForbidden, VaultRefused, VersionConflict


class KVEntry(NamedTuple):
    """One KV v2 version: the secret's data and Vault's metadata of that version."""

    data: dict[str, Any]
    metadata: dict[str, Any]


class KVWritten(NamedTuple):
    version: int
    created_time: str


class VaultClient:
    """Async KV v2 client (one aiohttp session, created in the running loop on first use)."""

    def __init__(self, settings: VaultSettings, *, pool_size: int = 64) -> None:
        self._settings = settings
        self._addr = settings.addr.rstrip("/")
        self._kv = f"{self._addr}/v1/{quote(settings.kv_mount, safe='')}"
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_seconds)
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._renew_at: float | None = None  # monotonic time of the next AppRole renewal
        self._login_lease = 0.0
        self._login_lock = asyncio.Lock()
        self.logins = 0  # logins and renewals so far (for metrics and tests)
        self.renewals = 0

    @property
    def kv_mount(self) -> str:
        return self._settings.kv_mount

    @property
    def uses_approle(self) -> bool:
        return bool(self._settings.role_id and self._settings.secret_id)

    async def __aenter__(self) -> VaultClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # KV v2 -----------------------------------------------------------------------------------------

    async def read(self, path: str) -> KVEntry | None:
        """The current version, or None when there is none (absent, deleted or destroyed)."""
        status, payload = await self._call("GET", self._kv_url("data", path))
        if status == 404:
            return None
        data = _ok(status, payload, "read")["data"]
        if data.get("data") is None:
            return None
        return KVEntry(data["data"], data["metadata"])

    async def write(self, path: str, data: dict[str, Any], *, cas: int | None = None) -> KVWritten:
        """A new version; with `cas`, only when the current version is `cas` (0: none), else VersionConflict."""
        body: dict[str, Any] = {"data": data}
        if cas is not None:
            body["options"] = {"cas": cas}
        status, payload = await self._call("POST", self._kv_url("data", path), body)
        if status == 400 and "check-and-set" in " ".join(_errors(payload)):
            raise VersionConflict("the secret changed meanwhile")
        answer = _ok(status, payload, "write")["data"]
        return KVWritten(int(answer["version"]), str(answer["created_time"]))

    async def list(self, path: str) -> list[str]:
        status, payload = await self._call("LIST", self._kv_url("metadata", path))
        if status == 404:
            return []
        return [str(name) for name in _ok(status, payload, "list")["data"]["keys"]]

    async def metadata(self, path: str) -> dict[str, Any] | None:
        status, payload = await self._call("GET", self._kv_url("metadata", path))
        if status == 404:
            return None
        return dict(_ok(status, payload, "metadata read")["data"])

    async def set_custom_metadata(self, path: str, custom: dict[str, str]) -> None:
        """Replace the secret's custom_metadata (creates no version)."""
        status, payload = await self._call("POST", self._kv_url("metadata", path), {"custom_metadata": custom})
        _ok(status, payload, "metadata write")

    async def destroy(self, path: str) -> None:
        """Every version and the metadata: nothing can be read back afterwards."""
        status, payload = await self._call("DELETE", self._kv_url("metadata", path))
        if status != 404:
            _ok(status, payload, "destroy")

    async def healthy(self) -> bool:
        """Initialised, unsealed and active (no token needed)."""
        try:
            async with self._http().get(f"{self._addr}/v1/sys/health") as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    # transport -------------------------------------------------------------------------------------

    def _kv_url(self, kind: str, path: str) -> URL:
        return URL(f"{self._kv}/{kind}/{quote(path, safe='/')}", encoded=True)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ssl_context: ssl.SSLContext | bool = True
            if self._settings.cacert:
                ssl_context = ssl.create_default_context(cafile=self._settings.cacert)
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=ssl_context),
                raise_for_status=False,
            )
        return self._session

    async def _send(
        self, method: str, url: URL | str, body: dict[str, Any] | None, token: str | None
    ) -> tuple[int, Any]:
        headers = {"X-Vault-Request": "true"}
        if token is not None:
            headers["X-Vault-Token"] = token
        try:
            async with self._http().request(method, url, json=body, headers=headers) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KeyStoreUnavailable(f"Vault unreachable: {type(exc).__name__}") from None
        if status >= 500 or status == 429:
            raise KeyStoreUnavailable(f"Vault unavailable: HTTP {status}")
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            raise KeyStoreUnavailable("Vault answered something that is not JSON") from None

    async def _call(self, method: str, url: URL, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        token = await self._current_token()
        status, payload = await self._send(method, url, body, token)
        if status == 403 and self.uses_approle:
            token = await self._login(stale=token)  # an expired AppRole token is answered 403 too
            status, payload = await self._send(method, url, body, token)
        if status == 403:
            raise VaultForbidden("permission denied by Vault policy")
        return status, payload

    async def _current_token(self) -> str:
        token, renew_at = self._token, self._renew_at
        if token is not None and (renew_at is None or time.monotonic() < renew_at):
            return token
        async with self._login_lock:
            if self._token is None:
                return await self._login_locked()
            if self._renew_at is not None and time.monotonic() >= self._renew_at:
                await self._renew_locked()
            return self._token

    async def _login(self, *, stale: str | None) -> str:
        async with self._login_lock:
            if self._token is not None and self._token != stale:
                return self._token  # another request logged in meanwhile
            return await self._login_locked()

    async def _login_locked(self) -> str:
        settings = self._settings
        if self.uses_approle:
            assert settings.secret_id is not None
            url = f"{self._addr}/v1/auth/{quote(settings.approle_mount, safe='')}/login"
            body = {"role_id": settings.role_id, "secret_id": settings.secret_id.get_secret_value()}
            status, payload = await self._send("POST", url, body, None)
            if status != 200:
                raise VaultForbidden(f"Vault AppRole login refused: HTTP {status}")
            auth = payload["auth"]
            self._token = str(auth["client_token"])
            self.logins += 1
            self._login_lease = float(auth.get("lease_duration") or 0)
            self._schedule_renewal(self._login_lease if auth.get("renewable") else 0)
        elif settings.token is not None:
            self._token = settings.token.get_secret_value()
            self._renew_at = None
        else:
            raise VaultError("no Vault credentials: set BYOK_VAULT_TOKEN or BYOK_VAULT_ROLE_ID/BYOK_VAULT_SECRET_ID")
        return self._token

    async def _renew_locked(self) -> None:
        """Extend the AppRole token; near its maximum TTL (Vault grants less than asked) log in afresh."""
        try:
            status, payload = await self._send("POST", f"{self._addr}/v1/auth/token/renew-self", {}, self._token)
        except KeyStoreUnavailable:
            self._renew_at = time.monotonic() + 1.0  # keep the token (it is still valid) and try again soon
            return
        lease = float(((payload or {}).get("auth") or {}).get("lease_duration") or 0) if status == 200 else 0.0
        if lease < self._login_lease / 2:
            await self._login_locked()
        else:
            self.renewals += 1
            self._schedule_renewal(lease)

    def _schedule_renewal(self, lease_seconds: float) -> None:
        self._renew_at = time.monotonic() + lease_seconds * 2 / 3 if lease_seconds > 0 else None


def _errors(payload: Any) -> list[str]:
    if isinstance(payload, dict):
        return [str(e) for e in payload.get("errors") or []]
    return []


def _ok(status: int, payload: Any, what: str) -> dict[str, Any]:
    if status in (200, 204) and (status == 204 or isinstance(payload, dict)):
        return payload if isinstance(payload, dict) else {}
    raise VaultRefused(f"Vault {what} refused: HTTP {status}")

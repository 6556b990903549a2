"""Vault access through hvac: one client (token or AppRole), KV v2 helpers, errors as a small hierarchy.

hvac is synchronous: every call here runs in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import requests

from .settings import VaultSettings

T = TypeVar("T")


class VaultError(Exception):
    """Base of Vault failures. Messages never carry secrets or tokens."""


class VaultUnavailable(VaultError):
    """Vault could not be reached, is sealed, or answered 5xx."""


class VaultForbidden(VaultError):
    """The service's policy does not allow this path."""


class VaultClient:
    """A thread-safe wrapper of hvac.Client, logged in with a token or with AppRole."""

    def __init__(self, settings: VaultSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._client = hvac.Client(
            url=settings.addr,
            verify=settings.cacert if settings.cacert else True,
            timeout=settings.timeout_seconds,
        )
        self._logged_in = False

    @property
    def kv_mount(self) -> str:
        return self._settings.kv_mount

    def _login(self) -> None:
        settings = self._settings
        if settings.role_id and settings.secret_id:
            self._client.auth.approle.login(
                role_id=settings.role_id,
                secret_id=settings.secret_id.get_secret_value(),
                mount_point=settings.approle_mount,
            )
        elif settings.token is not None:
            self._client.token = settings.token.get_secret_value()
        else:
            raise VaultError("no Vault credentials: set BYOK_VAULT_TOKEN or BYOK_VAULT_ROLE_ID/BYOK_VAULT_SECRET_ID")
        self._logged_in = True

    def call(self, operation: Callable[[hvac.Client], T]) -> T:
        """Run one hvac operation, translating failures; AppRole tokens are renewed by logging in again."""
        for attempt in range(2):
            try:
                with self._lock:
                    if not self._logged_in:
                        self._login()
                return operation(self._client)
            except hvac.exceptions.Forbidden:
                if attempt == 0 and self._settings.role_id:
                    self._logged_in = False  # an expired AppRole token looks like 403: log in once more
                    continue
                raise VaultForbidden("permission denied by Vault policy") from None
            except (hvac.exceptions.VaultDown, hvac.exceptions.InternalServerError, hvac.exceptions.BadGateway) as exc:
                raise VaultUnavailable(f"Vault unavailable: {type(exc).__name__}") from None
            except requests.RequestException as exc:
                raise VaultUnavailable(f"Vault unreachable: {type(exc).__name__}") from None
        raise VaultForbidden("permission denied by Vault policy")

    async def acall(self, operation: Callable[[hvac.Client], T]) -> T:
        return await asyncio.to_thread(self.call, operation)

    # KV v2 -----------------------------------------------------------------------------------------

    def kv_read(self, path: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(data, metadata) of the current version, or None when absent or deleted."""

        def read(client: hvac.Client) -> tuple[dict[str, Any], dict[str, Any]] | None:
            try:
                answer = client.secrets.kv.v2.read_secret_version(
                    path=path, mount_point=self.kv_mount, raise_on_deleted_version=True
                )
            except hvac.exceptions.InvalidPath:
                return None
            return answer["data"]["data"], answer["data"]["metadata"]

        return self.call(read)

    def kv_write(self, path: str, data: dict[str, Any], cas: int | None = None) -> int:
        """Write a new version; returns its version number."""

        def write(client: hvac.Client) -> int:
            answer = client.secrets.kv.v2.create_or_update_secret(
                path=path, secret=data, cas=cas, mount_point=self.kv_mount
            )
            return int(answer["data"]["version"])

        return self.call(write)

    def kv_destroy(self, path: str) -> None:
        """Delete every version and the metadata: nothing can be read back afterwards."""
        self.call(lambda c: c.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point=self.kv_mount))

    def kv_metadata(self, path: str) -> dict[str, Any] | None:
        def read(client: hvac.Client) -> dict[str, Any] | None:
            try:
                return client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=self.kv_mount)["data"]
            except hvac.exceptions.InvalidPath:
                return None

        return self.call(read)

    def kv_list(self, path: str) -> list[str]:
        def list_(client: hvac.Client) -> list[str]:
            try:
                return list(client.secrets.kv.v2.list_secrets(path=path, mount_point=self.kv_mount)["data"]["keys"])
            except hvac.exceptions.InvalidPath:
                return []

        return self.call(list_)

    def is_healthy(self) -> bool:
        try:
            return bool(self.call(lambda c: c.sys.is_initialized() and not c.sys.is_sealed()))
        except VaultError:
            return False

"""Vault access: one async KV v2 client, its errors, and the key codec (paths, versions, the invalid mark)."""

from .client import KVEntry, KVWritten, VaultClient
from .errors import KeyStoreUnavailable, VaultError, VaultForbidden, VaultRefused, VersionConflict

__all__ = [
    "KVEntry",
    "KVWritten",
    "KeyStoreUnavailable",
    "VaultClient",
    "VaultError",
    "VaultForbidden",
    "VaultRefused",
    "VersionConflict",
]

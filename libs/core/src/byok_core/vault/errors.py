"""What can go wrong with Vault, as a small hierarchy. Messages never carry a token, a path's ids or a secret."""

from __future__ import annotations


class VaultError(Exception):
    """Base of every Vault failure."""


class KeyStoreUnavailable(VaultError):
    """Vault could not be reached, timed out, is sealed or answered 5xx: the caller answers
    `key_store_unavailable` (or retries); it never falls back to another key."""


class VaultForbidden(VaultError):
    """The service's policy does not allow this path (after one fresh login for AppRole)."""


class VersionConflict(VaultError):
    """A check-and-set write lost: someone else wrote the secret between our read and our write."""


class VaultRefused(VaultError):
    """Vault refused the request for another reason (a 4xx other than 403/404, or a malformed answer)."""

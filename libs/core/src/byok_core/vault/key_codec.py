"""Where keys live in Vault KV v2 (mount `byok`) and how a stored key is written and read back.

The one codec of the key-vault service (writer) and the inference worker (reader):
    tenants/<tenant>/users/<user>/<provider>   a user's key
    tenants/<tenant>/org/<provider>            the tenant's (org) key
    system/<provider>                          the platform's key
Every id segment is percent-encoded (UTF-8; only A-Z a-z 0-9 `_ . - ~ @` stay as they are, and a segment
made only of dots is encoded whole), so `a/b`, `..`, `alice\n` or `%2F` each name exactly one place of
their own and can never reach another tenant's or user's path. Ids the old rule allowed keep their path.

A secret is {"api_key", "fingerprint", "status", "created_at"}; its version is the KV version. A key a
provider rejected is marked in the secret's custom_metadata (`invalid_version` = the rejected version),
which creates no version, so a rotation (a newer version) is active again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

from .client import KVEntry

MAX_SEGMENT_CHARS = 256
INVALID_VERSION = "invalid_version"
ACTIVE, INVALID = "active", "invalid"


@lru_cache(maxsize=4096)  # ids repeat on the hot path; bounded, so a flood of new ids cannot grow it
def encode_segment(value: str, what: str = "id") -> str:
    """One path segment; ValueError for an empty, over-long or non-encodable (lone surrogate) value."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_SEGMENT_CHARS:
        raise ValueError(f"{what} must be 1-{MAX_SEGMENT_CHARS} characters")
    if not value.strip("."):
        return "%2E" * len(value)
    try:
        return quote(value, safe="@", errors="strict")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode text") from None


def decode_segment(segment: str) -> str:
    return unquote(segment, errors="strict")


def user_key_path(tenant_id: str, user_id: str, provider: str) -> str:
    tenant, user = encode_segment(tenant_id, "tenant id"), encode_segment(user_id, "user id")
    return f"tenants/{tenant}/users/{user}/{encode_segment(provider, 'provider')}"


def org_key_path(tenant_id: str, provider: str) -> str:
    return f"tenants/{encode_segment(tenant_id, 'tenant id')}/org/{encode_segment(provider, 'provider')}"


def system_key_path(provider: str) -> str:
    return f"system/{encode_segment(provider, 'provider')}"


def key_path(scope: str, tenant_id: str, user_id: str | None, provider: str) -> str:
    """The place of a key of `scope` ("user" | "org" | "system")."""
    if scope == "user":
        if not user_id:
            raise ValueError("a user key needs a user id")
        return user_key_path(tenant_id, user_id, provider)
    if scope == "org":
        return org_key_path(tenant_id, provider)
    if scope == "system":
        return system_key_path(provider)
    raise ValueError("scope must be user, org or system")


def keys_folder(scope: str, tenant_id: str, user_id: str | None) -> str:
    """The folder whose LIST names the providers of one user's (or the org's) keys."""
    return key_path(scope, tenant_id, user_id, "x").rsplit("/", 1)[0]


# the sealing key pairs and the fingerprint secret (see byok_core.sealing_keys and byok_core.fingerprint)
SEALING_PRIVATE_PREFIX = "sealing/private"
SEALING_PUBLIC_PREFIX = "sealing/public"
SEALING_CURRENT_NAME = "current"
SEALING_CURRENT_PATH = f"{SEALING_PUBLIC_PREFIX}/{SEALING_CURRENT_NAME}"
FINGERPRINT_SECRET_PATH = "fingerprint/hmac-key"


def sealing_private_path(kid: str) -> str:
    return f"{SEALING_PRIVATE_PREFIX}/{encode_segment(kid, 'kid')}"


def sealing_public_path(kid: str) -> str:
    return f"{SEALING_PUBLIC_PREFIX}/{encode_segment(kid, 'kid')}"


# the secret of one key --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredSecret:
    """A provider key as Vault holds it (one version)."""

    api_key: str = field(repr=False)
    fingerprint: str
    version: int
    created_at: datetime  # when the key was first stored (carried across rotations)
    updated_at: datetime  # when this version was written
    invalid: bool  # a provider rejected this version


def secret_data(api_key: str, *, fingerprint: str, created_at: str) -> dict[str, str]:
    return {"api_key": api_key, "fingerprint": fingerprint, "status": ACTIVE, "created_at": created_at}


def decode(entry: KVEntry | None) -> StoredSecret | None:
    """The stored key, or None when the secret holds no usable key text."""
    if entry is None:
        return None
    data, metadata = entry
    api_key = data.get("api_key")
    if not isinstance(api_key, str) or not api_key:
        return None
    version = int(metadata["version"])
    updated_at = parse_time(str(metadata["created_time"])) if metadata.get("created_time") else _EPOCH
    created = data.get("created_at")
    return StoredSecret(
        api_key=api_key,
        fingerprint=str(data.get("fingerprint", "")),
        version=version,
        created_at=parse_time(created) if isinstance(created, str) and created else updated_at,
        updated_at=updated_at,
        invalid=is_invalid(data, metadata),
    )


def is_invalid(data: dict[str, Any], metadata: dict[str, Any]) -> bool:
    """This version was rejected by its provider: marked in custom_metadata, or (older writers) in data."""
    if data.get("status") == INVALID:
        return True
    custom = metadata.get("custom_metadata") or {}
    marked = custom.get(INVALID_VERSION)
    return marked is not None and str(marked) == str(metadata.get("version"))


def invalid_mark(secret_metadata: dict[str, Any], version: int) -> dict[str, str] | None:
    """The custom_metadata that marks `version` invalid (from the secret's metadata endpoint answer);
    None when there is nothing to write: already marked (or a later one), or a version that never existed."""
    custom = {str(k): str(v) for k, v in (secret_metadata.get("custom_metadata") or {}).items()}
    try:
        marked = int(custom.get(INVALID_VERSION, "0"))
    except ValueError:
        marked = 0
    if marked >= version or version > int(secret_metadata.get("current_version", 0)) or version < 1:
        return None
    custom[INVALID_VERSION] = str(version)
    return custom


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_time(value: str) -> datetime:
    """Vault's RFC 3339 times carry nanoseconds; keep microseconds."""
    text = value.replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    return datetime.fromisoformat(text).astimezone(UTC)

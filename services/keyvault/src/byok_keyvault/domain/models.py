"""What the service knows about a stored key: where it is and its metadata (never the key itself)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from byok_core.vault.key_codec import key_path
from byok_events import Provider


class Scope(StrEnum):
    USER = "user"
    ORG = "org"


class Role(StrEnum):
    MEMBER = "member"
    ADMIN = "admin"


class KeyStatus(StrEnum):
    ACTIVE = "active"
    INVALID = "invalid"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: every key path is derived from these claims, never from the request."""

    user_id: str
    tenant_id: str
    role: Role

    def may_manage(self, scope: Scope) -> bool:
        return scope is Scope.USER or self.role is Role.ADMIN


@dataclass(frozen=True)
class KeyRef:
    tenant_id: str
    scope: Scope
    provider: Provider
    user_id: str | None = None  # None for org scope

    @classmethod
    def for_principal(cls, principal: Principal, scope: Scope, provider: Provider) -> KeyRef:
        user_id = principal.user_id if scope is Scope.USER else None
        return cls(tenant_id=principal.tenant_id, scope=scope, provider=provider, user_id=user_id)

    @property
    def path(self) -> str:
        """The secret's place in Vault (byok_core.vault.key_codec: every id segment percent-encoded)."""
        return key_path(self.scope.value, self.tenant_id, self.user_id, self.provider.value)


@dataclass(frozen=True)
class KeyMetadata:
    ref: KeyRef
    fingerprint: str
    version: int
    created_at: datetime
    updated_at: datetime
    status: KeyStatus

    def to_api(self) -> dict[str, object]:
        return {
            "keyType": self.ref.provider.value,
            "scope": self.ref.scope.value,
            "fingerprint": self.fingerprint,
            "version": self.version,
            "createdAt": _rfc3339(self.created_at),
            "updatedAt": _rfc3339(self.updated_at),
            "status": self.status.value,
        }


def _rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")

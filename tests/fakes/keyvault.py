"""Hand-written fakes of the key-vault service's ports (no mocks), tokens and sample keys."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import jwt
from byok_events import KeyEvent, Provider
from byok_keyvault.domain.models import KeyMetadata, KeyRef, KeyStatus, Scope
from byok_keyvault.ports import KeyRejected, VersionConflict
from byok_sealing import generate_keypair

SECRET = "unit-test-secret-0123456789abcdef-xyz"


@dataclass
class FakeSecret:
    versions: list[dict] = field(default_factory=list)
    invalid_version: int = 0


class FakeKeyStore:
    def __init__(self) -> None:
        self.secrets: dict[str, FakeSecret] = {}
        self.system: dict[str, str] = {}
        self.fail_next_put: Exception | None = None
        self.conflicts_before_put = 0

    async def get(self, ref: KeyRef) -> KeyMetadata | None:
        secret = self.secrets.get(ref.path)
        if secret is None:
            return None
        current = secret.versions[-1]
        version = len(secret.versions)
        status = KeyStatus.INVALID if secret.invalid_version == version else KeyStatus.ACTIVE
        return KeyMetadata(ref, current["fingerprint"], version, current["created_at"], current["written"], status)

    async def list(self, tenant_id: str, scope: Scope, user_id: str | None) -> list[KeyMetadata]:
        found = []
        for provider in Provider:
            meta = await self.get(KeyRef(tenant_id, scope, provider, user_id))
            if meta is not None:
                found.append(meta)
        return found

    async def put(self, ref, api_key, *, fingerprint, expected_version, created_at):
        if self.conflicts_before_put:
            self.conflicts_before_put -= 1
            raise VersionConflict("changed")
        if self.fail_next_put is not None:
            exc, self.fail_next_put = self.fail_next_put, None
            raise exc
        secret = self.secrets.setdefault(ref.path, FakeSecret())
        if len(secret.versions) != expected_version:
            raise VersionConflict("changed")
        now = datetime.now(UTC)
        secret.versions.append(
            {
                "api_key": api_key,
                "fingerprint": fingerprint,
                "created_at": datetime.fromisoformat(created_at.replace("Z", "+00:00")),
                "written": now,
            }
        )
        return await self.get(ref)

    async def destroy(self, ref: KeyRef) -> None:
        self.secrets.pop(ref.path, None)

    async def mark_invalid(self, ref: KeyRef, version: int) -> bool:
        secret = self.secrets.get(ref.path)
        if secret is None:
            return False
        if version <= len(secret.versions):
            secret.invalid_version = max(secret.invalid_version, version)
        return True

    async def put_system(self, provider, api_key, *, fingerprint) -> bool:
        if self.system.get(provider.value) == api_key:
            return False
        self.system[provider.value] = api_key
        return True

    async def healthy(self) -> bool:
        return True

    def raw_key(self, path: str) -> str | None:
        secret = self.secrets.get(path)
        return secret.versions[-1]["api_key"] if secret else None


class FakePublisher:
    def __init__(self) -> None:
        self.events: list[KeyEvent] = []
        self.down = False

    async def publish(self, event: KeyEvent) -> None:
        if self.down:
            raise ConnectionError("broker down")
        self.events.append(event)


class FakeValidator:
    def __init__(self, accept: bool = True) -> None:
        self.accept = accept
        self.calls: list[Provider] = []

    async def validate(self, provider: Provider, api_key: str) -> None:
        self.calls.append(provider)
        if not self.accept:
            raise KeyRejected("rejected")


SEALING_PAIR = generate_keypair()


class FakeSealing:
    """The sealing key store: one key pair, SEALING_PAIR."""

    async def current_public(self):
        return SEALING_PAIR.public

    async def public_kids(self):
        return [SEALING_PAIR.kid]


async def healthy() -> dict[str, str]:
    return {"status": "ok"}


def make_token(
    sub: str = "u1",
    tenant: str = "t1",
    role: str = "member",
    *,
    secret: str = SECRET,
    ttl: int = 300,
    **extra,
) -> str:
    now = int(time.time())
    claims = {"sub": sub, "tenant": tenant, "role": role, "iat": now, "exp": now + ttl, **extra}
    return jwt.encode(claims, secret, algorithm="HS256")


ANTHROPIC_KEY = "sk-ant-api03-" + "Zq7_xY-9" * 12
OPENAI_KEY = "sk-proj-" + "Ab3dEf6h" * 16
GEMINI_KEY = "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"[:35]
OPENROUTER_KEY = "sk-or-v1-" + "0123456789abcdef" * 4

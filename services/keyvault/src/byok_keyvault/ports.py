"""The outside world of the key-vault service, as small Protocols (one adapter per technology)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from byok_core.vault import KeyStoreUnavailable as KeyStoreUnavailable  # the key store could not be reached
from byok_core.vault import VersionConflict as VersionConflict  # a check-and-set write lost
from byok_events import KeyEvent, Provider

from .domain.models import KeyMetadata, KeyRef, Scope


class KeyStore(Protocol):
    async def get(self, ref: KeyRef) -> KeyMetadata | None: ...

    async def list(self, tenant_id: str, scope: Scope, user_id: str | None) -> list[KeyMetadata]: ...

    async def put(
        self, ref: KeyRef, api_key: str, *, fingerprint: str, expected_version: int, created_at: str
    ) -> KeyMetadata:
        """A new version, only if the current one is `expected_version` (0: none); else VersionConflict."""
        ...

    async def destroy(self, ref: KeyRef) -> None:
        """Every version and the metadata: nothing can be read back afterwards."""
        ...

    async def mark_invalid(self, ref: KeyRef, version: int) -> bool:
        """Mark that version invalid; False when the key is gone. A later version stays active."""
        ...

    async def put_system(self, provider: Provider, api_key: str, *, fingerprint: str) -> bool:
        """Store a system key unless the same one is already there; True when written."""
        ...

    async def healthy(self) -> bool: ...


class EventPublisher(Protocol):
    async def publish(self, event: KeyEvent) -> None:
        """Deliver one event to byok.keys.events (acks=all); raises when it could not be delivered."""
        ...


class OutboxRow(Protocol):
    @property
    def event_id(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def payload(self) -> str: ...

    @property
    def created(self) -> float: ...


class OutboxStorage(Protocol):
    """A durable local list of events not yet delivered (they carry no key material)."""

    def add(self, event_id: str, payload: str, state: str) -> None: ...

    def set_state(self, event_id: str, state: str) -> None: ...

    def remove(self, event_id: str) -> None: ...

    def rows(self, state: str | None = None) -> Sequence[OutboxRow]: ...

    def count(self, state: str) -> int: ...


class KeyRejected(Exception):
    """The provider says the key is not valid (live validation)."""


class ValidationUnavailable(Exception):
    """The provider could not be asked (timeout, 5xx, network)."""


class LiveValidator(Protocol):
    async def validate(self, provider: Provider, api_key: str) -> None:
        """Return when the provider accepts the key; KeyRejected or ValidationUnavailable otherwise."""
        ...

"""The outside world as the handler sees it: small protocols, one adapter per technology in adapters/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from byok_events import DeadLetter, KeyEvent, PromptResponse, Provider, UsageEvent

from .domain.calls import Completion, ProviderCall

Scope = Literal["user", "org", "system"]
DeltaSink = Callable[[str], Awaitable[None]]


class KeyStoreUnavailable(Exception):
    """The key store could not be reached (after the adapter's own retries)."""


@dataclass(frozen=True)
class StoredKey:
    api_key: str = field(repr=False)
    version: int | None = None


class KeyStore(Protocol):
    async def get(self, scope: Scope, tenant_id: str, user_id: str | None, provider: Provider) -> StoredKey | None:
        """The usable key stored at this place, None when there is none (or it is marked invalid).

        Raises KeyStoreUnavailable when the store cannot answer."""
        ...

    async def exists(self, scope: Scope, tenant_id: str, user_id: str | None, provider: Provider) -> bool:
        """Whether a usable key is stored at this place, without reading the key itself (its metadata only).

        Raises KeyStoreUnavailable when the store cannot answer."""
        ...


class SealedKeyOpener(Protocol):
    async def open(self, sealed: str, *, tenant_id: str, request_id: str) -> str:
        """The provider key inside a sealed key; raises byok_core.sealing.SealedKeyInvalid, or
        KeyStoreUnavailable when the private half cannot be fetched."""
        ...


class ProviderGateway(Protocol):
    async def complete(self, call: ProviderCall, on_delta: DeltaSink | None = None) -> Completion:
        """Run one call (streaming when on_delta is given); raises domain.calls.ProviderFailure."""
        ...


class Publisher(Protocol):
    async def response(self, event: PromptResponse, *, partition: int | None = None) -> None:
        """partition: the request's reply_partition (None: by key); one that does not exist is ignored."""
        ...

    async def usage(self, event: UsageEvent) -> None: ...
    async def key_event(self, event: KeyEvent) -> None: ...
    async def dead_letter(self, event: DeadLetter, key: bytes | None) -> None: ...


class AnsweredRequests(Protocol):
    """(tenant_id, request_id) pairs that already have a final answer, or that are being answered now."""

    def claim(self, tenant_id: str, request_id: str) -> bool:
        """True when the caller may run the request; False when it is answered or in progress."""
        ...

    def finish(self, tenant_id: str, request_id: str, answered: bool) -> None:
        """Release a claim: answered=True records the request as answered."""
        ...


class UserAuthority(Protocol):
    async def allows(self, token: str | None, tenant_id: str, user_id: str | None) -> bool:
        """True when the prompt may use the stored user-side keys of this tenant and user."""
        ...


class PriceCheck(Protocol):
    def has_price(self, provider: str, model: str, at: datetime) -> bool:
        """Whether billing can price usage of this model (our provider name, the model id sent to it)."""
        ...


class BudgetGuard(Protocol):
    def blocked(self, tenant_id: str) -> bool: ...

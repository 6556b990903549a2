"""Fakes of the inference worker's ports: key store, sealed-key opener, providers, publisher."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from byok_events import DeadLetter, KeyEvent, PromptResponse, Provider, UsageEvent
from byok_inference.adapters.answered import AnsweredLru
from byok_inference.domain.calls import Completion, FailureKind, ProviderCall, ProviderFailure, TokenUsage
from byok_inference.domain.retry import RetryPolicy
from byok_inference.handlers import Deps
from byok_inference.ports import DeltaSink, KeyStoreUnavailable, Scope, StoredKey
from byok_pricing import OverrideBook, Pricer
from byok_sealing import SealingKeyPair, generate_keypair, open_sealed, seal

CREATED_AT = datetime.now(UTC)  # the created_at of the unit tests' prompts, which their sealed keys bind
STORED_KEY_VERSION = 7  # every stored key of the fake is at this KV version


class FakeKeyStore:
    def __init__(self) -> None:
        self.keys: dict[tuple[str, str, str | None, str], str] = {}
        self.down = False
        self.reads = 0
        self.metadata_reads = 0

    def put(self, scope: Scope, tenant_id: str, user_id: str | None, provider: str, api_key: str) -> None:
        self.keys[(scope, tenant_id, user_id if scope == "user" else None, provider)] = api_key

    async def exists(self, scope: Scope, tenant_id: str, user_id: str | None, provider: Provider) -> bool:
        self.metadata_reads += 1
        if self.down:
            raise KeyStoreUnavailable("down")
        return (scope, tenant_id, user_id if scope == "user" else None, provider.value) in self.keys

    async def get(self, scope: Scope, tenant_id: str, user_id: str | None, provider: Provider) -> StoredKey | None:
        self.reads += 1
        if self.down:
            raise KeyStoreUnavailable("down")
        key = self.keys.get(
            (
                scope,
                tenant_id if scope != "system" else "*",
                user_id if scope == "user" else None,
                provider.value,
            )
        )
        if key is None and scope == "system":
            key = self.keys.get((scope, "*", None, provider.value))
        return StoredKey(key, version=STORED_KEY_VERSION) if key else None


class FakeSealedOpener:
    """Opens with a real key pair, as the Vault adapter does."""

    def __init__(self, pair: SealingKeyPair | None = None) -> None:
        self.pair = pair or generate_keypair("kid1")
        self.down = False

    def seal(
        self, api_key: str, tenant_id: str, request_id: str, provider: str, created_at: datetime | None = None
    ) -> str:
        return seal(
            api_key,
            public_key=self.pair.public,
            tenant_id=tenant_id,
            request_id=request_id,
            provider=provider,
            created_at=created_at or CREATED_AT,  # read when called: tests/conftest.py renews it per test
        )

    async def open(
        self, sealed: str, *, tenant_id: str, request_id: str, provider: str, created_at: datetime | None
    ) -> str:
        if self.down:
            raise KeyStoreUnavailable("down")
        return open_sealed(
            sealed,
            private_keys={self.pair.kid: self.pair.private_key},
            tenant_id=tenant_id,
            request_id=request_id,
            provider=provider,
            created_at=created_at,
        )


@dataclass
class FakeProviders:
    """Answers every call; `failures` maps an api_key to the failures its next calls raise."""

    calls: list[ProviderCall] = field(default_factory=list)
    failures: dict[str, list[ProviderFailure]] = field(default_factory=dict)
    usage: TokenUsage = field(default_factory=lambda: TokenUsage(100, 20, 40, 10))

    def fail(self, api_key: str, kind: FailureKind, times: int = 1, retry_after: float | None = None) -> None:
        self.failures.setdefault(api_key, []).extend(
            ProviderFailure(kind, f"fake {kind.value}", retry_after=retry_after) for _ in range(times)
        )

    async def complete(self, call: ProviderCall, on_delta: DeltaSink | None = None) -> Completion:
        self.calls.append(call)
        queued = self.failures.get(call.api_key)
        if queued:
            raise queued.pop(0)
        text = f"reply from {call.provider.value}"
        if on_delta is not None:
            for word in text.split(" "):
                await on_delta(word)
        return Completion(text, "stop", self.usage)


@dataclass
class FakePublisher:
    responses: list[PromptResponse] = field(default_factory=list)
    usages: list[UsageEvent] = field(default_factory=list)
    key_events: list[KeyEvent] = field(default_factory=list)
    dead_letters: list[tuple[DeadLetter, bytes | None]] = field(default_factory=list)
    reply_partitions: list[int | None] = field(default_factory=list)

    async def response(self, event: PromptResponse, *, partition: int | None = None) -> None:
        self.responses.append(event)
        self.reply_partitions.append(partition)

    async def usage(self, event: UsageEvent) -> None:
        self.usages.append(event)

    async def key_event(self, event: KeyEvent) -> None:
        self.key_events.append(event)

    async def dead_letter(self, event: DeadLetter, key: bytes | None) -> None:
        self.dead_letters.append((event, key))

    def finals(self) -> list[PromptResponse]:
        return [r for r in self.responses if r.status != "delta"]


class FakeBudgets:
    def __init__(self, blocked: Iterable[str] = ()) -> None:
        self.tenants = set(blocked)

    def blocked(self, tenant_id: str) -> bool:
        return tenant_id in self.tenants


@dataclass
class Harness:
    keys: FakeKeyStore
    sealed: FakeSealedOpener
    providers: FakeProviders
    publisher: FakePublisher
    budgets: FakeBudgets
    deps: Deps
    sleeps: list[float]


def make_harness() -> Harness:
    keys, sealed, providers, publisher, budgets = (
        FakeKeyStore(),
        FakeSealedOpener(),
        FakeProviders(),
        FakePublisher(),
        FakeBudgets(),
    )
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    deps = Deps(
        keys=keys,
        sealed=sealed,
        providers=providers,
        publisher=publisher,
        answered=AnsweredLru(),
        budgets=budgets,
        prices=Pricer(OverrideBook([])),  # genai-prices itself, as the worker runs
        provider_retry=RetryPolicy(attempts=3, base_delay=0.1, max_delay=1.0),
        key_store_retry=RetryPolicy(attempts=3, base_delay=0.1),
        sleep=sleep,
    )
    return Harness(keys, sealed, providers, publisher, budgets, deps, sleeps)

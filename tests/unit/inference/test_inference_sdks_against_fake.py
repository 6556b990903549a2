"""The official SDKs (through our provider adapters) against the fake provider server over HTTP.

Checks both sides: the fake speaks each API as its SDK expects (results parse, streams decode), the SDKs
carry the key where the fake looks for it, and our adapters translate every fault to the right failure.
"""

from __future__ import annotations

import pytest
from byok_events import Provider
from byok_inference.adapters.providers.gateway import SdkGateway
from byok_inference.domain.calls import FailureKind, ProviderCall, ProviderFailure
from byok_testing.fake_providers import Rule, RunningFakeProviders

MODELS = {
    Provider.ANTHROPIC: "claude-sonnet-4-5",
    Provider.OPENAI: "gpt-4.1",
    Provider.GEMINI: "gemini-2.5-flash",
    Provider.OPENROUTER: "anthropic/claude-sonnet-4.5",
}
KEY_HEADER = {
    Provider.ANTHROPIC: "authorization",
    Provider.OPENAI: "authorization",
    Provider.GEMINI: "x-goog-api-key",
    Provider.OPENROUTER: "authorization",
}
PROMPT = "please summarise the following paragraph about ocean tides in one sentence"


@pytest.fixture
def gateway_timeout() -> float:
    return 1.0


def call(provider: Provider, key: str) -> ProviderCall:
    return ProviderCall(
        provider=provider,
        model=MODELS[provider],
        api_key=key,
        max_tokens=64,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": PROMPT}],
    )


@pytest.mark.parametrize("provider", list(Provider))
@pytest.mark.parametrize("stream", [False, True])
async def test_completion_usage_and_key(
    fake: RunningFakeProviders, gateway: SdkGateway, provider: Provider, stream: bool
) -> None:
    deltas: list[str] = []

    async def sink(text: str, tool_calls: object = None) -> None:
        deltas.append(text)

    result = await gateway.complete(call(provider, f"key-{provider.value}"), sink if stream else None)
    assert result.text == f"fake {provider.value} reply to: {PROMPT}"
    assert (deltas and "".join(deltas) == result.text) if stream else deltas == []
    total = (len("be brief") + len(PROMPT)) // 4  # the fake counts 4 characters a token, system included
    assert result.usage.input_tokens == total
    assert result.usage.cache_read_tokens == total // 4
    assert result.usage.cache_write_tokens == (
        total // 8 if provider in (Provider.ANTHROPIC, Provider.OPENROUTER) else 0
    )
    assert result.usage.output_tokens == len(result.text.split())
    [recorded] = fake.server.book.calls
    assert (recorded.provider, recorded.api_key, recorded.key_header, recorded.model, recorded.stream) == (
        provider.value,
        f"key-{provider.value}",
        KEY_HEADER[provider],
        MODELS[provider],
        stream,
    )


@pytest.mark.parametrize("provider", list(Provider))
@pytest.mark.parametrize(
    ("action", "kind", "status"),
    [
        ("invalid_key", FailureKind.AUTH, None),
        ("403", FailureKind.FORBIDDEN, 403),
        ("429", FailureKind.RATE_LIMITED, 429),
        ("500", FailureKind.SERVER, 500),
        ("timeout", FailureKind.TIMEOUT, None),
    ],
)
async def test_faults(
    fake: RunningFakeProviders,
    gateway: SdkGateway,
    provider: Provider,
    action: str,
    kind: FailureKind,
    status: int | None,
) -> None:
    fake.server.book.rules.append(Rule(action=action, api_key="bad", retry_after=1.5 if action == "429" else None))
    with pytest.raises(ProviderFailure) as caught:
        await gateway.complete(call(provider, "bad"))
    assert caught.value.kind is kind
    if action == "invalid_key":
        assert caught.value.status == (400 if provider is Provider.GEMINI else 401)
    elif status is not None:
        assert caught.value.status == status
    assert caught.value.retry_after == (1.5 if action == "429" else None)
    assert "bad" not in str(caught.value).split()
    # the rule matched the key only: another key still works
    assert (await gateway.complete(call(provider, "good"))).text


async def test_clients_are_reused_per_key(gateway: SdkGateway) -> None:
    for _ in range(3):
        await gateway.complete(call(Provider.OPENAI, "k1"))
        await gateway.complete(call(Provider.OPENAI, "k2"))
    assert gateway.cached_clients == 2


async def test_latency_rule(fake: RunningFakeProviders, gateway: SdkGateway) -> None:
    import time

    fake.server.book.rules.append(Rule(model="gpt-4.1", latency_ms=300))
    started = time.perf_counter()
    await gateway.complete(call(Provider.OPENAI, "k"))
    assert time.perf_counter() - started >= 0.3


@pytest.mark.parametrize("provider", [Provider.OPENAI, Provider.ANTHROPIC])
async def test_shared_post_options_carry_each_calls_own_body_and_key(gateway: SdkGateway, provider: Provider) -> None:
    """The non-streaming path reuses one options template per path (sdk_post.py): concurrent calls with
    different prompts and keys must each send their own body and key."""
    import asyncio

    calls = [
        ProviderCall(
            provider=provider,
            model=MODELS[provider],
            api_key=f"key-{i}",
            max_tokens=16,
            messages=[{"role": "user", "content": f"prompt number {i}"}],
        )
        for i in range(20)
    ]
    results = await asyncio.gather(*(gateway.complete(c) for c in calls))
    assert [r.text for r in results] == [f"fake {provider.value} reply to: prompt number {i}" for i in range(20)]

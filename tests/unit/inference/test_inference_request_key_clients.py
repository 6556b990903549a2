"""Request-supplied keys are never cached in SDK clients: 10,000 distinct request keys leave the worker's
gateway with no cached client and its memory within a stated bound; each call still carries its own key."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from pathlib import Path

import pytest
from byok_core.settings import ProviderEndpoints
from byok_events import Provider
from byok_inference.adapters.providers.gateway import SdkGateway
from byok_inference.domain.calls import ProviderCall
from byok_testing.fake_providers import RunningFakeProviders
from byok_testing.waiting import wait_until

DISTINCT_KEYS = 3_000  # the 10,000 run is through the worker process: tests/e2e/test_request_key_memory.py
BOUND_BYTES = 16 * 1024 * 1024  # RSS growth allowed over 10,000 request keys (a cached client: ~100 KB)
MODELS = {
    Provider.ANTHROPIC: "claude-sonnet-4-5",
    Provider.OPENAI: "gpt-4.1",
    Provider.GEMINI: "gemini-2.5-flash",
    Provider.OPENROUTER: "openai/gpt-4.1",
}


@pytest.fixture
def fake(fake: RunningFakeProviders) -> RunningFakeProviders:
    fake.server.book.max_calls = 10  # the fake's own record must not count against the worker
    return fake


@pytest.fixture
def gateway_timeout() -> float:
    return 5.0


def request_call(provider: Provider, i: int) -> ProviderCall:
    return ProviderCall(
        provider=provider,
        model=MODELS[provider],
        api_key=f"request-key-{i:06d}-" + "x" * 40,
        max_tokens=8,
        messages=[{"role": "user", "content": "hi"}],
        reuse_client=False,
    )


async def _settle(gateway: SdkGateway) -> None:
    await wait_until(lambda: gateway.closing_clients == 0, 2, "evicted clients not closed", interval=0.01)
    await asyncio.sleep(0.05)  # aiohttp closes a session's transports in callbacks of later loop turns
    gc.collect()


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def test_thousands_of_request_keys_keep_no_client_and_bounded_memory(gateway: SdkGateway) -> None:
    providers = list(Provider)
    for i in range(400):  # warm up: imports, pools, the SDKs' own caches, the allocator's arenas
        await gateway.complete(request_call(providers[i % 4], i))
    await _settle(gateway)
    before = rss_bytes()
    for start in range(0, DISTINCT_KEYS, 100):
        await asyncio.gather(
            *(gateway.complete(request_call(providers[i % 4], 1000 + i)) for i in range(start, start + 100))
        )
        assert gateway.cached_clients == 0
    await _settle(gateway)
    growth = rss_bytes() - before
    assert gateway.cached_clients == 0 and gateway.closing_clients == 0
    print(f"RSS growth over {DISTINCT_KEYS} request keys: {growth / 1e6:.1f} MB")
    assert growth < BOUND_BYTES, f"RSS grew {growth / 1e6:.1f} MB after {DISTINCT_KEYS} request keys"


async def test_each_request_key_reaches_the_provider_with_its_own_call(
    fake: RunningFakeProviders, gateway: SdkGateway
) -> None:
    fake.server.book.max_calls = 100
    calls = [request_call(p, i) for i, p in enumerate(list(Provider) * 3)]
    await asyncio.gather(*(gateway.complete(c) for c in calls))
    assert gateway.cached_clients == 0
    sent = sorted((c.provider, c.api_key) for c in fake.server.book.calls[-len(calls) :])
    assert sent == sorted((c.provider.value, c.api_key) for c in calls)


async def test_a_cached_client_costs_far_more_than_the_bound_allows(fake: RunningFakeProviders) -> None:
    """What the bound guards against: caching a client per key (the old behaviour) grows memory per key."""
    env = fake.env
    gateway = SdkGateway(ProviderEndpoints(openai_base_url=env["BYOK_OPENAI_BASE_URL"]), timeout=5.0)
    try:
        await gateway.complete(ProviderCall(**{**request_call(Provider.OPENAI, 0).__dict__, "reuse_client": True}))
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(1, 21):
            await gateway.complete(ProviderCall(**{**request_call(Provider.OPENAI, i).__dict__, "reuse_client": True}))
        per_client = (tracemalloc.get_traced_memory()[0] - before) / 20
        tracemalloc.stop()
        assert per_client * 1024 > 2 * BOUND_BYTES, per_client  # even the old cache bound (1024) would break it
    finally:
        await gateway.aclose()


async def test_stored_keys_are_cached_up_to_the_bound_and_evicted_clients_are_closed(
    fake: RunningFakeProviders,
) -> None:
    env = fake.env
    gateway = SdkGateway(ProviderEndpoints(openai_base_url=env["BYOK_OPENAI_BASE_URL"]), timeout=5.0, max_clients=8)
    try:
        for i in range(30):
            call = request_call(Provider.OPENAI, i)
            await gateway.complete(ProviderCall(**{**call.__dict__, "reuse_client": True}))
        assert gateway.cached_clients == 8
        await _settle(gateway)
        assert gateway.closing_clients == 0
    finally:
        await gateway.aclose()


async def test_an_evicted_client_in_use_is_closed_when_its_call_ends(fake: RunningFakeProviders) -> None:
    env = fake.env
    gateway = SdkGateway(ProviderEndpoints(openai_base_url=env["BYOK_OPENAI_BASE_URL"]), timeout=5.0, max_clients=1)
    fake.server.book.default_latency_ms = 300
    try:
        slow = asyncio.create_task(
            gateway.complete(
                request_call(Provider.OPENAI, 1).__class__(
                    **{**request_call(Provider.OPENAI, 1).__dict__, "reuse_client": True}
                )
            )
        )
        await wait_until(lambda: fake.server.book.find(), 5, "the slow call did not reach the provider")
        first = gateway.client(Provider.OPENAI, request_call(Provider.OPENAI, 1).api_key)
        gateway.client(Provider.OPENAI, "another-stored-key")  # evicts the first while its call runs
        assert gateway.closing_clients == 0 and not first.is_closed()
        assert (await slow).text
        await _settle(gateway)
        assert first.is_closed()
    finally:
        await gateway.aclose()

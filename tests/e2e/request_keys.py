"""Distinct sealed request keys through the running services, and what they cost the inference worker PROCESS.

`flood()` sends prompts with the producer client, each carrying an API key of its own (`user_api_keys`, sealed
to the worker with the key-vault service's public sealing key, `byok_mode: require` so that only that key may
be spent), the four providers in turn, `window` prompts in flight. `measure()` runs a warm-up flood (the SDKs'
first calls, pools, the allocator's arenas), reads the worker's RSS (VmRSS of /proc/<pid>/status) and its
`byok_inference_sdk_clients` gauge, runs the measured flood, lets the worker settle and reads them again.

Used by tests/e2e/test_request_key_memory.py (10,000 keys, in `make test`) and
bench/inference/bench_request_keys.py (the same on services of its own, sizes as arguments).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from byok_client import ByokClient, RequestFailed

MODELS = {
    "anthropic": "claude-sonnet-4-5",
    "openai": "gpt-4.1",
    "gemini": "gemini-2.5-flash",
    "openrouter": "openrouter/openai/gpt-4.1",
}
_SHAPES = {  # keys of each provider's shape (the fake providers accept any)
    "anthropic": "sk-ant-api03-{}",
    "openai": "sk-proj-{}",
    "gemini": "AIzaSy{}",
    "openrouter": "sk-or-v1-{}",
}


def request_key(provider: str, run: str, i: int) -> str:
    body = f"{run}{i:08d}" + uuid.uuid4().hex
    return _SHAPES[provider].format(body[:33] if provider == "gemini" else body + uuid.uuid4().hex)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


async def sdk_clients(ops_url: str) -> int:
    """The worker's cached SDK clients (gauge byok_inference_sdk_clients{state="cached"})."""
    async with aiohttp.ClientSession() as http, http.get(f"{ops_url}/metrics") as answer:
        text = await answer.text()
    match = re.search(r'^byok_inference_sdk_clients\{state="cached"\} (\S+)$', text, re.MULTILINE)
    assert match, "the worker exports no byok_inference_sdk_clients gauge"
    return int(float(match.group(1)))


async def flood(client: ByokClient, tenant_id: str, first: int, count: int, window: int) -> Counter[str]:
    """`count` prompts, key i for prompt i (from `first`), at most `window` in flight; statuses or error codes."""
    outcomes: Counter[str] = Counter()
    run = uuid.uuid4().hex[:6]
    providers = list(MODELS)
    gate = asyncio.Semaphore(window)

    async def one(i: int) -> None:
        provider = providers[i % len(providers)]
        async with gate:
            try:
                response = await client.complete(
                    MODELS[provider],
                    "hi",
                    tenant_id=tenant_id,
                    user_api_keys={provider: request_key(provider, run, i)},
                    byok_mode="require",
                    max_tokens=8,
                    timeout=180,
                )
                outcomes[f"{response.status}/{response.key_source}"] += 1
            except RequestFailed as failed:
                outcomes[f"failed/{failed.code}"] += 1

    await asyncio.gather(*(one(i) for i in range(first, first + count)))
    return outcomes


@dataclass
class Figures:
    keys: int
    warmup_keys: int
    seconds: float
    outcomes: dict[str, int]
    rss_before_mb: float
    rss_after_mb: float
    rss_peak_mb: float
    growth_mb: float
    sdk_clients_before: int
    sdk_clients_after: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def measure(
    *, bootstrap: str, keyvault_url: str, ops_url: str, pid: int, keys: int, warmup: int, window: int = 256
) -> Figures:
    tenant_id = f"rk-{uuid.uuid4().hex[:8]}"
    peak = 0

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, rss_bytes(pid))
            await asyncio.sleep(0.2)

    async with ByokClient(kafka=bootstrap, keyvault_url=keyvault_url) as client:
        warm = await flood(client, tenant_id, 0, warmup, window)
        assert set(warm) == {"completed/request"}, warm
        await asyncio.sleep(2)  # the last answers' usage events leave, closes finish
        before, clients_before = rss_bytes(pid), await sdk_clients(ops_url)
        sampler = asyncio.create_task(sample())
        started = time.monotonic()
        try:
            outcomes = await flood(client, tenant_id, warmup, keys, window)
        finally:
            sampler.cancel()
        seconds = time.monotonic() - started
    await asyncio.sleep(2)
    after, clients_after = rss_bytes(pid), await sdk_clients(ops_url)
    mb = 1024 * 1024
    return Figures(
        keys=keys,
        warmup_keys=warmup,
        seconds=round(seconds, 1),
        outcomes=dict(outcomes),
        rss_before_mb=round(before / mb, 1),
        rss_after_mb=round(after / mb, 1),
        rss_peak_mb=round(max(peak, after) / mb, 1),
        growth_mb=round((after - before) / mb, 1),
        sdk_clients_before=clients_before,
        sdk_clients_after=clients_after,
    )

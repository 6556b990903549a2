"""The first prompt's one-off costs, paid at start before the worker consumes.

Measured on the first prompt of `bench/inference/bench_inference.py --rate 500`: ~125 ms in the worker, of
which 64 ms building the SDK client of the system key (two SSL contexts), 17-31 ms loading genai-prices'
data, and a metadata request per output topic at its first send. At 500 prompts/s the prompts queued
behind it made that run's p99.

Nothing here may stop a start: a step that fails is logged and left to the first prompt, as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaProducer
from byok_events import Provider, topics

from .adapters.providers.gateway import SdkGateway
from .ports import KeyStore

log = logging.getLogger("byok.inference.warm_up")

OUTPUT_TOPICS = (topics.PROMPT_RESPONSES, topics.USAGE_EVENTS)
_ANY_TENANT = "warm-up"  # a system key's place names no tenant; the cache entry is this one's


async def warm_up(
    *,
    producer: AIOKafkaProducer,
    keys: KeyStore,
    gateway: SdkGateway,
    providers: Iterable[Provider],
    load_prices: Callable[[], object] | None = None,
    budget: float = 5.0,
) -> None:
    """Each step is bounded by `budget` seconds in all (a Vault that does not answer would otherwise hold the
    start for its timeout once per provider); what is not done by then is left to the first prompt."""
    started = time.perf_counter()
    clients = 0
    try:
        async with asyncio.timeout(budget):
            for topic in OUTPUT_TOPICS:
                try:
                    await producer.partitions_for(topic)
                except Exception as exc:
                    log.warning("warm-up: no metadata yet", extra={"topic": topic, "error": type(exc).__name__})
            if load_prices is not None:
                try:
                    load_prices()
                except Exception as exc:
                    log.warning("warm-up: prices not loaded", extra={"error": type(exc).__name__})
            for provider in providers:
                if gateway.loaded(provider) and await _system_key_client(keys, gateway, provider):
                    clients += 1
    except TimeoutError:
        log.warning("warm-up: out of time, the rest is left to the first prompts", extra={"budget_seconds": budget})
    log.info("warm-up done", extra={"seconds": round(time.perf_counter() - started, 3), "sdk_clients": clients})


async def _system_key_client(keys: KeyStore, gateway: SdkGateway, provider: Provider) -> bool:
    try:
        stored = await keys.get("system", _ANY_TENANT, None, provider)
    except Exception as exc:  # the key store down at start: the first prompt will ask again
        log.warning("warm-up: no system key read", extra={"provider": provider.value, "error": type(exc).__name__})
        return False
    if stored is None:
        return False
    gateway.client(provider, stored.api_key)
    return True

"""warm_up: the first prompt's one-off costs (the system key's SDK client, genai-prices' data, the output
topics' metadata) are paid at start, and no failure among them stops a start."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from byok_core.settings import SystemKeys
from byok_events import Provider, topics
from byok_inference.adapters.env_keys import EnvKeyStore
from byok_inference.adapters.providers.gateway import SdkGateway
from byok_inference.warm_up import warm_up


class MetadataOnlyProducer:
    def __init__(self, fail: bool = False) -> None:
        self.asked: list[str] = []
        self._fail = fail

    async def partitions_for(self, topic: str) -> set[int]:
        self.asked.append(topic)
        if self._fail:
            raise ConnectionError("no broker")
        return {0, 1, 2}


class UnavailableKeys:
    async def get(self, *_: Any) -> None:
        raise ConnectionError("vault down")


async def test_the_system_keys_clients_are_built_and_the_topics_known(gateway: SdkGateway) -> None:
    producer = MetadataOnlyProducer()
    loaded: list[bool] = []
    keys = EnvKeyStore(SystemKeys(openai_api_key="sk-system-openai", anthropic_api_key="sk-system-anthropic"))
    gateway.preload([Provider.OPENAI, Provider.ANTHROPIC])
    await warm_up(
        producer=producer,  # type: ignore[arg-type]
        keys=keys,
        gateway=gateway,
        providers=[Provider.OPENAI, Provider.ANTHROPIC, Provider.GEMINI],  # no gemini key: nothing to build
        load_prices=lambda: loaded.append(True),
    )
    assert producer.asked == [topics.PROMPT_RESPONSES, topics.USAGE_EVENTS]
    assert loaded == [True]
    assert gateway.cached_clients == 2
    # The first prompt on the system key finds its client ready: no new one is made.
    before = gateway.client(Provider.OPENAI, "sk-system-openai")
    assert gateway.cached_clients == 2 and gateway.client(Provider.OPENAI, "sk-system-openai") is before


async def test_nothing_failing_at_warm_up_stops_the_start(
    gateway: SdkGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway.preload([Provider.OPENAI])
    await warm_up(
        producer=MetadataOnlyProducer(fail=True),  # type: ignore[arg-type]
        keys=UnavailableKeys(),  # type: ignore[arg-type]
        gateway=gateway,
        providers=[Provider.OPENAI],
    )
    assert gateway.cached_clients == 0
    warnings = [r.getMessage() for r in caplog.records if r.name == "byok.inference.warm_up"]
    assert "warm-up: no metadata yet" in warnings and "warm-up: no system key read" in warnings


class SilentKeys:
    """A key store that never answers (Vault blackholed at start)."""

    async def get(self, *_: Any) -> None:
        await asyncio.sleep(3600)


async def test_a_key_store_that_never_answers_holds_the_start_no_longer_than_the_budget(
    gateway: SdkGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway.preload([Provider.OPENAI, Provider.ANTHROPIC])
    started = time.monotonic()
    await warm_up(
        producer=MetadataOnlyProducer(),  # type: ignore[arg-type]
        keys=SilentKeys(),  # type: ignore[arg-type]
        gateway=gateway,
        providers=[Provider.OPENAI, Provider.ANTHROPIC],
        load_prices=lambda: 1 / 0,  # a failing step is logged, not raised
        budget=0.3,
    )
    assert time.monotonic() - started < 3.0
    warnings = [r.getMessage() for r in caplog.records if r.name == "byok.inference.warm_up"]
    assert "warm-up: prices not loaded" in warnings
    assert "warm-up: out of time, the rest is left to the first prompts" in warnings
    assert gateway.cached_clients == 0

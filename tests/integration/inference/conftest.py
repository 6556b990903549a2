"""Fixtures of the inference worker's integration tests: real Kafka and Vault, the fake provider over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
from byok_core.settings import VaultSettings
from byok_core.vault import VaultClient
from byok_testing.fake_providers import RunningFakeProviders, start_fake_providers
from byok_testing.topics import TopicTail
from support.inference import this_run


@pytest.fixture(scope="session")
async def vault_root(stack_env: dict[str, str]) -> AsyncIterator[VaultClient]:
    settings = VaultSettings(addr=stack_env["BYOK_VAULT_ADDR"], token=stack_env["BYOK_VAULT_ROOT_TOKEN"])
    async with VaultClient(settings) as client:
        yield client


@pytest.fixture(scope="session")
async def fake_providers() -> AsyncIterator[RunningFakeProviders]:
    running = await start_fake_providers()
    yield running
    await running.stop()


@pytest.fixture(scope="session")
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
async def responses(kafka_bootstrap: str) -> AsyncIterator[TopicTail]:
    async with TopicTail(kafka_bootstrap, "byok.prompt.responses", key=this_run) as tail:
        yield tail


@pytest.fixture
async def usages(kafka_bootstrap: str) -> AsyncIterator[TopicTail]:
    async with TopicTail(kafka_bootstrap, "byok.usage.events", key=this_run) as tail:
        yield tail

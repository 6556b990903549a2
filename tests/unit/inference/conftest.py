"""Fixtures of the inference unit tests: the fake providers on a real port, the SDK gateway against them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from byok_inference.adapters.providers.gateway import SdkGateway
from byok_testing.fake_providers import RunningFakeProviders, start_fake_providers
from support import providers


@pytest.fixture
async def fake() -> AsyncIterator[RunningFakeProviders]:
    running = await start_fake_providers()
    yield running
    await running.stop()


@pytest.fixture
def gateway_timeout() -> float:
    """The SDKs' timeout in `gateway`; a module overrides this fixture for another."""
    return 2.0


@pytest.fixture
async def gateway(fake: RunningFakeProviders, gateway_timeout: float) -> AsyncIterator[SdkGateway]:
    gw = SdkGateway(providers.endpoints(fake), timeout=gateway_timeout)
    yield gw
    await gw.aclose()

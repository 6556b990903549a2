"""Live validation through the real SDKs against the shared fake providers (their key-check endpoints)."""

from __future__ import annotations

import pytest
from byok_events import Provider
from byok_keyvault.adapters.live_validator import SdkLiveValidator
from byok_keyvault.ports import KeyRejected, ValidationUnavailable
from byok_testing.fake_providers import start_fake_providers
from byok_testing.fake_providers.rules import Rule
from fakes.keyvault import ANTHROPIC_KEY, GEMINI_KEY, OPENAI_KEY, OPENROUTER_KEY
from support import providers

KEYS = {
    Provider.ANTHROPIC: ANTHROPIC_KEY,
    Provider.OPENAI: OPENAI_KEY,
    Provider.GEMINI: GEMINI_KEY,
    Provider.OPENROUTER: OPENROUTER_KEY,
}
CHECK_PATHS = {
    Provider.ANTHROPIC: "/v1/models",
    Provider.OPENAI: "/v1/models",
    Provider.GEMINI: "/models",  # after the API version the SDK picks
    Provider.OPENROUTER: "/api/v1/key",
}


@pytest.fixture
async def fake():
    running = await start_fake_providers()
    yield SdkLiveValidator(providers.endpoints(running), timeout_seconds=0.5), running.server
    await running.stop()


@pytest.mark.parametrize("provider", list(Provider))
async def test_accepts_and_rejects(fake, provider):
    validator, server = fake
    await validator.validate(provider, KEYS[provider])
    (call,) = server.book.calls
    assert (call.provider, call.api_key) == (provider.value, KEYS[provider])
    assert call.path.endswith(CHECK_PATHS[provider])
    wrong = KEYS[provider][:-3] + "zzz"
    server.book.rules.append(Rule(action="invalid_key", api_key=wrong))
    with pytest.raises(KeyRejected) as caught:
        await validator.validate(provider, wrong)
    assert wrong not in str(caught.value)
    server.book.rules.append(Rule(action="403", api_key="forbidden-" + wrong))
    if provider is not Provider.GEMINI:  # Gemini's 403 is PERMISSION_DENIED for a resource, not for the key
        with pytest.raises(KeyRejected):
            await validator.validate(provider, "forbidden-" + wrong)


async def test_timeouts_and_server_errors_are_unavailable_not_rejected(fake):
    validator, server = fake
    server.book.rules.append(Rule(action="ok", provider="openai", latency_ms=2000, times=1))
    with pytest.raises(ValidationUnavailable):
        await validator.validate(Provider.OPENAI, OPENAI_KEY)
    server.book.rules[:] = [Rule(action="500")]
    for provider in Provider:
        with pytest.raises(ValidationUnavailable):
            await validator.validate(provider, KEYS[provider])

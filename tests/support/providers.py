"""The fake LLM providers (byok_testing.fake_providers) as the services' settings point at them."""

from __future__ import annotations

from byok_core.settings import ProviderEndpoints
from byok_testing.fake_providers import RunningFakeProviders


def endpoints(fake: RunningFakeProviders) -> ProviderEndpoints:
    """Every provider's base URL pointed at the running fake."""
    env = fake.env
    return ProviderEndpoints(
        anthropic_base_url=env["BYOK_ANTHROPIC_BASE_URL"],
        openai_base_url=env["BYOK_OPENAI_BASE_URL"],
        gemini_base_url=env["BYOK_GEMINI_BASE_URL"],
        openrouter_base_url=env["BYOK_OPENROUTER_BASE_URL"],
    )

"""A fake Anthropic / OpenAI / Gemini / OpenRouter server for tests, benchmarks and the keyless demo."""

from .client import FakeProviderControl
from .rules import Call, Rule, RuleBook
from .runner import RunningFakeProviders, base_urls, start_fake_providers
from .server import FakeProviderServer

__all__ = [
    "Call",
    "FakeProviderControl",
    "FakeProviderServer",
    "Rule",
    "RuleBook",
    "RunningFakeProviders",
    "base_urls",
    "start_fake_providers",
]

import pytest
from byok_events import Provider
from byok_inference.domain.routing import UnknownModel, openrouter_model_id, route_model


@pytest.mark.parametrize(
    ("model", "provider", "sent"),
    [
        ("claude-sonnet-4-5", Provider.ANTHROPIC, "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4-5", Provider.ANTHROPIC, "claude-sonnet-4-5"),
        ("gpt-4.1", Provider.OPENAI, "gpt-4.1"),
        ("o1-mini", Provider.OPENAI, "o1-mini"),
        ("o3", Provider.OPENAI, "o3"),
        ("o4-mini", Provider.OPENAI, "o4-mini"),
        ("chatgpt-4o-latest", Provider.OPENAI, "chatgpt-4o-latest"),
        ("openai/gpt-4.1", Provider.OPENAI, "gpt-4.1"),
        ("gemini-2.5-flash", Provider.GEMINI, "gemini-2.5-flash"),
        ("gemini/gemini-2.5-pro", Provider.GEMINI, "gemini-2.5-pro"),
        ("openrouter/meta-llama/llama-3-70b", Provider.OPENROUTER, "meta-llama/llama-3-70b"),
        ("anthropic/some-future-model", Provider.ANTHROPIC, "some-future-model"),
    ],
)
def test_route_model(model: str, provider: Provider, sent: str) -> None:
    assert route_model(model) == (provider, sent)


@pytest.mark.parametrize("model", ["llama-3", "mistral-large", "openai/", "gpt4", "o2-mini", "Claude-3", "x/claude-3"])
def test_unknown_models(model: str) -> None:
    with pytest.raises(UnknownModel):
        route_model(model)


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        (Provider.ANTHROPIC, "claude-sonnet-4-5", "anthropic/claude-sonnet-4.5"),
        (Provider.ANTHROPIC, "claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4.5"),
        (Provider.ANTHROPIC, "claude-opus-4-1", "anthropic/claude-opus-4.1"),
        (Provider.ANTHROPIC, "claude-haiku-4-5", "anthropic/claude-haiku-4.5"),
        (Provider.ANTHROPIC, "claude-3-5-haiku-20241022", "anthropic/claude-3.5-haiku"),
        (Provider.ANTHROPIC, "claude-3-7-sonnet-latest", "anthropic/claude-3.7-sonnet"),
        (Provider.ANTHROPIC, "claude-sonnet-4-20250514", "anthropic/claude-sonnet-4"),
        (Provider.ANTHROPIC, "claude-sonnet-4-0", "anthropic/claude-sonnet-4"),
        (Provider.OPENAI, "gpt-4.1", "openai/gpt-4.1"),
        (Provider.OPENAI, "gpt-4o-mini", "openai/gpt-4o-mini"),
        (Provider.OPENAI, "o3-mini", "openai/o3-mini"),
        (Provider.GEMINI, "gemini-2.5-flash", "google/gemini-2.5-flash"),
        (Provider.OPENROUTER, "meta-llama/llama-3-70b", "meta-llama/llama-3-70b"),
    ],
)
def test_openrouter_ids(provider: Provider, model: str, expected: str) -> None:
    assert openrouter_model_id(provider, model) == expected

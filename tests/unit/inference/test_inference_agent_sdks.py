"""Agent-grade prompts through the real SDKs (our adapters and translations) against the fake providers.

For every provider, plain and streamed: a two-turn tool round trip, an image, a cached system prompt,
reasoning, and the features a provider cannot do refused before any call. The fake checks each request
as the real API would (a wrong shape is a 400), so these tests fail when a translation drifts.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from byok_events import Provider
from byok_inference.adapters.providers.gateway import SdkGateway
from byok_inference.domain.calls import Completion, FailureKind, ProviderCall, ProviderFailure
from byok_testing.fake_providers import RunningFakeProviders
from byok_testing.fake_providers.rules import Rule

MODELS = {
    Provider.ANTHROPIC: "claude-sonnet-4-5",
    Provider.OPENAI: "gpt-4.1",
    Provider.GEMINI: "gemini-2.5-flash",
    Provider.OPENROUTER: "anthropic/claude-sonnet-4.5",
}
REASONING_MODELS = {**MODELS, Provider.OPENAI: "o4-mini"}
PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def make_call(provider: Provider, messages: list[dict[str, Any]], **fields: Any) -> ProviderCall:
    return ProviderCall(
        provider=provider,
        model=MODELS[provider],
        api_key=f"key-{provider.value}",
        max_tokens=256,
        messages=messages,
        **fields,
    )


async def run(gateway: SdkGateway, call: ProviderCall, stream: bool) -> tuple[Completion, list[tuple[str, Any]]]:
    deltas: list[tuple[str, Any]] = []

    async def sink(text: str, tool_calls: Any = None) -> None:
        deltas.append((text, tool_calls))

    return await gateway.complete(call, sink if stream else None), deltas


def assembled(deltas: list[tuple[str, Any]]) -> dict[int, dict[str, str]]:
    calls: dict[int, dict[str, str]] = {}
    for _, pieces in deltas:
        for p in pieces or ():
            c = calls.setdefault(p["index"], {"id": "", "name": "", "arguments": ""})
            c["id"] = p.get("id") or c["id"]
            c["name"] = p.get("name") or c["name"]
            c["arguments"] += p.get("arguments") or ""
    return calls


@pytest.mark.parametrize("provider", list(Provider))
@pytest.mark.parametrize("stream", [False, True])
async def test_two_turn_tool_round_trip(
    fake: RunningFakeProviders, gateway: SdkGateway, provider: Provider, stream: bool
) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You answer with tools."},
        {"role": "user", "content": "What is the weather in Paris?"},
    ]
    first, deltas = await run(gateway, make_call(provider, messages, tools=[WEATHER], tool_choice="auto"), stream)
    assert first.finish_reason == "tool_calls"
    [tool_call] = first.tool_calls or []
    assert tool_call["type"] == "function" and tool_call["function"]["name"] == "get_weather"
    assert json.loads(tool_call["function"]["arguments"]) == {"city": "Paris"}
    assert tool_call["id"]
    if stream:
        assert assembled(deltas) == {
            0: {"id": tool_call["id"], "name": "get_weather", "arguments": tool_call["function"]["arguments"]}
        }
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [tool_call]},
        {"role": "tool", "tool_call_id": tool_call["id"], "content": '{"temperature_c": 21}'},
    ]
    second, deltas = await run(gateway, make_call(provider, messages, tools=[WEATHER]), stream)
    assert second.finish_reason == "stop" and second.tool_calls is None
    assert "temperature_c" in second.text and "21" in second.text
    if stream:
        assert "".join(t for t, _ in deltas) == second.text
    first_call, second_call = fake.server.book.calls
    assert first_call.features["tools"] == ["get_weather"] and first_call.features["tool_results"] == 0
    assert second_call.features["tool_results"] == 1 and second_call.status == 200


@pytest.mark.parametrize("provider", list(Provider))
async def test_a_named_tool_choice_forces_that_tool(gateway: SdkGateway, provider: Provider) -> None:
    other = {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}},
    }
    call = make_call(
        provider,
        [{"role": "user", "content": "hi"}],
        tools=[WEATHER, other],
        tool_choice={"type": "function", "function": {"name": "lookup"}},
    )
    result, _ = await run(gateway, call, False)
    assert [c["function"]["name"] for c in result.tool_calls or []] == ["lookup"]


@pytest.mark.parametrize("provider", list(Provider))
async def test_tool_choice_none_answers_in_text(gateway: SdkGateway, provider: Provider) -> None:
    result, _ = await run(
        gateway, make_call(provider, [{"role": "user", "content": "hi"}], tools=[WEATHER], tool_choice="none"), False
    )
    assert result.tool_calls is None and result.text.startswith("fake ")


@pytest.mark.parametrize("provider", list(Provider))
@pytest.mark.parametrize("stream", [False, True])
async def test_image_prompt(fake: RunningFakeProviders, gateway: SdkGateway, provider: Provider, stream: bool) -> None:
    content = [{"type": "text", "text": "What is in this picture?"}, {"type": "image_url", "image_url": {"url": PNG}}]
    result, _ = await run(gateway, make_call(provider, [{"role": "user", "content": content}]), stream)
    assert result.text.endswith("[saw 1 image]")
    [recorded] = fake.server.book.calls
    assert recorded.features["images"] == 1


@pytest.mark.parametrize("provider", [Provider.ANTHROPIC, Provider.OPENAI, Provider.OPENROUTER])
async def test_image_https_url(fake: RunningFakeProviders, gateway: SdkGateway, provider: Provider) -> None:
    content = [
        {"type": "text", "text": "describe"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]
    result, _ = await run(gateway, make_call(provider, [{"role": "user", "content": content}]), False)
    assert result.text.endswith("[saw 1 image]")


async def test_gemini_refuses_an_image_url_before_any_call(fake: RunningFakeProviders, gateway: SdkGateway) -> None:
    content = [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]
    with pytest.raises(ProviderFailure) as caught:
        await run(gateway, make_call(Provider.GEMINI, [{"role": "user", "content": content}]), False)
    assert caught.value.kind is FailureKind.UNSUPPORTED and "https URL" in str(caught.value)
    assert fake.server.book.calls == []


async def test_a_text_only_model_refuses_an_image_before_any_call(
    fake: RunningFakeProviders, gateway: SdkGateway
) -> None:
    content = [{"type": "image_url", "image_url": {"url": PNG}}]
    call = replace(make_call(Provider.OPENAI, [{"role": "user", "content": content}]), model="o3-mini")
    with pytest.raises(ProviderFailure) as caught:
        await run(gateway, call, False)
    assert caught.value.kind is FailureKind.UNSUPPORTED and "image" in str(caught.value)
    assert fake.server.book.calls == []


@pytest.mark.parametrize("provider", list(Provider))
@pytest.mark.parametrize("stream", [False, True])
async def test_cached_system_prompt(
    fake: RunningFakeProviders, gateway: SdkGateway, provider: Provider, stream: bool
) -> None:
    system = [{"type": "text", "text": "You are a careful coding agent. " * 40, "cache_control": {"type": "ephemeral"}}]
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "hello"}]
    first, _ = await run(gateway, make_call(provider, messages), stream)
    second, _ = await run(gateway, make_call(provider, messages), stream)
    assert second.usage.input_tokens == first.usage.input_tokens
    if provider in (Provider.ANTHROPIC, Provider.OPENROUTER):  # explicit breakpoints: written, then read
        assert first.usage.cache_write_tokens > 0 and first.usage.cache_read_tokens == 0
        assert second.usage.cache_read_tokens == first.usage.cache_write_tokens and second.usage.cache_write_tokens == 0
        assert [c.features["cache_breakpoint"] for c in fake.server.book.calls] == [True, True]
    else:  # OpenAI and Gemini cache by themselves: the breakpoint is not sent (OpenAI would refuse it)
        assert second.usage.cache_read_tokens > 0
        assert [c.features["cache_breakpoint"] for c in fake.server.book.calls] == [False, False]
    assert second.usage.cache_read_tokens + second.usage.cache_write_tokens <= second.usage.input_tokens


@pytest.mark.parametrize("provider", list(Provider))
@pytest.mark.parametrize("stream", [False, True])
async def test_reasoning_tokens_are_counted_in_output(
    fake: RunningFakeProviders, gateway: SdkGateway, provider: Provider, stream: bool
) -> None:
    call = replace(
        make_call(provider, [{"role": "user", "content": "think"}], reasoning_effort="high"),
        model=REASONING_MODELS[provider],
    )
    result, _ = await run(gateway, call, stream)
    assert result.usage.reasoning_tokens > 0
    assert result.usage.output_tokens == result.usage.reasoning_tokens + len(result.text.split())
    [recorded] = fake.server.book.calls
    assert recorded.features["reasoning"] is not None and recorded.status == 200
    assert result.dropped_params == ()


async def test_sampling_settings_the_api_does_not_take_are_dropped_and_listed(
    fake: RunningFakeProviders, gateway: SdkGateway
) -> None:
    anthropic_call = make_call(Provider.ANTHROPIC, [{"role": "user", "content": "hi"}], temperature=0.2, top_p=0.9)
    result, _ = await run(gateway, anthropic_call, False)
    assert result.dropped_params == ("temperature", "top_p")
    o_call = replace(make_call(Provider.OPENAI, [{"role": "user", "content": "hi"}], temperature=0.2), model="o4-mini")
    result, _ = await run(gateway, o_call, True)
    assert result.dropped_params == ("temperature",)
    plain = make_call(Provider.OPENAI, [{"role": "user", "content": "hi"}], temperature=0.2, reasoning_effort="low")
    result, _ = await run(gateway, plain, False)
    assert result.dropped_params == ("reasoning_effort",)  # gpt-4.1 does not reason: ignored
    assert all(c.status == 200 for c in fake.server.book.calls)


async def test_anthropic_reasoning_in_a_tool_loop(fake: RunningFakeProviders, gateway: SdkGateway) -> None:
    """Thinking on the first turn; the continuation after the tool result goes without it (Anthropic wants
    the thinking blocks back, which Chat Completions messages cannot carry)."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "weather in Oslo?"}]
    first, _ = await run(
        gateway, make_call(Provider.ANTHROPIC, messages, tools=[WEATHER], reasoning_effort="low"), False
    )
    assert first.usage.reasoning_tokens > 0 and first.tool_calls
    messages += [
        {"role": "assistant", "content": None, "tool_calls": first.tool_calls},
        {"role": "tool", "tool_call_id": first.tool_calls[0]["id"], "content": "sunny"},
    ]
    second, _ = await run(
        gateway, make_call(Provider.ANTHROPIC, messages, tools=[WEATHER], reasoning_effort="low"), True
    )
    assert second.dropped_params == ("reasoning_effort",) and "sunny" in second.text
    assert [c.status for c in fake.server.book.calls] == [200, 200]


async def test_anthropic_refuses_reasoning_with_a_forced_tool(fake: RunningFakeProviders, gateway: SdkGateway) -> None:
    call = make_call(
        Provider.ANTHROPIC,
        [{"role": "user", "content": "x"}],
        tools=[WEATHER],
        tool_choice="required",
        reasoning_effort="low",
    )
    with pytest.raises(ProviderFailure) as caught:
        await run(gateway, call, False)
    assert caught.value.kind is FailureKind.UNSUPPORTED and "reasoning_effort" in str(caught.value)
    assert fake.server.book.calls == []


async def test_openrouter_anthropic_model_refuses_reasoning_with_a_forced_tool_before_any_call(
    fake: RunningFakeProviders, gateway: SdkGateway
) -> None:
    call = make_call(Provider.OPENROUTER, [{"role": "user", "content": "x"}], tools=[WEATHER], tool_choice="required")
    with pytest.raises(ProviderFailure) as caught:
        await run(gateway, replace(call, reasoning_effort="low"), False)
    assert caught.value.kind is FailureKind.UNSUPPORTED and "reasoning_effort" in str(caught.value)
    assert fake.server.book.calls == []
    result, _ = await run(gateway, call, False)  # the same without reasoning goes through
    assert result.finish_reason == "tool_calls"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("fields", "feature"),
    [
        ({"tools": [WEATHER]}, "tools"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG}}]}]},
            "image input",
        ),
    ],
)
async def test_openrouter_without_an_endpoint_for_a_feature_is_unsupported(
    fake: RunningFakeProviders, gateway: SdkGateway, stream: bool, fields: dict[str, Any], feature: str
) -> None:
    """OpenRouter's own refusal (HTTP 404 'No endpoints found that support ...') names the feature; its text
    is not copied, nothing is retried."""
    fake.server.book.rules.append(Rule(action="no_endpoint", provider="openrouter"))
    call = replace(
        make_call(Provider.OPENROUTER, [{"role": "user", "content": "x"}]), model="meta-llama/llama-3.3-70b-instruct"
    )
    with pytest.raises(ProviderFailure) as caught:
        await run(gateway, replace(call, **fields), stream)
    assert caught.value.kind is FailureKind.UNSUPPORTED and not caught.value.kind.retriable
    assert str(caught.value) == f"openrouter cannot do this: {feature} with this model (no endpoint supports it)"
    assert [c.status for c in fake.server.book.calls] == [404]


@pytest.mark.parametrize("stream", [False, True])
async def test_gemini_thought_signatures_round_trip(
    fake: RunningFakeProviders, gateway: SdkGateway, stream: bool
) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "weather in Rome?"}]
    first, _ = await run(
        gateway, make_call(Provider.GEMINI, messages, tools=[WEATHER], reasoning_effort="medium"), stream
    )
    [tool_call] = first.tool_calls or []
    assert tool_call["id"].startswith("gcall_") and ".ts." in tool_call["id"]
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [tool_call]},
        {"role": "tool", "tool_call_id": tool_call["id"], "content": "rainy"},
    ]
    second, _ = await run(
        gateway, make_call(Provider.GEMINI, messages, tools=[WEATHER], reasoning_effort="medium"), stream
    )
    assert "rainy" in second.text
    assert fake.server.book.calls[1].features["signatures_returned"] == 1

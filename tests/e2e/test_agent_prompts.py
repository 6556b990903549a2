"""Agent-grade prompts end to end (real Kafka, Vault, PostgreSQL, the three services, fake providers):
for each of the four providers, plain and streamed, a two-turn tool conversation, an image prompt, a cached
system prompt whose cache tokens are billed as such, and a reasoning request whose reasoning tokens are
billed as output; a prompt routed through OpenRouter with tools; a 403 on a user key (key_forbidden)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import genai_prices
import pytest
from byok_events import topics
from byok_testing.topics import TopicTail

pytestmark = pytest.mark.integration

# (model in the request, provider called, model sent, reasoning-capable model)
PROVIDERS = {
    "anthropic": ("claude-sonnet-4-5", "claude-sonnet-4-5", "claude-sonnet-4-5"),
    "openai": ("gpt-4.1", "gpt-4.1", "o4-mini"),
    "gemini": ("gemini-2.5-flash", "gemini-2.5-flash", "gemini-2.5-flash"),
    "openrouter": (
        "openrouter/anthropic/claude-sonnet-4.5",
        "anthropic/claude-sonnet-4.5",
        "openrouter/openai/o4-mini",
    ),
}
PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
async def tail(services: dict[str, str]) -> AsyncIterator[TopicTail]:
    """Every record of the answer, usage and charge topics from now on (one reader for the whole module)."""
    names = (topics.PROMPT_RESPONSES, topics.BILLING_CHARGES, topics.USAGE_EVENTS)
    async with TopicTail(services["BYOK_KAFKA_BOOTSTRAP"], *names) as t:
        yield t


async def of_request(tail: TopicTail, topic: str, request_id: str) -> list[dict[str, Any]]:
    """The records of `topic` about the request, once one arrived."""
    return await tail.wait_for(lambda v: v.get("request_id") == request_id, topic=topic, timeout=60)


async def ask(
    client: Any, tenant: Any, tail: TopicTail, model: str, messages: list[dict[str, Any]], **fields: Any
) -> tuple[Any, list[dict[str, Any]]]:
    request = {**tenant.prompt(model), "messages": messages, **fields}
    request_id = str(uuid.uuid4())
    waiter = await client.submit({**request, "request_id": request_id}, user_token=tenant.token)
    response = await asyncio.wait_for(waiter, 60)
    # this module's own reader: once it has the final answer, it has the deltas before it
    await tail.wait_for(
        lambda v: v["request_id"] == request_id and v["status"] != "delta", topic=topics.PROMPT_RESPONSES, timeout=60
    )
    deltas = tail.values(
        lambda v: v["request_id"] == request_id and v["status"] == "delta", topic=topics.PROMPT_RESPONSES
    )
    return response, deltas


def expected_cost(provider: str, model: str, usage: dict[str, Any]) -> Decimal:
    price = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage["input_tokens"],
            output_tokens=usage["output_tokens"],
            cache_read_tokens=usage["cache_read_tokens"],
            cache_write_tokens=usage["cache_write_tokens"],
        ),
        model_ref=model,
        provider_id=provider,
        genai_request_timestamp=datetime.fromisoformat(usage["occurred_at"].replace("Z", "+00:00")),
    )
    return price.total_price


def assembled(deltas: list[dict[str, Any]]) -> list[dict[str, str]]:
    calls: dict[int, dict[str, str]] = {}
    for d in deltas:
        for p in d.get("tool_call_deltas") or ():
            c = calls.setdefault(p["index"], {"id": "", "name": "", "arguments": ""})
            c["id"] = p.get("id") or c["id"]
            c["name"] = p.get("name") or c["name"]
            c["arguments"] += p.get("arguments") or ""
    return [calls[i] for i in sorted(calls)]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_two_turn_tool_conversation(services, tenant, client, tail, provider: str, stream: bool) -> None:
    model, sent_model, _ = PROVIDERS[provider]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "Use tools."},
        {"role": "user", "content": "Weather in Lisbon?"},
    ]
    first, deltas = await ask(client, tenant, tail, model, messages, tools=[WEATHER], tool_choice="auto", stream=stream)
    assert first.status == "completed", first.error
    assert (first.provider, first.model, first.finish_reason) == (provider, sent_model, "tool_calls")
    [call] = first.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Lisbon"}
    if stream:
        assert assembled(deltas) == [{"id": call.id, "name": "get_weather", "arguments": call.function.arguments}]
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"sky": "clear", "celsius": 19}'},
    ]
    second, deltas = await ask(client, tenant, tail, model, messages, tools=[WEATHER], stream=stream)
    assert second.status == "completed", second.error
    assert second.finish_reason == "stop" and not second.tool_calls
    assert "celsius" in second.output_text and "19" in second.output_text
    if stream:
        assert "".join(d["output_text"] or "" for d in deltas) == second.output_text
    for response in (first, second):
        [usage] = await of_request(tail, topics.USAGE_EVENTS, response.request_id)
        assert usage["input_tokens"] == response.usage.input_tokens > 0


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_image_prompt(services, tenant, client, tail, provider: str, stream: bool) -> None:
    model = PROVIDERS[provider][0]
    content = [{"type": "text", "text": "What is in this picture?"}, {"type": "image_url", "image_url": {"url": PNG}}]
    response, deltas = await ask(client, tenant, tail, model, [{"role": "user", "content": content}], stream=stream)
    assert response.status == "completed", response.error
    assert response.output_text.endswith("[saw 1 image]")
    if stream:
        assert "".join(d["output_text"] or "" for d in deltas) == response.output_text


async def test_an_image_url_gemini_cannot_fetch_is_refused_before_any_call(
    services, tenant, client, tail, fake
) -> None:
    content = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
    ]
    marker = uuid.uuid4().hex
    content[0]["text"] = marker
    response, _ = await ask(client, tenant, tail, "gemini-2.5-flash", [{"role": "user", "content": content}])
    assert response.status == "failed" and response.error.code == "invalid_request"
    assert "https URL" in response.error.message
    assert await fake.calls(contains=marker) == []


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_cached_system_prompt_is_billed_as_cache_tokens(
    services, tenant, client, tail, provider: str, stream: bool
) -> None:
    model, sent_model, _ = PROVIDERS[provider]
    system = [
        {
            "type": "text",
            "text": f"[{uuid.uuid4().hex}] You are a coding agent. " * 60,
            "cache_control": {"type": "ephemeral"},
        }
    ]
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "hello"}]
    first, _ = await ask(client, tenant, tail, model, messages, stream=stream)
    second, _ = await ask(client, tenant, tail, model, messages, stream=stream)
    assert first.status == second.status == "completed"
    if provider in ("anthropic", "openrouter"):  # explicit breakpoint: written once, then read
        assert first.usage.cache_write_tokens > 0 and second.usage.cache_read_tokens == first.usage.cache_write_tokens
    else:  # cached by the provider on its own
        assert second.usage.cache_read_tokens > 0
    for response in (first, second):
        [usage] = await of_request(tail, topics.USAGE_EVENTS, response.request_id)
        [charge] = await of_request(tail, topics.BILLING_CHARGES, response.request_id)
        assert (usage["cache_read_tokens"], usage["cache_write_tokens"]) == (
            response.usage.cache_read_tokens,
            response.usage.cache_write_tokens,
        )
        cost = Decimal(charge["provider_cost"])
        assert cost == expected_cost(provider, sent_model, usage)
        as_plain_input = expected_cost(provider, sent_model, {**usage, "cache_read_tokens": 0, "cache_write_tokens": 0})
        assert cost != as_plain_input, "cache tokens are priced at their own rates"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_reasoning_tokens_are_billed_as_output(
    services, tenant, client, tail, provider: str, stream: bool
) -> None:
    model = PROVIDERS[provider][2]
    response, _ = await ask(
        client,
        tenant,
        tail,
        model,
        [{"role": "user", "content": "Think hard."}],
        reasoning_effort="high",
        stream=stream,
    )
    assert response.status == "completed", response.error
    assert response.usage.reasoning_tokens > 0
    assert response.usage.output_tokens > response.usage.reasoning_tokens
    [usage] = await of_request(tail, topics.USAGE_EVENTS, response.request_id)
    [charge] = await of_request(tail, topics.BILLING_CHARGES, response.request_id)
    assert (
        usage["reasoning_tokens"] == response.usage.reasoning_tokens
        and usage["output_tokens"] == response.usage.output_tokens
    )
    cost = Decimal(charge["provider_cost"])
    assert cost == expected_cost(usage["provider"], usage["model"], usage)
    without = expected_cost(
        usage["provider"],
        usage["model"],
        {**usage, "output_tokens": usage["output_tokens"] - usage["reasoning_tokens"]},
    )
    assert cost > without, "the reasoning tokens are in the price, at the output rate"


async def test_a_direct_model_routed_through_openrouter_with_tools(services, tenant, client, tail, fake) -> None:
    key = "sk-or-v1-" + uuid.uuid4().hex + uuid.uuid4().hex
    await tenant.store_key("openrouter", key)
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Quito?"}]
    first, _ = await ask(client, tenant, tail, "claude-sonnet-4-5", messages, tools=[WEATHER], stream=True)
    assert (first.provider, first.route, first.model, first.key_source) == (
        "openrouter",
        "openrouter",
        "anthropic/claude-sonnet-4.5",
        "user",
    )
    [call] = first.tool_calls
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "hail"},
    ]
    second, _ = await ask(client, tenant, tail, "claude-sonnet-4-5", messages, tools=[WEATHER])
    assert second.route == "openrouter" and "hail" in second.output_text
    recorded = await fake.calls(api_key=key)
    assert [(c["provider"], c["features"]["tools"], c["features"]["tool_results"]) for c in recorded] == [
        ("openrouter", ["get_weather"], 0),
        ("openrouter", ["get_weather"], 1),
    ]


async def test_a_403_on_a_user_key_is_key_forbidden_and_the_key_stays_active(
    services, tenant, client, tail, fake
) -> None:
    key = "sk-proj-" + uuid.uuid4().hex + uuid.uuid4().hex
    await tenant.store_key("openai", key)
    await fake.add_rules({"action": "403", "api_key": key})
    response, _ = await ask(client, tenant, tail, "gpt-4.1", [{"role": "user", "content": "hi"}])
    assert response.status == "failed" and response.error.code == "key_forbidden"
    assert key not in response.error.message
    assert [c["provider"] for c in await fake.calls(api_key=key)] == ["openai"], "no retry and no fallback"
    await asyncio.sleep(2)  # time enough for a key.invalid to reach the key-vault service, were one sent
    [listed] = await tenant.list_keys()
    assert listed["status"] == "active"

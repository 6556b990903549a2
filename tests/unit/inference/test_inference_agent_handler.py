"""The prompt handler with agent-grade prompts: tools, deltas, dropped params, metadata, reasoning usage,
403 (key_forbidden), features a provider cannot do (invalid_request before any call)."""

from __future__ import annotations

from typing import Any

import pytest
from byok_events import ErrorCode, PromptRequest
from byok_inference.domain.calls import Completion, FailureKind, ProviderCall, ProviderFailure, TokenUsage
from byok_inference.handlers import call_messages, handle_prompt
from byok_inference.ports import DeltaSink
from fakes.inference import CREATED_AT, make_harness

TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


class ScriptedProviders:
    """Answers with a given completion, streaming the given deltas first."""

    def __init__(
        self, completion: Completion, deltas: list[tuple[str, Any]] = (), failure: ProviderFailure | None = None
    ) -> None:  # type: ignore[assignment]
        self.completion, self.deltas, self.failure = completion, list(deltas), failure
        self.calls: list[ProviderCall] = []

    async def complete(self, call: ProviderCall, on_delta: DeltaSink | None = None) -> Completion:
        self.calls.append(call)
        if self.failure is not None:
            raise self.failure
        for text, pieces in self.deltas if on_delta else ():
            await on_delta(text, pieces)  # type: ignore[misc]
        return self.completion


def prompt(**fields: Any) -> PromptRequest:
    body: dict[str, Any] = {
        "request_id": "r1",
        "tenant_id": "t1",
        "user_id": "u1",
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "weather?"}],
        "created_at": CREATED_AT,
    }
    return PromptRequest.model_validate({**body, **fields})


async def test_tool_call_reasoning_dropped_params_and_metadata_reach_response_and_usage() -> None:
    h = make_harness()
    h.keys.put("system", "*", None, "openai", "sys-key")
    completion = Completion(
        "", "tool_calls", TokenUsage(100, 50, 20, 0, 30), tool_calls=[TOOL_CALL], dropped_params=("temperature",)
    )
    h.deps.providers = providers = ScriptedProviders(completion)
    await handle_prompt(
        prompt(
            tools=[WEATHER],
            tool_choice="required",
            temperature=0.3,
            reasoning_effort="high",
            metadata={"agent": "codebuff"},
        ),
        h.deps,
    )
    [final] = h.publisher.finals()
    assert final.status == "completed" and final.finish_reason == "tool_calls"
    assert [c.model_dump() for c in final.tool_calls or []] == [TOOL_CALL]
    assert final.dropped_params == ["temperature"]
    assert final.metadata == {"agent": "codebuff"}
    assert final.usage is not None and final.usage.reasoning_tokens == 30 and final.usage.output_tokens == 50
    [usage] = h.publisher.usages
    assert (usage.reasoning_tokens, usage.output_tokens, usage.metadata) == (30, 50, {"agent": "codebuff"})
    [call] = providers.calls
    assert call.tools == [WEATHER] and call.tool_choice == "required" and call.reasoning_effort == "high"
    assert call.reuse_client is True


async def test_stream_deltas_carry_tool_call_pieces() -> None:
    h = make_harness()
    h.keys.put("system", "*", None, "openai", "sys-key")
    pieces = [
        ("", [{"index": 0, "id": "call_1", "name": "get_weather"}]),
        ("", [{"index": 0, "arguments": '{"city": "Paris"}'}]),
    ]
    h.deps.providers = ScriptedProviders(Completion("", "tool_calls", TokenUsage(5, 5), tool_calls=[TOOL_CALL]), pieces)
    await handle_prompt(prompt(tools=[WEATHER], stream=True), h.deps)
    deltas = [r for r in h.publisher.responses if r.status == "delta"]
    assert [[d.model_dump(exclude_none=True) for d in r.tool_call_deltas or []] for r in deltas] == [
        [{"index": 0, "id": "call_1", "name": "get_weather"}],
        [{"index": 0, "arguments": '{"city": "Paris"}'}],
    ]
    [final] = h.publisher.finals()
    assert final.tool_calls is not None and final.tool_calls[0].id == "call_1" and final.dropped_params is None


@pytest.mark.parametrize("source", ["user", "org", "request"])
async def test_403_on_a_user_side_key_is_key_forbidden_without_fallback_or_invalid_mark(source: str) -> None:
    h = make_harness()
    key = f"{source}-openai-key"
    sealed = {"openai": h.sealed.seal(key, "t1", "r1", "openai")} if source == "request" else None
    if source != "request":
        h.keys.put(source, "t1", "u1", "openai", key)  # type: ignore[arg-type]
    h.keys.put("system", "*", None, "openai", "sys-key")
    h.providers.fail(key, FailureKind.FORBIDDEN, times=5)
    await handle_prompt(prompt(sealed_keys=sealed), h.deps)
    [final] = h.publisher.finals()
    assert final.error is not None and (final.error.code, final.error.retriable) == (ErrorCode.KEY_FORBIDDEN, False)
    assert [c.api_key for c in h.providers.calls] == [key], "no retry, no fallback to the system key"
    assert h.publisher.key_events == [], "a forbidden key is not marked invalid"
    assert h.publisher.usages == [] and key not in final.error.message


async def test_403_on_the_system_key_is_a_provider_error() -> None:
    h = make_harness()
    h.keys.put("system", "*", None, "openai", "sys-key")
    h.providers.fail("sys-key", FailureKind.FORBIDDEN)
    await handle_prompt(prompt(), h.deps)
    [final] = h.publisher.finals()
    assert final.error is not None and final.error.code is ErrorCode.PROVIDER_ERROR
    assert h.publisher.key_events == [] and len(h.providers.calls) == 1


async def test_a_feature_the_provider_cannot_do_is_invalid_request_without_retry() -> None:
    h = make_harness()
    h.keys.put("system", "*", None, "gemini", "sys-key")
    failure = ProviderFailure(FailureKind.UNSUPPORTED, "gemini cannot do this: image_url with an https URL")
    h.deps.providers = providers = ScriptedProviders(Completion("", None, TokenUsage(0, 0)), failure=failure)
    await handle_prompt(prompt(model="gemini-2.5-flash", metadata={"k": "v"}), h.deps)
    [final] = h.publisher.finals()
    assert final.error is not None and final.error.code is ErrorCode.INVALID_REQUEST
    assert "image_url" in final.error.message and final.metadata == {"k": "v"}
    assert len(providers.calls) == 1 and h.sleeps == [] and h.publisher.usages == []


async def test_request_keys_ask_for_a_client_of_their_own() -> None:
    h = make_harness()
    sealed = {"openai": h.sealed.seal("request-openai-key", "t1", "r1", "openai")}
    await handle_prompt(prompt(sealed_keys=sealed), h.deps)
    [call] = h.providers.calls
    assert call.api_key == "request-openai-key" and call.reuse_client is False


def test_call_messages_plain_text_fast_path_and_rich_messages() -> None:
    request = prompt(
        messages=[
            {"role": "system", "content": "s", "name": "extra-field-not-sent"},
            {"role": "user", "content": [{"type": "text", "text": "q", "cache_control": {"type": "ephemeral"}}]},
            {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ]
    )
    assert call_messages(request) == [
        {"role": "system", "content": "s"},
        {"role": "user", "content": [{"type": "text", "text": "q", "cache_control": {"type": "ephemeral"}}]},
        {"role": "assistant", "tool_calls": [TOOL_CALL]},
        {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
    ]

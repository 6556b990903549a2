"""domain.translation.openai_chat: OpenAI and OpenRouter Chat Completions (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest
from byok_events import Provider
from byok_inference.domain.calls import ProviderCall, TokenUsage
from byok_inference.domain.translation import openai_chat as t
from byok_inference.domain.translation.common import StreamState, Unsupported

TEXT = [{"role": "user", "content": "hi"}]
CACHED = [{"role": "system", "content": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}]}, *TEXT]


def call(model: str = "gpt-4.1", messages: list[dict[str, Any]] = TEXT, **fields: Any) -> ProviderCall:
    return ProviderCall(Provider.OPENAI, model, "k", messages, max_tokens=50, **fields)


def test_text_is_passed_through_unchanged() -> None:
    body, dropped = t.request(call())
    assert body == {"model": "gpt-4.1", "messages": TEXT, "max_completion_tokens": 50}
    assert body["messages"] is TEXT  # no copy for the common case
    assert dropped == ()


def test_openrouter_takes_max_tokens_and_keeps_cache_control() -> None:
    body, _ = t.request(call("anthropic/claude-sonnet-4.5", CACHED), t.OPENROUTER)
    assert body["max_tokens"] == 50 and "max_completion_tokens" not in body
    assert body["messages"] == CACHED


def test_openai_gets_no_cache_control() -> None:
    body, _ = t.request(call(messages=CACHED))
    assert body["messages"][0]["content"] == [{"type": "text", "text": "s"}]
    assert CACHED[0]["content"][0]["cache_control"] == {"type": "ephemeral"}  # the input is not changed


def test_sampling_tools_and_stream() -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    body, dropped = t.request(
        call(temperature=0.1, top_p=0.2, stop=["x"], tools=tools, tool_choice="required"), stream=True
    )
    assert (body["temperature"], body["top_p"], body["stop"], body["tools"], body["tool_choice"]) == (
        0.1,
        0.2,
        ["x"],
        tools,
        "required",
    )
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert dropped == ()


@pytest.mark.parametrize("model", ["o1", "o3", "o4-mini", "gpt-5", "gpt-5-mini"])
def test_reasoning_models_take_effort_and_drop_sampling(model: str) -> None:
    body, dropped = t.request(call(model, temperature=0.5, top_p=0.5, stop="x" and ["x"], reasoning_effort="high"))
    assert body["reasoning_effort"] == "high"
    assert "temperature" not in body and "top_p" not in body and "stop" not in body
    assert dropped == ("temperature", "top_p", "stop")


def test_other_models_ignore_effort_and_list_it() -> None:
    body, dropped = t.request(call(reasoning_effort="low"))
    assert "reasoning_effort" not in body and dropped == ("reasoning_effort",)


def test_openrouter_reasoning_object() -> None:
    body, dropped = t.request(call("openai/o4-mini", temperature=0.3, reasoning_effort="medium"), t.OPENROUTER)
    assert body["reasoning"] == {"effort": "medium"} and body["temperature"] == 0.3 and dropped == ()


def test_what_some_openai_models_cannot_do() -> None:
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}]
    with pytest.raises(Unsupported, match="image"):
        t.request(call("o3-mini", image))
    with pytest.raises(Unsupported, match="tools"):
        t.request(call("o1-mini", tools=[{"type": "function", "function": {"name": "f"}}]))
    assert t.request(call("gpt-4.1", image))[0]["messages"] == image


def test_completion_with_tool_calls_and_usage() -> None:
    data = {
        "choices": [
            {
                "message": {
                    "content": None,
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 40,
            "prompt_tokens_details": {"cached_tokens": 60, "cache_write_tokens": 10},
            "completion_tokens_details": {"reasoning_tokens": 25},
        },
    }
    result = t.completion(data, ("stop",))
    assert result.text == "" and result.finish_reason == "tool_calls"
    assert result.tool_calls == [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}
    ]
    assert result.usage == TokenUsage(100, 40, 60, 10, 25)
    assert result.dropped_params == ("stop",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("tool_calls", "tool_calls"),
        ("function_call", "tool_calls"),
        ("content_filter", "content_filter"),
        ("error", "error"),
        ("other", "stop"),
        (None, None),
    ],
)
def test_finish_reasons(value: str | None, expected: str | None) -> None:
    assert t.finish_reason(value) == expected


def test_empty_answers() -> None:
    result = t.completion({})
    assert (result.text, result.finish_reason, result.usage, result.tool_calls) == ("", None, TokenUsage(0, 0), None)


def test_stream_assembles_parallel_tool_calls() -> None:
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"index": 0, "delta": {"content": "ok"}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": ""}}
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 1, "id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}}
                        ]
                    },
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"q":'}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"z"}'}}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {
            "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 9, "completion_tokens_details": {"reasoning_tokens": 4}},
        },
    ]
    state = StreamState()
    deltas = [d for d in (t.stream_event(state, c) for c in chunks) if d is not None]
    assert deltas[0].text == "ok"
    assert [p for d in deltas for p in d.tool_calls or ()] == [
        {"index": 0, "id": "a", "name": "f"},
        {"index": 1, "id": "b", "name": "g", "arguments": "{}"},
        {"index": 0, "arguments": '{"q":'},
        {"index": 0, "arguments": '"z"}'},
    ]
    result = state.completion()
    assert result.tool_calls == [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": '{"q":"z"}'}},
        {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
    ]
    assert result.finish_reason == "tool_calls" and result.usage == TokenUsage(3, 9, 0, 0, 4)


# OpenRouter: no table of its own; known vendors inherit their provider's limits --------------------------

TOOLS = [{"type": "function", "function": {"name": "f"}}]


def image(url: str, role: str = "user") -> list[dict[str, Any]]:
    return [{"role": role, "content": [{"type": "image_url", "image_url": {"url": url}}]}]


def routed(model: str, messages: list[dict[str, Any]] = TEXT, **fields: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    return t.request(call(model, messages, **fields), t.OPENROUTER)


@pytest.mark.parametrize(
    ("model", "fields", "feature"),
    [
        ("openai/o1-mini", {"tools": TOOLS}, "tools with openai/o1-mini"),
        ("openai/o1-preview:free", {"tools": TOOLS}, "tools with openai/o1-preview:free"),
        ("openai/o3-mini", {"messages": image("https://x.test/a.png")}, "image input with openai/o3-mini"),
        ("openai/gpt-3.5-turbo", {"messages": image("data:image/png;base64,AAAA")}, "image input"),
        (
            "anthropic/claude-sonnet-4.5",
            {"tools": TOOLS, "tool_choice": "required", "reasoning_effort": "low"},
            "reasoning_effort with a forced tool_choice",
        ),
        (
            "anthropic/claude-opus-4",
            {
                "tools": TOOLS,
                "tool_choice": {"type": "function", "function": {"name": "f"}},
                "reasoning_effort": "high",
            },
            "reasoning_effort with a forced tool_choice",
        ),
        ("google/gemini-2.5-flash", {"messages": image("data:image/bmp;base64,AAAA")}, "image_url of type image/bmp"),
        ("meta-llama/llama-3.3-70b", {"messages": image("data:image/tiff;base64,AAAA")}, "image/tiff"),
    ],
)
def test_openrouter_refuses_what_the_route_is_known_not_to_take(model: str, fields: Any, feature: str) -> None:
    with pytest.raises(Unsupported, match="openrouter cannot do this") as caught:
        routed(model, **fields)
    assert feature in str(caught.value)


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        ("openai/gpt-4.1", {"tools": TOOLS, "messages": image("https://x.test/a.png")}),
        ("openai/o4-mini", {"tools": TOOLS, "tool_choice": "required", "reasoning_effort": "high"}),
        ("anthropic/claude-sonnet-4.5", {"tools": TOOLS, "tool_choice": "auto", "reasoning_effort": "low"}),
        ("anthropic/claude-sonnet-4.5", {"messages": image("https://x.test/a.png", role="system")}),
        ("google/gemini-2.5-flash", {"messages": image("https://x.test/a.png")}),  # OpenRouter fetches URLs
        ("google/gemini-2.5-flash", {"tools": TOOLS, "tool_choice": "required", "reasoning_effort": "low"}),
        ("meta-llama/llama-3.3-70b", {"tools": TOOLS, "messages": image("data:image/webp;base64,AAAA")}),
        ("o1-mini", {"tools": TOOLS}),  # not an openai/ id: OpenRouter's own answer decides
    ],
)
def test_openrouter_passes_what_the_route_may_take(model: str, fields: Any) -> None:
    body, _ = routed(model, **fields)
    assert body["model"] == model


def test_openrouter_text_only_is_not_inspected() -> None:
    body, dropped = routed("openai/o1-mini")
    assert body["messages"] is TEXT and dropped == ()

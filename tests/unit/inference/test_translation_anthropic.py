"""domain.translation.anthropic: Chat Completions in, Messages API out, and back (pure functions)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from byok_events import Provider
from byok_inference.domain.calls import ProviderCall, TokenUsage
from byok_inference.domain.translation import anthropic as t
from byok_inference.domain.translation.common import StreamState, Unsupported


def call(messages: list[dict[str, Any]], **fields: Any) -> ProviderCall:
    return ProviderCall(Provider.ANTHROPIC, "claude-sonnet-4-5", "k", messages, max_tokens=100, **fields)


def test_plain_text_is_sent_as_strings_with_the_system_lifted_out() -> None:
    body, dropped = t.request(
        call(
            [{"role": "system", "content": "A"}, {"role": "system", "content": "B"}, {"role": "user", "content": "hi"}]
        )
    )
    assert body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
        "system": "A\n\nB",
    }
    assert dropped == ()


def test_plain_text_fast_path_matches_the_general_translation_and_copies_nothing() -> None:
    user = {"role": "user", "content": "hi"}
    assistant = {"role": "assistant", "content": "hello"}
    messages = [{"role": "system", "content": "A"}, user, assistant, {"role": "user", "content": ""}]
    body, _ = t.request(call(messages))
    assert body["messages"][0] is user and body["messages"][1] is assistant  # passed as they are
    assert body["messages"] == t._messages(messages) and body["system"] == t._system(messages) == "A"
    # anything but plain text takes the general translation
    tool_turn = [user, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"}]  # fmt: skip
    assert t._plain_text(tool_turn) is None and t._plain_text([{"role": "tool", "content": "x"}]) is None
    assert t._plain_text([{"role": "user", "content": [{"type": "text", "text": "x"}]}]) is None


def test_cache_control_on_a_system_part_makes_system_blocks() -> None:
    system = [{"type": "text", "text": "long", "cache_control": {"type": "ephemeral"}}]
    body, _ = t.request(
        call(
            [
                {"role": "system", "content": system},
                {"role": "system", "content": "tail"},
                {"role": "user", "content": "q"},
            ]
        )
    )
    assert body["system"] == [
        {"type": "text", "text": "long", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "tail"},
    ]


def test_parts_images_and_cache_control() -> None:
    content = [
        {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": ""},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}, "cache_control": {"type": "ephemeral"}},
    ]
    body, _ = t.request(call([{"role": "user", "content": content}]))
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
        {
            "type": "image",
            "source": {"type": "url", "url": "https://x.test/a.jpg"},
            "cache_control": {"type": "ephemeral"},
        },
    ]


@pytest.mark.parametrize(
    ("url", "feature"),
    [("data:image/tiff;base64,AAAA", "image/tiff"), ("data:image/png,AAAA", "base64")],
)
def test_images_anthropic_cannot_take(url: str, feature: str) -> None:
    with pytest.raises(Unsupported) as caught:
        t.request(call([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]))
    assert feature in str(caught.value)


def test_images_in_a_system_message_are_refused() -> None:
    system = [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    with pytest.raises(Unsupported):
        t.request(call([{"role": "system", "content": system}, {"role": "user", "content": "q"}]))


def test_tool_calls_and_results() -> None:
    messages = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": "checking",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}},
                {"id": "c2", "type": "function", "function": {"name": "g", "arguments": ""}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "one"},
        {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "two"}]},
        {"role": "user", "content": "thanks"},
    ]
    tools = [
        {"type": "function", "function": {"name": "f", "description": "F", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "g"}},
    ]
    body, _ = t.request(call(messages, tools=tools, tool_choice="auto"))
    assert body["messages"] == [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "checking"},
                {"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}},
                {"type": "tool_use", "id": "c2", "name": "g", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "c1", "content": "one"},
                {"type": "tool_result", "tool_use_id": "c2", "content": [{"type": "text", "text": "two"}]},
            ],
        },
        {"role": "user", "content": "thanks"},
    ]
    assert body["tools"] == [
        {"name": "f", "input_schema": {"type": "object"}, "description": "F"},
        {"name": "g", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert body["tool_choice"] == {"type": "auto"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ({"type": "function", "function": {"name": "f"}}, {"type": "tool", "name": "f"}),
    ],
)
def test_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    body, _ = t.request(call([{"role": "user", "content": "q"}], tool_choice=choice))
    assert body["tool_choice"] == expected


def test_arguments_that_are_not_a_json_object_are_refused() -> None:
    messages = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}],
        },
    ]
    with pytest.raises(Unsupported):
        t.request(call(messages))


def test_sampling_settings_are_dropped_stop_is_kept() -> None:
    body, dropped = t.request(call([{"role": "user", "content": "q"}], temperature=0.5, top_p=0.5, stop=["X"]))
    assert "temperature" not in body and "top_p" not in body and body["stop_sequences"] == ["X"]
    assert dropped == ("temperature", "top_p")


@pytest.mark.parametrize("effort", ["low", "medium", "high"])
def test_reasoning_effort_becomes_a_thinking_budget_above_max_tokens(effort: str) -> None:
    body, dropped = t.request(call([{"role": "user", "content": "q"}], reasoning_effort=effort))
    budget = t.THINKING_BUDGET[effort]
    assert budget >= 1024
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] == 100 + budget > budget
    assert dropped == ()


def test_reasoning_is_refused_with_a_forced_tool_and_dropped_in_a_tool_loop() -> None:
    with pytest.raises(Unsupported):
        t.request(call([{"role": "user", "content": "q"}], tool_choice="required", reasoning_effort="low"))
    loop = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c", "content": "r"},
    ]
    body, dropped = t.request(call(loop, reasoning_effort="high"))
    assert "thinking" not in body and body["max_tokens"] == 100 and dropped == ("reasoning_effort",)


def test_stream_flag() -> None:
    assert t.request(call([{"role": "user", "content": "q"}]), stream=True)[0]["stream"] is True


def test_completion_with_text_tool_use_thinking_and_usage() -> None:
    data = {
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "text", "text": "I will "},
            {"type": "text", "text": "look"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, 2]}},
        ],
        "stop_reason": "tool_use",
        "usage": {
            "input_tokens": 10,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 5,
            "output_tokens": 50,
            "output_tokens_details": {"thinking_tokens": 30},
        },
    }
    result = t.completion(data, ("temperature",))
    assert result.text == "I will look"
    assert result.tool_calls == [
        {"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": '{"a": [1, 2]}'}}
    ]
    assert result.finish_reason == "tool_calls"
    assert result.usage == TokenUsage(115, 50, 100, 5, 30)
    assert result.dropped_params == ("temperature",)


@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("model_context_window_exceeded", "length"),
        ("pause_turn", "stop"),
        (None, None),
    ],
)
def test_finish_reasons(stop: str | None, expected: str | None) -> None:
    assert t.finish_reason(stop) == expected


def test_stream_assembles_text_and_tool_arguments() -> None:
    events = [
        {
            "type": "message_start",
            "message": {"usage": {"input_tokens": 7, "cache_read_input_tokens": 3, "output_tokens": 1}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi "}},
        {"type": "content_block_stop", "index": 1},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "tool_use", "id": "tu1", "name": "f", "input": {}},
        },
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"a"'}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ": 1}"}},
        {"type": "content_block_stop", "index": 2},
        {
            "type": "content_block_start",
            "index": 3,
            "content_block": {"type": "tool_use", "id": "tu2", "name": "g", "input": {}},
        },
        {"type": "content_block_stop", "index": 3},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 40, "output_tokens_details": {"thinking_tokens": 12}},
        },
        {"type": "message_stop"},
    ]
    state = StreamState()
    deltas = [d for d in (t.stream_event(state, e) for e in events) if d is not None]
    assert [d.text for d in deltas if d.text] == ["Hi "]
    pieces = [p for d in deltas for p in d.tool_calls or ()]
    assert pieces == [
        {"index": 0, "id": "tu1", "name": "f"},
        {"index": 0, "arguments": '{"a"'},
        {"index": 0, "arguments": ": 1}"},
        {"index": 1, "id": "tu2", "name": "g"},
        {"index": 1, "arguments": "{}"},
    ]
    result = state.completion()
    assert result.text == "Hi " and result.finish_reason == "tool_calls"
    assert [json.loads(c["function"]["arguments"]) for c in result.tool_calls or []] == [{"a": 1}, {}]
    assert result.usage == TokenUsage(10, 40, 3, 0, 12)


def test_usage_without_details() -> None:
    assert t.usage(None) == TokenUsage(0, 0)
    assert t.usage({"input_tokens": 5, "output_tokens": 2}) == TokenUsage(5, 2)

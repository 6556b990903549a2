"""The contract's agent-grade messages as event models: what parses, what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from byok_events import PromptRequest, PromptResponse, UsageEvent
from pydantic import ValidationError

CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
TOOL = {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}


def request(messages: list[dict[str, Any]], **fields: Any) -> PromptRequest:
    return PromptRequest.model_validate(
        {"request_id": "r", "tenant_id": "t", "model": "gpt-4.1", "messages": messages, **fields}
    )


def test_a_full_agent_request_round_trips_through_json() -> None:
    r = request(
        [
            {"role": "system", "content": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            },
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
        ],
        tools=[TOOL],
        tool_choice={"type": "function", "function": {"name": "f"}},
        temperature=0.2,
        top_p=0.9,
        stop=["x"],
        reasoning_effort="medium",
        metadata={"session": "s1"},
    )
    again = PromptRequest.model_validate_json(r.to_bytes())
    assert again == r
    assert r.messages[1].text() == "look" and r.messages[3].text() == "42"


@pytest.mark.parametrize(
    ("messages", "fields", "why"),
    [
        ([{"role": "tool", "content": "x"}], {}, "tool_call_id"),
        ([{"role": "user", "content": "x", "tool_call_id": "c1"}], {}, "tool_call_id"),
        ([{"role": "user", "content": "x", "tool_calls": [CALL]}], {}, "tool_calls"),
        ([{"role": "user", "content": None}], {}, "content is required"),
        ([{"role": "assistant", "content": None}], {}, "content is required"),
        ([{"role": "tool", "tool_call_id": "nope", "content": "x"}], {}, "no earlier assistant"),
        (
            [{"role": "user", "content": "x"}],
            {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "g"}}},
            "not in tools",
        ),
        ([{"role": "user", "content": "x"}], {"tool_choice": "required"}, "without tools"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://plain.test/a.png"}}]}],
            {},
            "pattern",
        ),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:text/html;base64,AA"}}]}],
            {},
            "pattern",
        ),
        ([{"role": "user", "content": [{"type": "audio", "data": "x"}]}], {}, "union_tag_invalid"),
        ([{"role": "user", "content": "x"}], {"reasoning_effort": "extreme"}, "literal_error"),
        ([{"role": "user", "content": "x"}], {"metadata": {str(i): "v" for i in range(17)}}, "at most 16"),
        ([{"role": "user", "content": "x"}], {"metadata": {"k": 1}}, "string_type"),
        (
            [{"role": "user", "content": "x"}],
            {"tools": [{"type": "function", "function": {"name": "bad name!"}}]},
            "pattern",
        ),
        ([{"role": "developer", "content": "x"}], {}, "literal_error"),
    ],
)
def test_refused_shapes(messages: list[dict[str, Any]], fields: dict[str, Any], why: str) -> None:
    with pytest.raises(ValidationError) as caught:
        request(messages, **fields)
    text = str(caught.value) + str([e["type"] for e in caught.value.errors()])
    assert why in text


def test_response_with_tool_calls_deltas_and_dropped_params() -> None:
    completed = PromptResponse.model_validate(
        {
            "request_id": "r",
            "tenant_id": "t",
            "status": "completed",
            "tool_calls": [CALL],
            "finish_reason": "tool_calls",
            "dropped_params": ["temperature"],
            "usage": {"input_tokens": 1, "output_tokens": 9, "reasoning_tokens": 4},
            "metadata": {"a": "b"},
        }
    )
    assert completed.tool_calls is not None and completed.tool_calls[0].function.name == "f"
    assert completed.usage is not None and completed.usage.reasoning_tokens == 4
    delta = PromptResponse(
        request_id="r", tenant_id="t", status="delta", output_text="", tool_call_deltas=[{"index": 0, "arguments": "{"}]
    )  # type: ignore[list-item]
    assert PromptResponse.model_validate_json(delta.to_bytes()).tool_call_deltas == delta.tool_call_deltas


def usage(**fields: Any) -> UsageEvent:
    body = {
        "event_id": "e",
        "tenant_id": "t",
        "provider": "openai",
        "model": "o4-mini",
        "key_source": "system",
        "byok": False,
        "input_tokens": 10,
        "output_tokens": 20,
        "occurred_at": "2026-11-30T00:00:00Z",
    }
    return UsageEvent.model_validate({**body, **fields})


def test_usage_reasoning_tokens_are_part_of_output_tokens() -> None:
    assert usage(reasoning_tokens=20).reasoning_tokens == 20
    assert usage().reasoning_tokens == 0
    with pytest.raises(ValidationError, match="reasoning_tokens exceed output_tokens"):
        usage(reasoning_tokens=21)
    assert usage(metadata={"agent": "x"}).metadata == {"agent": "x"}

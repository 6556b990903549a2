"""domain.translation.gemini: Chat Completions in, google-genai dicts out; SDK responses back (pure)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from byok_events import Provider
from byok_inference.domain.calls import ProviderCall, TokenUsage
from byok_inference.domain.translation import gemini as t
from byok_inference.domain.translation.common import StreamState, Unsupported
from google.genai import types


def call(messages: list[dict[str, Any]], model: str = "gemini-2.5-flash", **fields: Any) -> ProviderCall:
    return ProviderCall(Provider.GEMINI, model, "k", messages, max_tokens=64, **fields)


def response(rest: dict[str, Any]) -> types.GenerateContentResponse:
    return types.GenerateContentResponse.model_validate(rest)


def test_text_system_and_sampling() -> None:
    contents, config, dropped = t.request(
        call(
            [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "yo"},
            ],
            temperature=0.3,
            top_p=0.9,
            stop=["END"],
        )
    )
    assert contents == [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "yo"}]}]
    assert config == {
        "max_output_tokens": 64,
        "temperature": 0.3,
        "top_p": 0.9,
        "stop_sequences": ["END"],
        "system_instruction": {"parts": [{"text": "be brief"}]},
    }
    assert dropped == ()
    types.GenerateContentConfig.model_validate(config)  # the SDK accepts what we build


def test_images_inline_and_urls_refused() -> None:
    png = base64.b64encode(b"\x89PNG").decode()
    content = [
        {"type": "text", "text": "see", "cache_control": {"type": "ephemeral"}},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
    ]
    contents, _, _ = t.request(call([{"role": "user", "content": content}]))
    assert contents == [
        {"role": "user", "parts": [{"text": "see"}, {"inline_data": {"mime_type": "image/png", "data": b"\x89PNG"}}]}
    ]
    types.Content.model_validate(contents[0])
    with pytest.raises(Unsupported, match="https URL"):
        t.request(
            call([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}])
        )
    with pytest.raises(Unsupported, match="base64"):
        t.request(
            call(
                [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}],
                    }
                ]
            )
        )


def test_tools_calls_and_responses_with_synthesised_and_signed_ids() -> None:
    signed = t.encode_call_id(None, b"sig-bytes")
    native = t.encode_call_id("fc-7", None)
    assert signed.startswith(t.SYNTHETIC_PREFIX) and native == "fc-7"
    messages = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": signed, "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}},
                {"id": native, "type": "function", "function": {"name": "g", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": signed, "content": '{"ok": true}'},
        {"role": "tool", "tool_call_id": native, "content": "plain text"},
    ]
    tools = [
        {"type": "function", "function": {"name": "f", "description": "F", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "g"}},
    ]
    contents, config, _ = t.request(
        call(messages, tools=tools, tool_choice={"type": "function", "function": {"name": "g"}})
    )
    assert contents[1] == {
        "role": "model",
        "parts": [
            {"function_call": {"name": "f", "args": {"a": 1}}, "thought_signature": b"sig-bytes"},
            {"function_call": {"name": "g", "args": {}, "id": "fc-7"}},
        ],
    }
    assert contents[2] == {
        "role": "user",
        "parts": [
            {"function_response": {"name": "f", "response": {"ok": True}}},
            {"function_response": {"name": "g", "response": {"output": "plain text"}, "id": "fc-7"}},
        ],
    }
    assert config["tools"] == [
        {
            "function_declarations": [
                {"name": "f", "description": "F", "parameters_json_schema": {"type": "object"}},
                {"name": "g"},
            ]
        }
    ]
    assert config["tool_config"] == {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["g"]}}
    assert config["automatic_function_calling"] == {"disable": True}
    types.GenerateContentConfig.model_validate(config)
    for content in contents:
        types.Content.model_validate(content)


@pytest.mark.parametrize(("choice", "mode"), [("auto", "AUTO"), ("none", "NONE"), ("required", "ANY")])
def test_tool_choice_modes(choice: str, mode: str) -> None:
    _, config, _ = t.request(call([{"role": "user", "content": "q"}], tool_choice=choice))
    assert config["tool_config"] == {"function_calling_config": {"mode": mode}}


@pytest.mark.parametrize(
    ("model", "expected", "dropped"),
    [
        ("gemini-2.5-pro", {"thinking_budget": 24576}, ()),
        ("gemini-3-pro-preview", {"thinking_level": "HIGH"}, ()),
        ("gemini-2.0-flash", None, ("reasoning_effort",)),
    ],
)
def test_reasoning(model: str, expected: dict[str, Any] | None, dropped: tuple[str, ...]) -> None:
    _, config, got = t.request(call([{"role": "user", "content": "q"}], model=model, reasoning_effort="high"))
    assert config.get("thinking_config") == expected and got == dropped


def test_call_ids_round_trip() -> None:
    assert t.decode_call_id(t.encode_call_id(None, None)) == (None, None)
    assert t.decode_call_id(t.encode_call_id("x", b"\x00\xff")) == ("x", b"\x00\xff")
    assert t.decode_call_id("anything-from-elsewhere") == ("anything-from-elsewhere", None)


def test_completion_text_thoughts_calls_and_usage() -> None:
    sig = base64.b64encode(b"s1").decode()
    result = t.completion(
        response(
            {
                "candidates": [
                    {
                        "content": {
                            "role": "model",
                            "parts": [
                                {"text": "thinking...", "thought": True},
                                {"text": "Calling."},
                                {"functionCall": {"name": "f", "args": {"q": "x"}}, "thoughtSignature": sig},
                            ],
                        },
                        "finishReason": "STOP",
                    }
                ],
                "usageMetadata": {
                    "promptTokenCount": 100,
                    "toolUsePromptTokenCount": 5,
                    "candidatesTokenCount": 10,
                    "thoughtsTokenCount": 30,
                    "cachedContentTokenCount": 40,
                },
            }
        ),
        ("reasoning_effort",),
    )
    assert result.text == "Calling."
    [c] = result.tool_calls or []
    assert c["function"] == {"name": "f", "arguments": json.dumps({"q": "x"})}
    assert t.decode_call_id(c["id"]) == (None, b"s1")
    assert result.finish_reason == "tool_calls"
    assert result.usage == TokenUsage(105, 40, 40, 0, 30)
    assert result.dropped_params == ("reasoning_effort",)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "error"),
        ("OTHER", "error"),
    ],
)
def test_finish_reasons(reason: str, expected: str) -> None:
    result = t.completion(response({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}]}))
    assert result.finish_reason == expected


def test_no_candidates() -> None:
    result = t.completion(response({"promptFeedback": {"blockReason": "SAFETY"}}))
    assert (result.text, result.finish_reason, result.tool_calls) == ("", None, None)


def test_stream_of_text_then_a_call() -> None:
    chunks = [
        response({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}], "usageMetadata": {"promptTokenCount": 4}}),
        response({"candidates": [{"content": {"parts": [{"text": "lo"}]}}]}),
        response(
            {
                "candidates": [
                    {
                        "content": {"parts": [{"functionCall": {"id": "g1", "name": "f", "args": {}}}]},
                        "finishReason": "STOP",
                    }
                ],
                "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 6, "thoughtsTokenCount": 2},
            }
        ),
    ]
    state = StreamState()
    deltas = [d for d in (t.stream_event(state, c) for c in chunks) if d is not None]
    assert [d.text for d in deltas] == ["Hel", "lo", ""]
    assert deltas[2].tool_calls == [{"index": 0, "id": "g1", "name": "f", "arguments": "{}"}]
    result = state.completion()
    assert result.text == "Hello" and result.finish_reason == "tool_calls"
    assert result.usage == TokenUsage(4, 8, 0, 0, 2)

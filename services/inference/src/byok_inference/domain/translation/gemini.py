"""Gemini generateContent (google-genai) <-> the contract's Chat Completions shape.

Requests are built as the SDK's dict forms (snake_case: ContentDict, GenerateContentConfigDict);
responses are read from the SDK's GenerateContentResponse objects by attribute.
- system messages -> system_instruction; assistant -> role "model"; tool messages -> function_response
  parts in a user turn (named by looking up the call they answer);
- tool calls: Gemini's function calls may have no id, so ids are synthesised ("gcall_..."), and a call's
  thought_signature (which Gemini wants back with the call in the next turn) rides inside the id after
  ".ts.", so the conversation round-trips without state in the worker;
- images: data URLs become inline_data; Gemini cannot fetch https URLs: refused (invalid_request);
- cache_control: ignored (Gemini caches implicitly; explicit caches are a separate API);
- reasoning_effort -> thinking_config (a budget on 2.5 models, a level on 3 models); ignored elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from ..calls import Completion, ProviderCall, TokenUsage
from .common import Delta, StreamState, Unsupported, decode_base64, parse_arguments, parse_data_url, tool_names_by_id

NAME = "gemini"
SYNTHETIC_PREFIX = "gcall_"
SIGNATURE_MARK = ".ts."
THINKING_BUDGET = {"low": 1024, "medium": 8192, "high": 24576}
THINKING_LEVEL = {"low": "LOW", "medium": "MEDIUM", "high": "HIGH"}
_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
}


def finish_reason(value: Any, has_calls: bool) -> str | None:
    if value is None:
        return None
    name = getattr(value, "value", value)
    if name == "STOP" and has_calls:
        return "tool_calls"
    return _FINISH.get(name, "error")  # MALFORMED_FUNCTION_CALL, OTHER, LANGUAGE, ... end in error


def encode_call_id(gemini_id: str | None, signature: bytes | None) -> str:
    base = gemini_id or SYNTHETIC_PREFIX + uuid.uuid4().hex[:16]
    if signature:
        return base + SIGNATURE_MARK + base64.urlsafe_b64encode(signature).decode()
    return base


def decode_call_id(call_id: str) -> tuple[str | None, bytes | None]:
    """(the id Gemini gave, or None when synthesised; the thought signature, if any)."""
    base, mark, signature = call_id.partition(SIGNATURE_MARK)
    sig: bytes | None = None
    if mark:
        try:
            sig = base64.urlsafe_b64decode(signature.encode())
        except (binascii.Error, ValueError):
            sig = None
    return (None if base.startswith(SYNTHETIC_PREFIX) else base), sig


def _part(part: dict[str, Any]) -> dict[str, Any]:
    if part["type"] == "text":
        return {"text": part["text"]}
    url = part["image_url"]["url"]
    if not url.startswith("data:"):
        raise Unsupported(NAME, "image_url with an https URL (Gemini takes images inline: send a data: URL)")
    media_type, data = parse_data_url(url, NAME)
    return {"inline_data": {"mime_type": media_type, "data": decode_base64(data, NAME)}}


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    return [_part(p) for p in content or ()]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content or () if p.get("type") == "text")


def _function_response(m: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    call_id = m["tool_call_id"]
    gemini_id, _ = decode_call_id(call_id)
    text = _text(m.get("content"))
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    response = value if isinstance(value, dict) else {"output": text}
    fr: dict[str, Any] = {"name": names[call_id], "response": response}
    if gemini_id:
        fr["id"] = gemini_id
    return {"function_response": fr}


def _contents(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = tool_names_by_id(messages)
    out: list[dict[str, Any]] = []
    for m in messages:
        role = m["role"]
        if role == "system":
            continue
        if role == "tool":
            part = _function_response(m, names)
            if out and out[-1].get("_tools"):
                out[-1]["parts"].append(part)
            else:
                out.append({"role": "user", "parts": [part], "_tools": True})
            continue
        parts = _parts(m.get("content"))
        if role == "assistant":
            for c in m.get("tool_calls") or ():
                gemini_id, signature = decode_call_id(c["id"])
                fc: dict[str, Any] = {
                    "name": c["function"]["name"],
                    "args": parse_arguments(c["function"]["arguments"], NAME),
                }
                if gemini_id:
                    fc["id"] = gemini_id
                part = {"function_call": fc}
                if signature:
                    part["thought_signature"] = signature
                parts.append(part)
        out.append({"role": "model" if role == "assistant" else "user", "parts": parts})
    for item in out:
        item.pop("_tools", None)
    return out


def _system(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    parts = [p for m in messages if m["role"] == "system" for p in _parts(m["content"])]
    if any("text" not in p for p in parts):
        raise Unsupported(NAME, "images in a system message")
    return {"parts": parts} if parts else None


def _tool_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, dict):
        return {"function_calling_config": {"mode": "ANY", "allowed_function_names": [choice["function"]["name"]]}}
    return {"function_calling_config": {"mode": {"auto": "AUTO", "none": "NONE", "required": "ANY"}[choice]}}


def _thinking(model: str, effort: str) -> dict[str, Any] | None:
    name = model.removeprefix("models/")
    if name.startswith("gemini-2.5"):
        return {"thinking_budget": THINKING_BUDGET[effort]}
    if name.startswith("gemini-3"):
        return {"thinking_level": THINKING_LEVEL[effort]}
    return None


def request(call: ProviderCall) -> tuple[list[dict[str, Any]], dict[str, Any], tuple[str, ...]]:
    """(contents, config, names of the settings dropped) for generate_content(model=call.model, ...)."""
    messages = call.messages
    config: dict[str, Any] = {"max_output_tokens": call.max_tokens}
    dropped: list[str] = []
    if call.temperature is not None:
        config["temperature"] = call.temperature
    if call.top_p is not None:
        config["top_p"] = call.top_p
    if call.stop:
        config["stop_sequences"] = call.stop
    system = _system(messages)
    if system:
        config["system_instruction"] = system
    if call.tools:
        config["tools"] = [
            {
                "function_declarations": [
                    {
                        k: v
                        for k, v in (
                            ("name", t["function"]["name"]),
                            ("description", t["function"].get("description")),
                            ("parameters_json_schema", t["function"].get("parameters")),
                        )
                        if v is not None
                    }
                    for t in call.tools
                ]
            }
        ]
        config["automatic_function_calling"] = {"disable": True}
    tool_config = _tool_config(call.tool_choice)
    if tool_config:
        config["tool_config"] = tool_config
    if call.reasoning_effort:
        thinking = _thinking(call.model, call.reasoning_effort)
        if thinking is None:
            dropped.append("reasoning_effort")
        else:
            config["thinking_config"] = thinking
    return _contents(messages), config, tuple(dropped)


def usage(u: Any) -> TokenUsage:
    if u is None:
        return TokenUsage(0, 0)
    thoughts = getattr(u, "thoughts_token_count", None) or 0
    return TokenUsage(
        # Gemini's prompt count includes cached content; tool-use prompt tokens are input too
        input_tokens=(u.prompt_token_count or 0) + (getattr(u, "tool_use_prompt_token_count", None) or 0),
        output_tokens=(u.candidates_token_count or 0) + thoughts,
        cache_read_tokens=u.cached_content_token_count or 0,
        reasoning_tokens=thoughts,
    )


def _candidate_parts(response: Any) -> tuple[list[Any], Any]:
    if not response.candidates:
        return [], None
    candidate = response.candidates[0]
    parts = candidate.content.parts if candidate.content and candidate.content.parts else []
    return parts, candidate.finish_reason


def _call(part: Any) -> dict[str, Any]:
    fc = part.function_call
    return {
        "id": encode_call_id(fc.id, part.thought_signature),
        "type": "function",
        "function": {"name": fc.name or "", "arguments": json.dumps(fc.args or {})},
    }


def completion(response: Any, dropped: tuple[str, ...] = ()) -> Completion:
    parts, finish = _candidate_parts(response)
    text = "".join(p.text for p in parts if p.text and not p.thought)
    calls = [_call(p) for p in parts if p.function_call is not None]
    return Completion(
        text,
        finish_reason(finish, bool(calls)),
        usage(response.usage_metadata),
        tool_calls=calls or None,
        dropped_params=dropped,
    )


def stream_event(state: StreamState, chunk: Any) -> Delta | None:
    """Fold one streamed GenerateContentResponse into `state` (Gemini sends each function call whole)."""
    parts, finish = _candidate_parts(chunk)
    text = "".join(p.text for p in parts if p.text and not p.thought)
    pieces = []
    for p in parts:
        if p.function_call is not None:
            c = _call(p)
            pieces.append(
                state.add_call_piece(len(state.calls), c["id"], c["function"]["name"], c["function"]["arguments"])
            )
    if finish is not None:
        state.finish_reason = finish_reason(finish, bool(state.calls))
    u = chunk.usage_metadata
    if u is not None and u.candidates_token_count is not None:
        state.usage = usage(u)
    if text:
        state.text.append(text)
    if text or pieces:
        return Delta(text, pieces or None)
    return None

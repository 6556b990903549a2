"""Anthropic Messages <-> the contract's Chat Completions shape.

- system messages are lifted into `system` (a list of text blocks when one carries cache_control);
- image parts become image blocks with a base64 or url source; cache_control is kept on every block;
- assistant tool_calls become tool_use blocks, `tool` messages tool_result blocks in a user turn;
- temperature and top_p are not parameters of the Messages API version the SDK sends: dropped;
- reasoning_effort becomes a thinking budget; thinking tokens count toward max_tokens, so max_tokens is
  raised by the budget (the answer keeps the room the request asked for). Anthropic refuses thinking with
  a forced tool choice, and wants the thinking blocks of an assistant turn back when a tool loop goes on:
  the contract's messages cannot carry them, so such a continuation is sent without thinking.
"""

from __future__ import annotations

import json
from typing import Any

from ..calls import Completion, ProviderCall, TokenUsage
from .common import Delta, StreamState, Unsupported, parse_arguments, parse_data_url

NAME = "anthropic"
THINKING_BUDGET = {"low": 1024, "medium": 4096, "high": 16384}  # budget_tokens must be >= 1024
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(value: str | None) -> str | None:
    return None if value is None else _FINISH.get(value, "stop")


def _block(part: dict[str, Any]) -> dict[str, Any]:
    if part["type"] == "text":
        block: dict[str, Any] = {"type": "text", "text": part["text"]}
    else:
        url = part["image_url"]["url"]
        if url.startswith("data:"):
            media_type, data = parse_data_url(url, NAME)
            if media_type not in IMAGE_TYPES:
                raise Unsupported(NAME, f"image_url of type {media_type} (jpeg, png, gif, webp only)")
            block = {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
        else:
            block = {"type": "image", "source": {"type": "url", "url": url}}
    if part.get("cache_control"):
        block["cache_control"] = part["cache_control"]
    return block


def _content(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    return [_block(p) for p in content or () if p["type"] != "text" or p["text"]]


def _system(messages: list[dict[str, Any]]) -> str | list[dict[str, Any]] | None:
    systems = [m["content"] for m in messages if m["role"] == "system"]
    if not systems:
        return None
    if all(isinstance(c, str) for c in systems):
        return "\n\n".join(systems)
    blocks: list[dict[str, Any]] = []
    for c in systems:
        parts: list[dict[str, Any]] = [{"type": "text", "text": c}] if isinstance(c, str) else _content(c)  # type: ignore[assignment]
        for b in parts:
            if b["type"] != "text":
                raise Unsupported(NAME, "images in a system message")
            blocks.append(b)
    return blocks


def _messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        role = m["role"]
        if role == "system":
            continue
        if role == "tool":
            result = {"type": "tool_result", "tool_use_id": m["tool_call_id"], "content": _content(m.get("content"))}
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list) and out[-1].get("_tools"):
                out[-1]["content"].append(result)  # parallel results go in one user turn
            else:
                out.append({"role": "user", "content": [result], "_tools": True})
            continue
        if role == "assistant" and m.get("tool_calls"):
            content = _content(m.get("content"))
            blocks: list[dict[str, Any]] = (
                [{"type": "text", "text": content}] if isinstance(content, str) and content else []
            )
            if isinstance(content, list):
                blocks = content
            for c in m["tool_calls"]:
                fn = c["function"]
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": c["id"],
                        "name": fn["name"],
                        "input": parse_arguments(fn["arguments"], NAME),
                    }
                )
            out.append({"role": "assistant", "content": blocks})
            continue
        out.append({"role": role, "content": _content(m.get("content"))})
    for item in out:
        item.pop("_tools", None)
    return out


def _tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, dict):
        return {"type": "tool", "name": choice["function"]["name"]}
    return {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"}}[choice]


def forces_a_tool(choice: Any) -> bool:
    """tool_choice "required" or a named function: Anthropic refuses extended thinking with either."""
    return choice == "required" or isinstance(choice, dict)


def _tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for t in tools:
        fn = t["function"]
        tool: dict[str, Any] = {
            "name": fn["name"],
            "input_schema": fn.get("parameters") or {"type": "object", "properties": {}},
        }
        if fn.get("description"):
            tool["description"] = fn["description"]
        out.append(tool)
    return out


def _continues_tool_loop(messages: list[dict[str, Any]]) -> bool:
    for m in reversed(messages):
        if m["role"] == "assistant":
            return bool(m.get("tool_calls"))
        if m["role"] == "user":
            return False
    return False


def _plain_text(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]] | None:
    """(system, messages) when every message is plain text (the common prompt): the user and assistant
    messages are sent as they are, nothing is copied. None when any message has parts or tool fields."""
    systems: list[str] = []
    out: list[dict[str, Any]] = []
    for m in messages:
        if len(m) != 2 or m.get("content").__class__ is not str:
            return None
        if m["role"] == "system":
            systems.append(m["content"])
        elif m["role"] == "tool":
            return None
        else:
            out.append(m)
    return ("\n\n".join(systems) if systems else None), out


def request(call: ProviderCall, *, stream: bool = False) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(Messages API body, names of the settings dropped)."""
    messages = call.messages
    dropped = []
    if call.temperature is not None:
        dropped.append("temperature")
    if call.top_p is not None:
        dropped.append("top_p")
    plain = _plain_text(messages)
    system: str | list[dict[str, Any]] | None
    if plain is not None:
        system, sent = plain
    else:
        system, sent = _system(messages), _messages(messages)
    body: dict[str, Any] = {"model": call.model, "max_tokens": call.max_tokens, "messages": sent}
    if system:
        body["system"] = system
    if call.stop:
        body["stop_sequences"] = call.stop
    if call.tools:
        body["tools"] = _tools(call.tools)
    choice = _tool_choice(call.tool_choice)
    if choice is not None:
        body["tool_choice"] = choice
    if call.reasoning_effort:
        if forces_a_tool(call.tool_choice):
            raise Unsupported(NAME, "reasoning_effort with a forced tool_choice (required or a named function)")
        if _continues_tool_loop(messages):
            dropped.append("reasoning_effort")
        else:
            budget = THINKING_BUDGET[call.reasoning_effort]
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
            body["max_tokens"] = call.max_tokens + budget  # budget_tokens must stay below max_tokens
    if stream:
        body["stream"] = True
    return body, tuple(dropped)


def usage(u: dict[str, Any] | None) -> TokenUsage:
    if not u:
        return TokenUsage(0, 0)
    read = u.get("cache_read_input_tokens") or 0
    write = u.get("cache_creation_input_tokens") or 0
    details = u.get("output_tokens_details") or {}
    return TokenUsage(
        input_tokens=(u.get("input_tokens") or 0) + read + write,  # Anthropic's input_tokens excludes the cache
        output_tokens=u.get("output_tokens") or 0,  # thinking included
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=details.get("thinking_tokens") or 0,
    )


def completion(data: dict[str, Any], dropped: tuple[str, ...] = ()) -> Completion:
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for b in data.get("content") or ():
        kind = b.get("type")
        if kind == "text":
            text.append(b.get("text") or "")
        elif kind == "tool_use":
            calls.append(
                {
                    "id": b.get("id") or "",
                    "type": "function",
                    "function": {"name": b.get("name") or "", "arguments": json.dumps(b.get("input") or {})},
                }
            )
    return Completion(
        "".join(text),
        finish_reason(data.get("stop_reason")),
        usage(data.get("usage")),
        tool_calls=calls or None,
        dropped_params=dropped,
    )


def stream_event(state: StreamState, event: dict[str, Any]) -> Delta | None:
    """Fold one Messages stream event into `state`; the piece to forward, if any."""
    kind = event.get("type")
    if kind == "content_block_delta":
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta":
            state.text.append(delta.get("text") or "")
            return Delta(delta.get("text") or "")
        if delta.get("type") == "input_json_delta":
            index = state.extra.get("blocks", {}).get(event.get("index"))
            if index is None or not delta.get("partial_json"):
                return None
            state.extra.setdefault("streamed_args", set()).add(index)
            return Delta("", [state.add_call_piece(index, None, None, delta["partial_json"])])
        return None  # thinking_delta, signature_delta, citations
    if kind == "content_block_start":
        block = event.get("content_block") or {}
        if block.get("type") != "tool_use":
            return None
        blocks = state.extra.setdefault("blocks", {})
        index = blocks[event.get("index")] = len(blocks)
        state.extra.setdefault("inputs", {})[index] = block.get("input") or {}
        return Delta("", [state.add_call_piece(index, block.get("id"), block.get("name"), None)])
    if kind == "content_block_stop":
        index = state.extra.get("blocks", {}).get(event.get("index"))
        if index is not None and index not in state.extra.get("streamed_args", ()):
            arguments = json.dumps(state.extra["inputs"].get(index) or {})
            return Delta("", [state.add_call_piece(index, None, None, arguments)])
        return None
    if kind == "message_start":
        u = (event.get("message") or {}).get("usage")
        state.extra["usage"] = dict(u or {})
        state.usage = usage(u)
    elif kind == "message_delta":
        state.finish_reason = finish_reason((event.get("delta") or {}).get("stop_reason")) or state.finish_reason
        merged = state.extra.setdefault("usage", {})
        merged.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})  # cumulative counts
        state.usage = usage(merged)
    return None

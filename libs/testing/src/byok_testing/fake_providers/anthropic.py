"""The fake Anthropic Messages API: request checks as the real API makes them, answers in its wire format."""

from __future__ import annotations

import json
import uuid
from typing import Any

from .common import BadRequest, Turn, chunks, reasoning_tokens, reply_text, split_json, wanted_tool_call

IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
REPLY_NAME = "anthropic"


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise BadRequest("messages: content must be a string or a list of blocks")
    return content


def read_turn(body: dict[str, Any]) -> Turn:
    turn = Turn()
    messages = body.get("messages") or []
    if not messages:
        raise BadRequest("messages: at least one message is required")
    if not isinstance(body.get("max_tokens"), int):
        raise BadRequest("max_tokens: Field required")
    system = body.get("system")
    marked: list[str] = []
    seen_text: list[str] = []
    for b in _blocks(system) if system else []:
        if b.get("type") != "text":
            raise BadRequest("system: only text blocks")
        seen_text.append(b.get("text", ""))
        if b.get("cache_control"):
            marked = list(seen_text)
    tool_ids: set[str] = set()
    for m in messages:
        if m.get("role") not in ("user", "assistant"):
            raise BadRequest(f"messages: Unexpected role {m.get('role')!r}. Use the top-level system parameter")
        for b in _blocks(m.get("content")):
            kind = b.get("type")
            if kind == "text":
                if not b.get("text"):
                    raise BadRequest("messages: text content blocks must be non-empty")
                seen_text.append(b["text"])
                if m["role"] == "user":
                    turn.prompt, turn.after_tool_result = b["text"], False
            elif kind == "image":
                source = b.get("source") or {}
                if source.get("type") == "base64":
                    if source.get("media_type") not in IMAGE_TYPES or not source.get("data"):
                        raise BadRequest("image: source.media_type must be image/jpeg, png, gif or webp")
                elif source.get("type") != "url" or not str(source.get("url", "")).startswith("https://"):
                    raise BadRequest("image: source must be base64 or url")
                turn.images += 1
            elif kind == "tool_use":
                if m["role"] != "assistant" or not isinstance(b.get("input"), dict) or not b.get("id"):
                    raise BadRequest("tool_use: id, name and an input object, in an assistant turn")
                tool_ids.add(b["id"])
            elif kind == "tool_result":
                if b.get("tool_use_id") not in tool_ids:
                    raise BadRequest("tool_result: tool_use_id matches no earlier tool_use block")
                text: str = (
                    b["content"]
                    if isinstance(b.get("content"), str)
                    else "".join(x.get("text", "") for x in b.get("content") or [] if x.get("type") == "text")
                )
                seen_text.append(text)
                turn.prompt, turn.after_tool_result = text, True
                turn.tool_results += 1
            else:
                raise BadRequest(f"messages: unknown content block type {kind!r}")
            if b.get("cache_control"):
                marked = list(seen_text)
    turn.chars = sum(len(t) for t in seen_text)
    turn.cached_prefix = "".join(marked) if marked else None
    for t in body.get("tools") or []:
        if not t.get("name") or not isinstance(t.get("input_schema"), dict):
            raise BadRequest("tools: each tool needs name and input_schema")
        turn.tools.append({"name": t["name"], "parameters": t["input_schema"]})
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "tool":
        turn.forced_tool = choice.get("name")
    elif choice.get("type") == "any" and turn.tools:
        turn.forced_tool = turn.tools[0]["name"]
    elif choice.get("type") == "none":
        turn.tools_off = True
    thinking = body.get("thinking")
    if thinking and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            raise BadRequest("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if budget >= body["max_tokens"]:
            raise BadRequest("`max_tokens` must be greater than `thinking.budget_tokens`")
        if choice.get("type") in ("any", "tool"):
            raise BadRequest("Thinking may not be enabled when tool_choice forces tool use.")
        last_assistant = next((m for m in reversed(messages) if m["role"] == "assistant"), None)
        if last_assistant is not None and messages[-1] is not last_assistant and turn.after_tool_result:
            first = _blocks(last_assistant["content"])[0]
            if first.get("type") not in ("thinking", "redacted_thinking"):
                raise BadRequest(
                    "messages: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is "
                    "enabled, a final `assistant` message must start with a thinking block"
                )
        turn.reasoning = str(budget)
    return turn


def _content(turn: Turn) -> tuple[list[dict[str, Any]], str, str]:
    """(content blocks, stop_reason, visible text)."""
    blocks: list[dict[str, Any]] = []
    if turn.reasoning:
        blocks.append({"type": "thinking", "thinking": "Let me think.", "signature": "sig-" + uuid.uuid4().hex})
    wanted = wanted_tool_call(turn)
    if wanted:
        name, arguments = wanted
        blocks.append({"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:24], "name": name, "input": arguments})
        return blocks, "tool_use", json.dumps(arguments)
    text = reply_text(REPLY_NAME, turn)
    blocks.append({"type": "text", "text": text})
    return blocks, "end_turn", text


def _usage(turn: Turn, n: dict[str, int]) -> tuple[dict[str, Any], int, int]:
    thinking = reasoning_tokens(turn.reasoning)
    usage_in = {
        "input_tokens": n["total_input"] - n["cache_read"] - n["cache_write"],
        "cache_creation_input_tokens": n["cache_write"],
        "cache_read_input_tokens": n["cache_read"],
    }
    return usage_in, n["output"] + thinking, thinking


def answer(body: dict[str, Any], turn: Turn, numbers: Any) -> dict[str, Any]:
    blocks, stop_reason, text = _content(turn)
    usage_in, output, thinking = _usage(turn, numbers(text))
    usage: dict[str, Any] = {**usage_in, "output_tokens": output}
    if thinking:
        usage["output_tokens_details"] = {"thinking_tokens": thinking}
    return {
        "id": "msg_" + uuid.uuid4().hex[:24],
        "type": "message",
        "role": "assistant",
        "model": body.get("model", ""),
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def stream_lines(body: dict[str, Any], turn: Turn, numbers: Any) -> list[str]:
    blocks, stop_reason, text = _content(turn)
    usage_in, output, thinking = _usage(turn, numbers(text))
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_" + uuid.uuid4().hex[:24],
                "type": "message",
                "role": "assistant",
                "model": body.get("model", ""),
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {**usage_in, "output_tokens": 1},
            },
        }
    ]
    for i, block in enumerate(blocks):
        if block["type"] == "text":
            events.append({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}})
            events += [
                {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": c}}
                for c in chunks(block["text"])
            ]
        elif block["type"] == "thinking":
            empty = {"type": "thinking", "thinking": "", "signature": ""}
            events.append({"type": "content_block_start", "index": i, "content_block": empty})
            events.append(
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "thinking_delta", "thinking": block["thinking"]},
                }
            )
            events.append(
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "signature_delta", "signature": block["signature"]},
                }
            )
        else:
            start = {**block, "input": {}}
            events.append({"type": "content_block_start", "index": i, "content_block": start})
            events += [
                {"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": p}}
                for p in split_json(block["input"])
            ]
        events.append({"type": "content_block_stop", "index": i})
    usage: dict[str, Any] = {"output_tokens": output}
    if thinking:
        usage["output_tokens_details"] = {"thinking_tokens": thinking}
    events.append(
        {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": usage}
    )
    events.append({"type": "message_stop"})
    return [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events]

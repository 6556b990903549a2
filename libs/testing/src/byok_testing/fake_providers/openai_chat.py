"""The fake OpenAI and OpenRouter Chat Completions API: request checks, answers in the wire format."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from .common import BadRequest, Turn, chunks, reasoning_tokens, reply_text, split_json, wanted_tool_call

REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def _text(content: Any, provider: str, turn: Turn, marked: list[str], seen: list[str]) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        seen.append(content)
        return content
    if not isinstance(content, list):
        raise BadRequest("messages: content must be a string or a list of parts")
    text = ""
    for p in content:
        kind = p.get("type")
        if kind == "text":
            text += p.get("text", "")
            seen.append(p.get("text", ""))
        elif kind == "image_url":
            url = (p.get("image_url") or {}).get("url", "")
            if not (url.startswith("data:image/") or url.startswith("https://")):
                raise BadRequest("Invalid image_url: expected a data URL or an https URL")
            turn.images += 1
        else:
            raise BadRequest(f"Invalid content part type {kind!r}")
        if "cache_control" in p:
            if provider == "openai":
                raise BadRequest("Unrecognized request argument supplied: cache_control")
            marked[:] = list(seen)
    return text


def read_turn(body: dict[str, Any], provider: str) -> Turn:
    turn = Turn()
    model = body.get("model", "")
    reasoning_model = provider == "openai" and model.startswith(REASONING_PREFIXES)
    messages = body.get("messages") or []
    if not messages:
        raise BadRequest("messages: at least one message is required")
    if reasoning_model:
        if "max_tokens" in body:
            raise BadRequest(
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead."
            )
        for param in ("temperature", "top_p", "stop"):
            if param in body:
                raise BadRequest(f"Unsupported parameter: '{param}' is not supported with this model.")
    elif provider == "openai" and "reasoning_effort" in body:
        raise BadRequest("Unrecognized request argument supplied: reasoning_effort")
    marked: list[str] = []
    seen: list[str] = []
    call_ids: set[str] = set()
    for m in messages:
        role = m.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise BadRequest(f"Invalid value for 'messages.role': {role!r}")
        text = _text(m.get("content"), provider, turn, marked, seen)
        if role == "user":
            turn.prompt, turn.after_tool_result = text, False
        for c in m.get("tool_calls") or []:
            json.loads((c.get("function") or {}).get("arguments") or "{}")
            call_ids.add(c.get("id"))
        if role == "tool":
            if m.get("tool_call_id") not in call_ids:
                raise BadRequest(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceding message "
                    "with 'tool_calls'."
                )
            turn.prompt, turn.after_tool_result = text, True
            turn.tool_results += 1
    turn.chars = sum(len(t) for t in seen)
    turn.cached_prefix = "".join(marked) if marked else None
    for t in body.get("tools") or []:
        fn = t.get("function") or {}
        if t.get("type") != "function" or not fn.get("name"):
            raise BadRequest("tools: each tool is {type: function, function: {name, ...}}")
        turn.tools.append({"name": fn["name"], "parameters": fn.get("parameters")})
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        turn.forced_tool = (choice.get("function") or {}).get("name")
    elif choice == "required" and turn.tools:
        turn.forced_tool = turn.tools[0]["name"]
    elif choice == "none":
        turn.tools_off = True
    if reasoning_model:
        turn.reasoning = body.get("reasoning_effort") or "medium"  # these models always reason
    elif provider == "openrouter" and isinstance(body.get("reasoning"), dict):
        turn.reasoning = body["reasoning"].get("effort") or "medium"
    return turn


def _message(turn: Turn, provider: str) -> tuple[dict[str, Any], str, str]:
    wanted = wanted_tool_call(turn)
    if wanted:
        name, arguments = wanted
        call: dict[str, Any] = {
            "id": "call_" + uuid.uuid4().hex[:24],
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }
        return (
            {"role": "assistant", "content": None, "tool_calls": [call], "refusal": None},
            "tool_calls",
            call["function"]["arguments"],
        )
    text = reply_text(provider, turn)
    return {"role": "assistant", "content": text, "refusal": None}, "stop", text


def _usage(turn: Turn, n: dict[str, int], provider: str) -> dict[str, Any]:
    reasoning = reasoning_tokens(turn.reasoning)
    details: dict[str, int] = {"cached_tokens": n["cache_read"]}
    if provider == "openrouter":
        details["cache_write_tokens"] = n["cache_write"]
    output = n["output"] + reasoning
    return {
        "prompt_tokens": n["total_input"],
        "completion_tokens": output,
        "total_tokens": n["total_input"] + output,
        "prompt_tokens_details": details,
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def answer(body: dict[str, Any], turn: Turn, provider: str, numbers: Any) -> dict[str, Any]:
    message, finish, text = _message(turn, provider)
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex[:24],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": _usage(turn, numbers(text), provider),
        "system_fingerprint": "fp_fake",
    }


def stream_lines(body: dict[str, Any], turn: Turn, provider: str, numbers: Any) -> list[str]:
    message, finish, text = _message(turn, provider)
    base = {
        "id": "chatcmpl-" + uuid.uuid4().hex[:24],
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "system_fingerprint": "fp_fake",
    }

    def frame(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

    frames = [frame({"role": "assistant", "content": ""})]
    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        frames.append(
            frame(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        frames += [
            frame({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            for piece in split_json(json.loads(call["function"]["arguments"]))
        ]
    else:
        frames += [frame({"content": c}) for c in chunks(message["content"])]
    frames.append(frame({}, finish))
    if (body.get("stream_options") or {}).get("include_usage"):
        frames.append({**base, "choices": [], "usage": _usage(turn, numbers(text), provider)})
    return [f"data: {json.dumps(f)}\n\n" for f in frames] + ["data: [DONE]\n\n"]

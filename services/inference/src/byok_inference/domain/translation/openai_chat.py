"""OpenAI and OpenRouter Chat Completions: the contract's own shape, so mostly passed through.

Differences handled here: OpenAI's reasoning models (o1/o3/o4/gpt-5) take `reasoning_effort` and
`max_completion_tokens` but no sampling settings; other OpenAI models ignore `reasoning_effort`;
OpenAI refuses `cache_control` on parts (its caching is automatic), OpenRouter forwards it; OpenRouter
takes reasoning as `reasoning: {"effort": ...}` and reports cache writes.

OpenRouter has no capability table of its own: it passes a request to one of many upstream providers,
fetches image URLs itself and takes images anywhere, so a request is refused before the call only for what
is known to fail (`openrouter_limits`): data-URL images of a type OpenRouter does not take; an `openai/`
model inherits OpenAI's table below; an `anthropic/` model cannot think under a forced tool choice. Other
limits of a route are OpenRouter's to report ("No endpoints found that support ...", HTTP 404), which the
adapter answers as invalid_request too, naming the feature (no tokens are used).
"""

from __future__ import annotations

from typing import Any

from ..calls import Completion, ProviderCall, TokenUsage
from . import anthropic
from .common import Delta, StreamState, Unsupported, parse_data_url

OPENAI = "openai"
OPENROUTER = "openrouter"
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
OPENROUTER_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
_TEXT_ONLY_PREFIXES = ("o1-mini", "o3-mini", "gpt-3.5")  # no image input
_NO_TOOLS_PREFIXES = ("o1-mini", "o1-preview")
_FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "error": "error",
}


def is_reasoning_model(model: str) -> bool:
    return model.startswith(_REASONING_PREFIXES)


def finish_reason(value: str | None) -> str | None:
    return None if value is None else _FINISH.get(value, "stop")


def _images(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for m in messages if isinstance(m.get("content"), list) for p in m["content"] if p["type"] == "image_url"]


def _openai_limits(call: ProviderCall, name: str, model: str) -> None:
    """What some OpenAI models cannot do (model: the OpenAI id, without OpenRouter's `openai/`)."""
    if call.tools and model.startswith(_NO_TOOLS_PREFIXES):
        raise Unsupported(name, f"tools with {call.model}")
    if model.startswith(_TEXT_ONLY_PREFIXES) and _images(call.messages):
        raise Unsupported(name, f"image input with {call.model} (a text-only model)")


def openrouter_limits(call: ProviderCall) -> None:
    """Unsupported for what an OpenRouter route is known not to take (see the module's docstring)."""
    vendor, _, model = call.model.partition("/")
    for part in _images(call.messages):
        url = part["image_url"]["url"]
        if url.startswith("data:"):
            media_type, _ = parse_data_url(url, OPENROUTER)
            if media_type not in OPENROUTER_IMAGE_TYPES:
                raise Unsupported(OPENROUTER, f"image_url of type {media_type} (png, jpeg, webp, gif only)")
    if vendor == "openai":
        _openai_limits(call, OPENROUTER, model)
    elif vendor == "anthropic" and call.reasoning_effort and anthropic.forces_a_tool(call.tool_choice):
        raise Unsupported(
            OPENROUTER, f"reasoning_effort with a forced tool_choice (required or a named function) for {call.model}"
        )


def _without_cache_control(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for m in messages:
        if m.get("content").__class__ is not str:
            break
    else:
        return messages  # plain text: nothing to strip, nothing copied
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list) and any("cache_control" in p for p in content):
            m = {**m, "content": [{k: v for k, v in p.items() if k != "cache_control"} for p in content]}
        out.append(m)
    return out


def request(call: ProviderCall, name: str = OPENAI, *, stream: bool = False) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(Chat Completions body, names of the settings dropped)."""
    openrouter = name == OPENROUTER
    dropped: list[str] = []
    messages = call.messages
    plain_text = not call.tools and all(m.get("content").__class__ is str for m in messages)
    if openrouter:
        if not plain_text or call.reasoning_effort:
            openrouter_limits(call)
    elif not plain_text:
        _openai_limits(call, name, call.model)
        messages = _without_cache_control(messages)
    body: dict[str, Any] = {"model": call.model, "messages": messages}
    # OpenAI's newer models only take max_completion_tokens; OpenRouter documents max_tokens.
    body["max_tokens" if openrouter else "max_completion_tokens"] = call.max_tokens
    reasoning = not openrouter and is_reasoning_model(call.model)
    if call.temperature is not None or call.top_p is not None:
        for param in ("temperature", "top_p"):
            value = getattr(call, param)
            if value is None:
                continue
            if reasoning:
                dropped.append(param)  # OpenAI's reasoning models refuse sampling settings
            else:
                body[param] = value
    if call.stop:
        if reasoning:
            dropped.append("stop")
        else:
            body["stop"] = call.stop
    if call.tools:
        body["tools"] = call.tools
    if call.tool_choice is not None:
        body["tool_choice"] = call.tool_choice
    if call.reasoning_effort:
        if openrouter:
            body["reasoning"] = {"effort": call.reasoning_effort}
        elif reasoning:
            body["reasoning_effort"] = call.reasoning_effort
        else:
            dropped.append("reasoning_effort")  # a model without reasoning: ignored
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body, tuple(dropped)


def usage(u: dict[str, Any] | None) -> TokenUsage:
    if not u:
        return TokenUsage(0, 0)
    prompt = u.get("prompt_tokens_details") or {}
    completion = u.get("completion_tokens_details") or {}
    return TokenUsage(
        input_tokens=u.get("prompt_tokens") or 0,
        output_tokens=u.get("completion_tokens") or 0,  # reasoning included
        cache_read_tokens=prompt.get("cached_tokens") or 0,
        cache_write_tokens=prompt.get("cache_write_tokens") or 0,  # OpenRouter reports these
        reasoning_tokens=completion.get("reasoning_tokens") or 0,
    )


def _tool_calls(message: dict[str, Any]) -> list[dict[str, Any]] | None:
    calls = message.get("tool_calls")
    if not calls:
        return None
    return [
        {
            "id": c.get("id") or "",
            "type": "function",
            "function": {
                "name": (c.get("function") or {}).get("name") or "",
                "arguments": (c.get("function") or {}).get("arguments") or "{}",
            },
        }
        for c in calls
    ]


def completion(data: dict[str, Any], dropped: tuple[str, ...] = ()) -> Completion:
    choices = data.get("choices") or []
    choice = choices[0] if choices else {}
    message = choice.get("message") or {}
    return Completion(
        message.get("content") or "",
        finish_reason(choice.get("finish_reason")),
        usage(data.get("usage")),
        tool_calls=_tool_calls(message),
        dropped_params=dropped,
    )


def stream_event(state: StreamState, chunk: dict[str, Any]) -> Delta | None:
    """Fold one streamed chunk into `state`; the piece to forward, if any."""
    if chunk.get("usage"):
        state.usage = usage(chunk["usage"])
    text = ""
    pieces: list[dict[str, Any]] = []
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content"):
            text += delta["content"]
        for tc in delta.get("tool_calls") or ():
            fn = tc.get("function") or {}
            pieces.append(state.add_call_piece(tc.get("index", 0), tc.get("id"), fn.get("name"), fn.get("arguments")))
        if choice.get("finish_reason"):
            state.finish_reason = finish_reason(choice["finish_reason"])
    if text:
        state.text.append(text)
    if text or pieces:
        return Delta(text, pieces or None)
    return None

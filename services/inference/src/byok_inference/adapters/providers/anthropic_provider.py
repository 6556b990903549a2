"""Anthropic Messages through the official anthropic SDK (aiohttp transport)."""

from __future__ import annotations

import json
from typing import Any

import anthropic

from ...domain.calls import Completion, ProviderCall, ProviderFailure, TokenUsage
from ...ports import DeltaSink
from . import errors
from .sdk_post import AnthropicOptions, post_json

NAME = "anthropic"


def make_client(api_key: str, base_url: str | None, timeout: float) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=0,
        http_client=anthropic.DefaultAioHttpClient(timeout=timeout),
    )


def _params(call: ProviderCall) -> dict[str, Any]:
    system = "\n\n".join(m["content"] for m in call.messages if m["role"] == "system")
    params: dict[str, Any] = {
        "model": call.model,
        "max_tokens": call.max_tokens,
        "messages": [m for m in call.messages if m["role"] != "system"],
    }
    if system:
        params["system"] = system
    if call.temperature is not None:
        params["temperature"] = call.temperature
    if call.top_p is not None:
        params["top_p"] = call.top_p
    if call.stop:
        params["stop_sequences"] = call.stop
    return params


def _completion(data: dict[str, Any]) -> Completion:
    text = "".join(b.get("text", "") for b in data.get("content") or [] if b.get("type") == "text")
    u = data.get("usage") or {}
    read = u.get("cache_read_input_tokens") or 0
    write = u.get("cache_creation_input_tokens") or 0
    usage = TokenUsage(
        input_tokens=(u.get("input_tokens") or 0) + read + write,
        output_tokens=u.get("output_tokens") or 0,
        cache_read_tokens=read,
        cache_write_tokens=write,
    )
    return Completion(text, data.get("stop_reason"), usage)


def _usage(u: Any) -> TokenUsage:
    read = getattr(u, "cache_read_input_tokens", None) or 0
    write = getattr(u, "cache_creation_input_tokens", None) or 0
    return TokenUsage(
        input_tokens=(u.input_tokens or 0) + read + write,  # Anthropic's input_tokens excludes the cache
        output_tokens=u.output_tokens or 0,
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


async def complete(client: anthropic.AsyncAnthropic, call: ProviderCall, on_delta: DeltaSink | None) -> Completion:
    try:
        if on_delta is None:
            # The SDK's lower-level post (same client, auth and errors) without typed-body transformation
            # and response models: about half the CPU of messages.create (profiled).
            raw = await post_json(client, AnthropicOptions, "/v1/messages", _params(call))
            return _completion(json.loads(raw))
        return await _stream(client, call, on_delta)
    except anthropic.APIStatusError as exc:
        raise errors.from_status(NAME, exc.status_code, exc.response.headers) from None
    except anthropic.APITimeoutError:
        raise errors.timeout(NAME) from None
    except anthropic.APIConnectionError as exc:
        raise errors.unreachable(NAME, type(exc).__name__) from None


async def _stream(client: anthropic.AsyncAnthropic, call: ProviderCall, on_delta: DeltaSink) -> Completion:
    parts: list[str] = []
    usage: TokenUsage | None = None
    stop_reason = None
    input_usage: Any = None
    try:
        stream = await client.messages.create(**_params(call), stream=True)
        async for event in stream:
            if event.type == "message_start":
                input_usage = event.message.usage
                usage = _usage(input_usage)
            elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                parts.append(event.delta.text)
                await on_delta(event.delta.text)
            elif event.type == "message_delta":
                stop_reason = event.delta.stop_reason
                if input_usage is not None:
                    input_usage.output_tokens = event.usage.output_tokens
                    usage = _usage(input_usage)
    except (anthropic.APIStatusError, anthropic.APITimeoutError, anthropic.APIConnectionError) as exc:
        failure = _translate(exc)
        failure.usage = usage
        raise failure from None
    return Completion("".join(parts), stop_reason, usage or TokenUsage(0, 0))


def _translate(exc: Exception) -> ProviderFailure:
    if isinstance(exc, anthropic.APIStatusError):
        return errors.from_status(NAME, exc.status_code, exc.response.headers)
    if isinstance(exc, anthropic.APITimeoutError):
        return errors.timeout(NAME)
    return errors.unreachable(NAME, type(exc).__name__)

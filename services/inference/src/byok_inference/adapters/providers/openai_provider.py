"""OpenAI Chat Completions, and OpenRouter through the same SDK with its base_url."""

from __future__ import annotations

import json
from typing import Any

import openai

from ...domain.calls import Completion, ProviderCall, ProviderFailure, TokenUsage
from ...ports import DeltaSink
from . import errors
from .sdk_post import OpenAIOptions, post_json

OPENROUTER_URL = "https://openrouter.ai/api/v1"


def make_client(api_key: str, base_url: str | None, timeout: float) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=0,
        http_client=openai.DefaultAioHttpClient(timeout=timeout),
    )


def _params(call: ProviderCall, name: str) -> dict[str, Any]:
    params: dict[str, Any] = {"model": call.model, "messages": call.messages}
    # OpenAI's newer models only take max_completion_tokens; OpenRouter documents max_tokens.
    params["max_tokens" if name == "openrouter" else "max_completion_tokens"] = call.max_tokens
    if call.temperature is not None:
        params["temperature"] = call.temperature
    if call.top_p is not None:
        params["top_p"] = call.top_p
    if call.stop:
        params["stop"] = call.stop
    return params


def _completion(data: dict[str, Any]) -> Completion:
    choices = data.get("choices") or []
    choice = choices[0] if choices else {}
    text = (choice.get("message") or {}).get("content") or ""
    u = data.get("usage") or {}
    details = u.get("prompt_tokens_details") or {}
    usage = TokenUsage(
        input_tokens=u.get("prompt_tokens") or 0,
        output_tokens=u.get("completion_tokens") or 0,
        cache_read_tokens=details.get("cached_tokens") or 0,
        cache_write_tokens=details.get("cache_write_tokens") or 0,
    )
    return Completion(text, choice.get("finish_reason"), usage)


def _usage(u: Any) -> TokenUsage:
    if u is None:
        return TokenUsage(0, 0)
    details = getattr(u, "prompt_tokens_details", None)
    read = (getattr(details, "cached_tokens", None) or 0) if details else 0
    write = (getattr(details, "cache_write_tokens", None) or 0) if details else 0  # OpenRouter reports these
    return TokenUsage(
        input_tokens=u.prompt_tokens or 0,
        output_tokens=u.completion_tokens or 0,
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


async def complete(
    client: openai.AsyncOpenAI, call: ProviderCall, on_delta: DeltaSink | None, name: str = "openai"
) -> Completion:
    usage: TokenUsage | None = None
    try:
        if on_delta is None:
            # The SDK's lower-level post: same client, auth, errors and retries policy, without turning the
            # parameters into a typed body and the answer into models (half the CPU of a call; profiled).
            raw = await post_json(client, OpenAIOptions, "/chat/completions", _params(call, name))
            return _completion(json.loads(raw))
        parts: list[str] = []
        finish = None
        stream = await client.chat.completions.create(
            **_params(call, name), stream=True, stream_options={"include_usage": True}
        )
        async for chunk in stream:
            if chunk.usage is not None:
                usage = _usage(chunk.usage)
            for choice in chunk.choices:
                if choice.delta and choice.delta.content:
                    parts.append(choice.delta.content)
                    await on_delta(choice.delta.content)
                if choice.finish_reason:
                    finish = choice.finish_reason
        return Completion("".join(parts), finish, usage or TokenUsage(0, 0))
    except openai.APIStatusError as exc:
        failure: ProviderFailure = errors.from_status(name, exc.status_code, exc.response.headers)
    except openai.APITimeoutError:
        failure = errors.timeout(name)
    except openai.APIConnectionError as exc:
        failure = errors.unreachable(name, type(exc).__name__)
    failure.usage = usage
    raise failure

"""Gemini generateContent / streamGenerateContent through google-genai (aiohttp for async when installed)."""

from __future__ import annotations

from typing import Any

import aiohttp
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from ...domain.calls import Completion, FailureKind, ProviderCall, ProviderFailure, TokenUsage
from ...ports import DeltaSink
from . import errors

NAME = "gemini"


def make_client(api_key: str, base_url: str | None, timeout: float) -> genai.Client:
    return genai.Client(
        api_key=api_key,
        http_options=types.HttpOptions(
            base_url=base_url, timeout=int(timeout * 1000), retry_options=types.HttpRetryOptions(attempts=1)
        ),
    )


def _request(call: ProviderCall) -> tuple[list[types.Content], types.GenerateContentConfig]:
    system = "\n\n".join(m["content"] for m in call.messages if m["role"] == "system")
    contents = [
        types.Content(role="model" if m["role"] == "assistant" else "user", parts=[types.Part(text=m["content"])])
        for m in call.messages
        if m["role"] != "system"
    ]
    config = types.GenerateContentConfig(
        max_output_tokens=call.max_tokens,
        temperature=call.temperature,
        top_p=call.top_p,
        stop_sequences=call.stop,
        system_instruction=system or None,
    )
    return contents, config


def _usage(u: Any) -> TokenUsage:
    if u is None:
        return TokenUsage(0, 0)
    return TokenUsage(
        input_tokens=u.prompt_token_count or 0,  # Gemini's prompt count includes cached content
        output_tokens=(u.candidates_token_count or 0) + (getattr(u, "thoughts_token_count", None) or 0),
        cache_read_tokens=u.cached_content_token_count or 0,
    )


def _text(response: Any) -> tuple[str, str | None]:
    if not response.candidates:
        return "", None
    candidate = response.candidates[0]
    parts = candidate.content.parts if candidate.content and candidate.content.parts else []
    text = "".join(p.text for p in parts if p.text and not getattr(p, "thought", False))
    finish = candidate.finish_reason.value.lower() if candidate.finish_reason else None
    return text, finish


def _api_key_invalid(exc: genai_errors.APIError) -> bool:
    details = exc.details if isinstance(exc.details, dict) else {}
    error = details.get("error", details)
    for item in (error.get("details") or []) if isinstance(error, dict) else []:
        if isinstance(item, dict) and item.get("reason") == "API_KEY_INVALID":
            return True
    return False


async def complete(client: genai.Client, call: ProviderCall, on_delta: DeltaSink | None) -> Completion:
    contents, config = _request(call)
    usage: TokenUsage | None = None
    try:
        if on_delta is None:
            response = await client.aio.models.generate_content(model=call.model, contents=contents, config=config)
            text, finish = _text(response)
            return Completion(text, finish, _usage(response.usage_metadata))
        parts: list[str] = []
        finish = None
        async for chunk in await client.aio.models.generate_content_stream(
            model=call.model, contents=contents, config=config
        ):
            text, chunk_finish = _text(chunk)
            if text:
                parts.append(text)
                await on_delta(text)
            finish = chunk_finish or finish
            if chunk.usage_metadata is not None and chunk.usage_metadata.candidates_token_count is not None:
                usage = _usage(chunk.usage_metadata)
        return Completion("".join(parts), finish, usage or TokenUsage(0, 0))
    except genai_errors.APIError as exc:
        headers = getattr(getattr(exc, "response", None), "headers", None)
        failure: ProviderFailure = errors.from_status(
            NAME, exc.code or 500, headers, auth_rejected=exc.code == 400 and _api_key_invalid(exc)
        )
    except TimeoutError:
        failure = errors.timeout(NAME)
    except aiohttp.ClientError as exc:
        failure = errors.unreachable(NAME, type(exc).__name__)
    if failure.kind is FailureKind.AUTH:
        failure.usage = None
    else:
        failure.usage = usage
    raise failure

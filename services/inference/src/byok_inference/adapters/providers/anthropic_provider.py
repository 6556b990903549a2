"""Anthropic Messages through the official anthropic SDK (aiohttp transport); translation in domain."""

from __future__ import annotations

import json
from typing import Any

import anthropic

from ...domain.calls import Completion, ProviderCall, ProviderFailure
from ...domain.translation import anthropic as translate
from ...domain.translation.common import StreamState, Unsupported
from ...ports import DeltaSink
from . import errors
from .sdk_post import AnthropicOptions, AsyncAnthropic, post_json

NAME = "anthropic"
_STREAM_CLS = anthropic.AsyncStream[object]


def make_client(api_key: str, base_url: str | None, timeout: float) -> anthropic.AsyncAnthropic:
    return AsyncAnthropic(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=0,
        http_client=anthropic.DefaultAioHttpClient(timeout=timeout),
    )


async def complete(client: anthropic.AsyncAnthropic, call: ProviderCall, on_delta: DeltaSink | None) -> Completion:
    try:
        body, dropped = translate.request(call, stream=on_delta is not None)
    except Unsupported as exc:
        raise errors.unsupported(exc) from None
    try:
        if on_delta is None:
            raw = await post_json(client, AnthropicOptions, "/v1/messages", body)
            return translate.completion(json.loads(raw), dropped)
        return await _stream(client, body, dropped, on_delta)
    except (anthropic.APIStatusError, anthropic.APITimeoutError, anthropic.APIConnectionError) as exc:
        raise _translate(exc) from None


async def _stream(
    client: anthropic.AsyncAnthropic, body: dict[str, Any], dropped: tuple[str, ...], on_delta: DeltaSink
) -> Completion:
    state = StreamState(dropped=dropped)
    try:
        # Public `post` with cast_to=object: the SDK parses the SSE events and raises on error events,
        # and hands over each event as a plain dict (no typed event models built per event).
        stream = await client.post("/v1/messages", body=body, cast_to=object, stream=True, stream_cls=_STREAM_CLS)
        async for event in stream:
            delta = translate.stream_event(state, event)  # type: ignore[arg-type]
            if delta is not None:
                await on_delta(delta.text, delta.tool_calls)
    except (anthropic.APIStatusError, anthropic.APITimeoutError, anthropic.APIConnectionError) as exc:
        failure = _translate(exc)
        failure.usage = state.usage
        raise failure from None
    return state.completion()


def _translate(exc: Exception) -> ProviderFailure:
    if isinstance(exc, anthropic.APIStatusError):
        return errors.from_status(NAME, exc.status_code, exc.response.headers)
    if isinstance(exc, anthropic.APITimeoutError):
        return errors.timeout(NAME)
    return errors.unreachable(NAME, type(exc).__name__)

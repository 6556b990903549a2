"""OpenAI Chat Completions, and OpenRouter through the same SDK with its base_url."""

from __future__ import annotations

import json

import openai

from ...domain.calls import Completion, FailureKind, ProviderCall, ProviderFailure
from ...domain.translation import openai_chat as translate
from ...domain.translation.common import StreamState, Unsupported
from ...ports import DeltaSink
from . import errors
from .sdk_post import AsyncOpenAI, OpenAIOptions, post_json

_STREAM_CLS = openai.AsyncStream[object]


def make_client(api_key: str, base_url: str | None, timeout: float) -> openai.AsyncOpenAI:
    return AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=0,
        http_client=openai.DefaultAioHttpClient(timeout=timeout),
    )


async def complete(
    client: openai.AsyncOpenAI, call: ProviderCall, on_delta: DeltaSink | None, name: str = "openai"
) -> Completion:
    try:
        body, dropped = translate.request(call, name, stream=on_delta is not None)
    except Unsupported as exc:
        raise errors.unsupported(exc) from None
    state: StreamState | None = None
    try:
        if on_delta is None:
            raw = await post_json(client, OpenAIOptions, "/chat/completions", body)
            return translate.completion(json.loads(raw), dropped)
        state = StreamState(dropped=dropped)
        # Public `post` with cast_to=object: chunks arrive as plain dicts (no typed chunk models); the SDK
        # still raises on an error chunk.
        stream = await client.post("/chat/completions", body=body, cast_to=object, stream=True, stream_cls=_STREAM_CLS)
        async for chunk in stream:
            delta = translate.stream_event(state, chunk)  # type: ignore[arg-type]
            if delta is not None:
                await on_delta(delta.text, delta.tool_calls)
        return state.completion()
    except openai.APIStatusError as exc:
        unsupported = errors.openrouter_unsupported(exc.status_code, exc.message) if name == "openrouter" else None
        failure: ProviderFailure = unsupported or errors.from_status(name, exc.status_code, exc.response.headers)
    except openai.APITimeoutError:
        failure = errors.timeout(name)
    except openai.APIConnectionError as exc:
        failure = errors.unreachable(name, type(exc).__name__)
    except openai.APIError as exc:  # an error chunk inside a stream
        failure = ProviderFailure(FailureKind.SERVER, f"{name} stream error: {type(exc).__name__}")
    failure.usage = state.usage if state is not None else None
    raise failure

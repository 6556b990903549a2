"""`client.post(path, body=..., cast_to=bytes)` of the official openai / anthropic SDKs, minus two costs.

The one place that touches the SDKs' private parts; `tests/unit/inference/test_inference_sdk_post.py`
fails when an SDK upgrade changes what it relies on.

1. Both SDKs' `post()` builds its `FinalRequestOptions` with pydantic's `construct`, which deep-copies
   every default of the model on every call (~20 us; profiled). The options of our calls differ only in
   the JSON body, so they are built once per path and copied with the body.
2. The SDKs' `_build_request` merges default headers, auth headers and URLs through httpx2's models on
   every call: about half of the SDK's CPU per call, a third of the worker's (cProfile of
   bench/inference). For one client, one path and one retry count, every part of that request but the
   body is the same, so the clients made by `AsyncOpenAI` / `AsyncAnthropic` below build it once with
   the SDK's own `_build_request` and then reuse its method, URL, headers and timeout with each new
   body. The client's cookies (a provider may set some) are added per request, as httpx2 does. Every
   call that is not a `post_json` body takes the SDK's path unchanged.

The SDK's public `client.request()` still runs as under `post()`: retries, error mapping, response
handling.

Each SDK is imported when its names are first asked for (`from .sdk_post import AsyncOpenAI` imports openai
only): a worker that serves OpenAI never carries the anthropic SDK's ~3,000 modules (~40 MB of RSS).
"""

from __future__ import annotations

import json
import threading
from functools import cache
from typing import Any

import httpx2

# What the SDKs' `openapi_dumps` gives for plain JSON values (our bodies hold nothing else).
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


# Set by httpx2 from each request's body and the client's cookie jar at that moment, never kept.
_PER_REQUEST_HEADERS = (b"content-length", b"cookie")


class JsonBody(bytes):
    """A JSON body encoded by `post_json`, sent as the options' `content` (the SDKs send bytes as they are):
    the mark that the prepared-request path may build the request."""


class _PreparedPosts:
    """Mixin for an SDK client class: requests carrying a `JsonBody` reuse a once-built request."""

    _byok_prepared: dict[tuple[str, int], tuple[httpx2.URL, list[tuple[bytes, bytes]], dict[str, Any]]]

    def _build_request(self, options: Any, *, retries_taken: int = 0) -> httpx2.Request:
        body = options.content
        if type(body) is not JsonBody or self._idempotency_header:  # type: ignore[attr-defined]
            return super()._build_request(options, retries_taken=retries_taken)  # type: ignore[misc,no-any-return]
        prepared = self.__dict__.get("_byok_prepared")
        if prepared is None:
            prepared = self._byok_prepared = {}
        key = (options.url, retries_taken)
        parts = prepared.get(key)
        if parts is None:
            # The first request is the SDK's own; what does not depend on the body or the cookie jar is kept.
            # (A per-call key copy, made by `with_options` for one request, so costs nothing extra.)
            request: httpx2.Request = super()._build_request(options, retries_taken=retries_taken)  # type: ignore[misc]
            headers = [(k, v) for k, v in request.headers.raw if k.lower() not in _PER_REQUEST_HEADERS]
            prepared[key] = (request.url, headers, request.extensions)
            return request
        url, headers, extensions = parts
        cookies = self._client.cookies  # type: ignore[attr-defined]
        return httpx2.Request(
            options.method.upper(),
            url,
            headers=headers,
            content=body,
            extensions=dict(extensions),
            cookies=cookies if cookies.jar else None,
        )


def _openai_names() -> dict[str, Any]:
    import openai
    from openai._models import FinalRequestOptions

    class AsyncOpenAI(_PreparedPosts, openai.AsyncOpenAI):
        """`openai.AsyncOpenAI` with prepared requests for `post_json` (OpenAI and OpenRouter)."""

    AsyncOpenAI.__qualname__ = "AsyncOpenAI"
    return {"AsyncOpenAI": AsyncOpenAI, "OpenAIOptions": FinalRequestOptions}


def _anthropic_names() -> dict[str, Any]:
    import anthropic
    from anthropic._models import FinalRequestOptions

    class AsyncAnthropic(_PreparedPosts, anthropic.AsyncAnthropic):
        """`anthropic.AsyncAnthropic` with prepared requests for `post_json`."""

    AsyncAnthropic.__qualname__ = "AsyncAnthropic"
    return {"AsyncAnthropic": AsyncAnthropic, "AnthropicOptions": FinalRequestOptions}


_making = threading.Lock()
_SDK_NAMES = {
    "AsyncOpenAI": _openai_names,
    "OpenAIOptions": _openai_names,
    "AsyncAnthropic": _anthropic_names,
    "AnthropicOptions": _anthropic_names,
}


def __getattr__(name: str) -> Any:
    """The SDK-specific names, made at their SDK's first use and then kept as module globals."""
    make = _SDK_NAMES.get(name)
    if make is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _making:  # one class per SDK even when two threads ask at once (it is checked with `is`)
        if name not in globals():
            globals().update(make())
    return globals()[name]


@cache
def _template(options_cls: type[Any], path: str) -> Any:
    return options_cls.construct(method="post", url=path)


async def post_json(client: Any, options_cls: type[Any], path: str, body: dict[str, Any]) -> bytes:
    """POST `body` as JSON to `path` through the SDK client; the raw response body (errors raise as usual)."""
    options = _template(options_cls, path).model_copy(update={"content": JsonBody(_encode(body).encode())})  # type: ignore[arg-type]
    return await client.request(bytes, options)  # type: ignore[no-any-return]


# AsyncOpenAI, OpenAIOptions, AsyncAnthropic and AnthropicOptions come from __getattr__, each SDK at its first use.
__all__ = ["JsonBody", "post_json"]

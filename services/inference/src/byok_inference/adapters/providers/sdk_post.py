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
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import anthropic
import httpx2
import openai
from anthropic._models import FinalRequestOptions as AnthropicOptions
from openai._models import FinalRequestOptions as OpenAIOptions

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


class AsyncOpenAI(_PreparedPosts, openai.AsyncOpenAI):
    """`openai.AsyncOpenAI` with prepared requests for `post_json` (OpenAI and OpenRouter)."""


class AsyncAnthropic(_PreparedPosts, anthropic.AsyncAnthropic):
    """`anthropic.AsyncAnthropic` with prepared requests for `post_json`."""


@cache
def _template(options_cls: type[Any], path: str) -> Any:
    return options_cls.construct(method="post", url=path)


async def post_json(client: Any, options_cls: type[Any], path: str, body: dict[str, Any]) -> bytes:
    """POST `body` as JSON to `path` through the SDK client; the raw response body (errors raise as usual)."""
    options = _template(options_cls, path).model_copy(update={"content": JsonBody(_encode(body).encode())})  # type: ignore[arg-type]
    return await client.request(bytes, options)  # type: ignore[no-any-return]


__all__ = ["AnthropicOptions", "AsyncAnthropic", "AsyncOpenAI", "JsonBody", "OpenAIOptions", "post_json"]

"""`client.post(path, body=..., cast_to=bytes)` of the official openai / anthropic SDKs, minus one cost.

Both SDKs' `post()` builds its `FinalRequestOptions` with pydantic's `construct`, which deep-copies every
default of the model on every call (~20 us, 6% of the worker's CPU; profiled). The options of our calls
differ only in the JSON body, so they are built once per path and shallow-copied with the body; the SDK's
own `client.request()` (public) then runs exactly as under `post()`: it copies the options again before
touching them (idempotency key, retries), so the shared template is never mutated.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from anthropic._models import FinalRequestOptions as AnthropicOptions
from openai._models import FinalRequestOptions as OpenAIOptions


@cache
def _template(options_cls: type[Any], path: str) -> Any:
    return options_cls.construct(method="post", url=path)


async def post_json(client: Any, options_cls: type[Any], path: str, body: dict[str, Any]) -> bytes:
    """POST `body` as JSON to `path` through the SDK client; the raw response body (errors raise as usual)."""
    options = _template(options_cls, path).model_copy(update={"json_data": body})  # type: ignore[arg-type]
    return await client.request(bytes, options)  # type: ignore[no-any-return]


__all__ = ["AnthropicOptions", "OpenAIOptions", "post_json"]

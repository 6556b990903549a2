"""Gemini generateContent / streamGenerateContent through google-genai (aiohttp for async when installed)."""

from __future__ import annotations

import aiohttp
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from ...domain.calls import Completion, FailureKind, ProviderCall, ProviderFailure
from ...domain.translation import gemini as translate
from ...domain.translation.common import StreamState, Unsupported
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


def _api_key_invalid(exc: genai_errors.APIError) -> bool:
    details = exc.details if isinstance(exc.details, dict) else {}
    error = details.get("error", details)
    for item in (error.get("details") or []) if isinstance(error, dict) else []:
        if isinstance(item, dict) and item.get("reason") == "API_KEY_INVALID":
            return True
    return False


async def complete(
    client: genai.Client, call: ProviderCall, on_delta: DeltaSink | None, *, per_call_key: bool = False
) -> Completion:
    """per_call_key: the client is shared; the call's key goes in this request's own headers."""
    try:
        contents, config, dropped = translate.request(call)
    except Unsupported as exc:
        raise errors.unsupported(exc) from None
    if per_call_key:
        config["http_options"] = {"headers": {"x-goog-api-key": call.api_key}}
    state = StreamState(dropped=dropped)
    try:
        if on_delta is None:
            response = await client.aio.models.generate_content(
                model=call.model,
                contents=contents,  # type: ignore[arg-type]  # ContentDicts, built by the translation module
                config=config,  # type: ignore[arg-type]
            )
            return translate.completion(response, dropped)
        async for chunk in await client.aio.models.generate_content_stream(
            model=call.model,
            contents=contents,  # type: ignore[arg-type]  # ContentDicts, built by the translation module
            config=config,  # type: ignore[arg-type]
        ):
            delta = translate.stream_event(state, chunk)
            if delta is not None:
                await on_delta(delta.text, delta.tool_calls)
        return state.completion()
    except genai_errors.APIError as exc:
        headers = getattr(getattr(exc, "response", None), "headers", None)
        failure: ProviderFailure = errors.from_status(
            NAME, exc.code or 500, headers, auth_rejected=exc.code == 400 and _api_key_invalid(exc)
        )
    except TimeoutError:
        failure = errors.timeout(NAME)
    except aiohttp.ClientError as exc:
        failure = errors.unreachable(NAME, type(exc).__name__)
    failure.usage = None if failure.kind is FailureKind.AUTH else state.usage
    raise failure

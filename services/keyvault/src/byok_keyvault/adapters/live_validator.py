"""LiveValidator: the official SDKs' cheapest authenticated call, with a short timeout and no retries.

anthropic: models.list(limit=1); openai: models.list(); openrouter: GET /key (the key's own info, through the
openai SDK); gemini: models.list(page_size=1). 401/403 (Gemini: 400 API_KEY_INVALID) -> KeyRejected; anything
else that fails -> ValidationUnavailable. SDK error texts are never passed on (they could quote the request).
"""

from __future__ import annotations

import anthropic
import httpx
import openai
from byok_core.settings import ProviderEndpoints
from byok_events import Provider
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from ..ports import KeyRejected, ValidationUnavailable

OPENROUTER_DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"


class SdkLiveValidator:
    def __init__(self, endpoints: ProviderEndpoints, *, timeout_seconds: float = 5.0) -> None:
        self._endpoints = endpoints
        self._timeout = timeout_seconds

    async def validate(self, provider: Provider, api_key: str) -> None:
        try:
            if provider is Provider.ANTHROPIC:
                await self._anthropic(api_key)
            elif provider is Provider.OPENAI:
                await self._openai(api_key, self._endpoints.openai_base_url, "/models")
            elif provider is Provider.OPENROUTER:
                await self._openai(api_key, self._endpoints.openrouter_base_url or OPENROUTER_DEFAULT_BASE_URL, "/key")
            else:
                await self._gemini(api_key)
        except (KeyRejected, ValidationUnavailable):
            raise
        except (
            anthropic.AuthenticationError,
            anthropic.PermissionDeniedError,
            openai.AuthenticationError,
            openai.PermissionDeniedError,
        ):
            raise KeyRejected("the provider rejected the key") from None
        except Exception as exc:
            raise ValidationUnavailable(f"the provider could not be asked ({type(exc).__name__})") from None

    async def _anthropic(self, api_key: str) -> None:
        async with anthropic.AsyncAnthropic(
            api_key=api_key, base_url=self._endpoints.anthropic_base_url, timeout=self._timeout, max_retries=0
        ) as client:
            await client.models.list(limit=1)

    async def _openai(self, api_key: str, base_url: str | None, path: str) -> None:
        async with openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=self._timeout, max_retries=0
        ) as client:
            await client.get(path, cast_to=httpx.Response)

    async def _gemini(self, api_key: str) -> None:
        options = genai_types.HttpOptions(timeout=int(self._timeout * 1000))
        if self._endpoints.gemini_base_url:
            options.base_url = self._endpoints.gemini_base_url
        client = genai.Client(api_key=api_key, http_options=options)
        try:
            await client.aio.models.list(config={"page_size": 1})
        except genai_errors.ClientError as exc:
            if exc.code in (401, 403) or (exc.code == 400 and "API_KEY_INVALID" in str(exc.details)):
                raise KeyRejected("the provider rejected the key") from None
            raise ValidationUnavailable(f"the provider answered {exc.code}") from None
        finally:
            await client.aio.aclose()

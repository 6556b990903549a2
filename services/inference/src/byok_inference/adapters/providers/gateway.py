"""ProviderGateway: one SDK client per (provider, key), reused from a bounded LRU cache."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from typing import Any

from byok_core.settings import ProviderEndpoints
from byok_events import Provider

from ...domain.calls import Completion, ProviderCall
from ...ports import DeltaSink
from . import anthropic_provider, errors, gemini_provider, openai_provider

log = logging.getLogger("byok.inference.providers")


class SdkGateway:
    def __init__(
        self,
        endpoints: ProviderEndpoints,
        *,
        timeout: float = 60.0,
        max_clients: int = 1024,
        close_grace: float = 120.0,
    ) -> None:
        self._endpoints = endpoints
        self._timeout = timeout
        self._max_clients = max_clients
        self._close_grace = close_grace
        self._clients: OrderedDict[tuple[Provider, str], Any] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def _base_url(self, provider: Provider) -> str | None:
        e = self._endpoints
        return {
            Provider.ANTHROPIC: e.anthropic_base_url,
            Provider.OPENAI: e.openai_base_url,
            Provider.GEMINI: e.gemini_base_url,
            Provider.OPENROUTER: e.openrouter_base_url or openai_provider.OPENROUTER_URL,
        }[provider]

    def client(self, provider: Provider, api_key: str) -> Any:
        # The cache is keyed by a digest so the plaintext key is not kept twice in memory structures.
        cache_key = (provider, hashlib.sha256(api_key.encode()).hexdigest())
        client = self._clients.get(cache_key)
        if client is not None:
            self._clients.move_to_end(cache_key)
            return client
        base_url = self._base_url(provider)
        if provider is Provider.ANTHROPIC:
            client = anthropic_provider.make_client(api_key, base_url, self._timeout)
        elif provider is Provider.GEMINI:
            client = gemini_provider.make_client(api_key, base_url, self._timeout)
        else:
            client = openai_provider.make_client(api_key, base_url, self._timeout)
        self._clients[cache_key] = client
        while len(self._clients) > self._max_clients:
            _, evicted = self._clients.popitem(last=False)
            self._close_later(evicted)
        return client

    @property
    def cached_clients(self) -> int:
        return len(self._clients)

    async def complete(self, call: ProviderCall, on_delta: DeltaSink | None = None) -> Completion:
        client = self.client(call.provider, call.api_key)
        try:
            async with asyncio.timeout(self._timeout + 5):
                if call.provider is Provider.ANTHROPIC:
                    return await anthropic_provider.complete(client, call, on_delta)
                if call.provider is Provider.GEMINI:
                    return await gemini_provider.complete(client, call, on_delta)
                return await openai_provider.complete(client, call, on_delta, name=call.provider.value)
        except TimeoutError:
            raise errors.timeout(call.provider.value) from None

    def _close_later(self, client: Any) -> None:
        """An evicted client may still serve calls in flight: close it after they are surely done."""

        async def close() -> None:
            await asyncio.sleep(self._close_grace)
            await _close(client)

        task = asyncio.get_running_loop().create_task(close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        for task in list(self._closing):
            task.cancel()
        clients = list(self._clients.values())
        self._clients.clear()
        await asyncio.gather(*(_close(c) for c in clients), return_exceptions=True)


async def _close(client: Any) -> None:
    try:
        if hasattr(client, "aio"):  # google-genai
            await client.aio.aclose()
        else:
            await client.close()
    except Exception:
        log.debug("closing a provider client failed", exc_info=True)

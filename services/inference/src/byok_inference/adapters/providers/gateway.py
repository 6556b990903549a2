"""ProviderGateway: one SDK client per (provider, stored key), reused from a bounded LRU cache.

Request-supplied keys (sealed in the event) are never cached: their call goes through one shared client
per provider, with the key given for that call only (`with_options(api_key=...)`, a copy that shares the
shared client's connection pool, for the openai and anthropic SDKs; a per-request header for
google-genai). A flood of distinct request keys therefore grows nothing, and no plaintext key outlives
its request in a client. (A new SDK client per call would cost ~0.2 s of CPU here: SSL contexts and
pools; measured.) A cached client evicted while calls still use it is closed when the last of them ends.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import importlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from byok_core.settings import ProviderEndpoints
from byok_events import Provider

from ...domain.calls import Completion, ProviderCall
from ...ports import DeltaSink
from . import errors

log = logging.getLogger("byok.inference.providers")

_MODULES = {
    Provider.ANTHROPIC: "anthropic_provider",
    Provider.GEMINI: "gemini_provider",
    Provider.OPENAI: "openai_provider",
    Provider.OPENROUTER: "openai_provider",
}


OPENROUTER_URL = "https://openrouter.ai/api/v1"


@functools.cache
def _sdk(provider: Provider) -> Any:
    """A provider's adapter module, imported at its first use: each SDK costs 12-38 MB of RSS, and a worker
    that never calls a provider should not carry its SDK."""
    module = importlib.import_module(f"{__package__}.{_MODULES[provider]}")
    _imported.add(_MODULES[provider])
    return module


# Adapter modules whose import has finished (a module is in sys.modules from the start of its import).
_imported: set[str] = set()


def _sdk_timed(provider: Provider) -> Any:
    started = time.perf_counter()
    module = _sdk(provider)
    log.info(
        "provider SDK loaded",
        extra={"provider": provider.value, "seconds": round(time.perf_counter() - started, 3)},
    )
    return module


@dataclass
class _Entry:
    client: Any
    users: int = 0
    evicted: bool = False


class SdkGateway:
    def __init__(self, endpoints: ProviderEndpoints, *, timeout: float = 60.0, max_clients: int = 1024) -> None:
        self._endpoints = endpoints
        self._timeout = timeout
        self._max_clients = max_clients
        self._clients: OrderedDict[tuple[Provider, str], _Entry] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()  # closes under way (each finishes in milliseconds)
        self._shared: dict[Provider, Any] = {}  # per provider, for request-supplied keys
        self._loading: dict[str, asyncio.Future[Any]] = {}  # SDK imports under way, per adapter module

    def _base_url(self, provider: Provider) -> str | None:
        e = self._endpoints
        return {
            Provider.ANTHROPIC: e.anthropic_base_url,
            Provider.OPENAI: e.openai_base_url,
            Provider.GEMINI: e.gemini_base_url,
            Provider.OPENROUTER: e.openrouter_base_url or OPENROUTER_URL,
        }[provider]

    def _make(self, provider: Provider, api_key: str) -> Any:
        base_url = self._base_url(provider)
        if provider is Provider.ANTHROPIC:
            return _sdk(Provider.ANTHROPIC).make_client(api_key, base_url, self._timeout)
        if provider is Provider.GEMINI:
            return _sdk(Provider.GEMINI).make_client(api_key, base_url, self._timeout)
        return _sdk(Provider.OPENAI).make_client(api_key, base_url, self._timeout)

    def _entry(self, provider: Provider, api_key: str) -> _Entry:
        # The cache is keyed by a digest so the plaintext key is not kept twice in memory structures.
        cache_key = (provider, hashlib.sha256(api_key.encode()).hexdigest())
        entry = self._clients.get(cache_key)
        if entry is not None:
            self._clients.move_to_end(cache_key)
            return entry
        entry = self._clients[cache_key] = _Entry(self._make(provider, api_key))
        while len(self._clients) > self._max_clients:
            _, evicted = self._clients.popitem(last=False)
            evicted.evicted = True
            if evicted.users == 0:
                self._close_soon(evicted.client)
        return entry

    def client(self, provider: Provider, api_key: str) -> Any:
        """The cached client of a stored key (tests and tools)."""
        return self._entry(provider, api_key).client

    def preload(self, providers: list[Provider]) -> None:
        """Import these providers' SDKs now (at start), not at their first call."""
        for provider in providers:
            _sdk(provider)

    def loaded(self, provider: Provider) -> bool:
        return _MODULES[provider] in _imported

    async def load(self, provider: Provider) -> None:
        """Import a provider's SDK in a thread, once: the event loop goes on serving the other providers
        meanwhile (an import takes 0.3-1 s with bytecode caches, seconds without), and every call to this
        provider that arrives during the import waits for the same one."""
        if self.loaded(provider):
            return
        module = _MODULES[provider]
        loading = self._loading.get(module)
        if loading is None:
            loading = self._loading[module] = asyncio.ensure_future(asyncio.to_thread(_sdk_timed, provider))
            loading.add_done_callback(lambda _: self._loading.pop(module, None))
        await asyncio.shield(loading)

    @property
    def cached_clients(self) -> int:
        return len(self._clients)

    @property
    def closing_clients(self) -> int:
        return len(self._closing)

    def _request_key_client(self, provider: Provider, api_key: str) -> Any:
        shared = self._shared.get(provider)
        if shared is None:
            shared = self._shared[provider] = self._make(provider, "request-key-placeholder")
        if provider is Provider.GEMINI:
            return shared  # the key goes in the call's own headers (gemini_provider.complete)
        return shared.with_options(api_key=api_key)  # a light copy sharing the pool; never closed alone

    async def complete(self, call: ProviderCall, on_delta: DeltaSink | None = None) -> Completion:
        if not self.loaded(call.provider):
            await self.load(call.provider)
        if not call.reuse_client:
            client = self._request_key_client(call.provider, call.api_key)
            return await self._run(client, call, on_delta, per_call_key=True)
        entry = self._entry(call.provider, call.api_key)
        entry.users += 1
        try:
            return await self._run(entry.client, call, on_delta)
        finally:
            entry.users -= 1
            if entry.evicted and entry.users == 0:
                self._close_soon(entry.client)

    async def _run(
        self, client: Any, call: ProviderCall, on_delta: DeltaSink | None, per_call_key: bool = False
    ) -> Completion:
        try:
            async with asyncio.timeout(self._timeout + 5):
                if call.provider is Provider.ANTHROPIC:
                    return await _sdk(Provider.ANTHROPIC).complete(client, call, on_delta)
                if call.provider is Provider.GEMINI:
                    return await _sdk(Provider.GEMINI).complete(client, call, on_delta, per_call_key=per_call_key)
                return await _sdk(call.provider).complete(client, call, on_delta, name=call.provider.value)
        except TimeoutError:
            raise errors.timeout(call.provider.value) from None

    def _close_soon(self, client: Any) -> None:
        task = asyncio.get_running_loop().create_task(_close(client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        clients = [e.client for e in self._clients.values()] + list(self._shared.values())
        self._clients.clear()
        self._shared.clear()
        await asyncio.gather(*(_close(c) for c in clients), *list(self._closing), return_exceptions=True)


async def _close(client: Any) -> None:
    try:
        if hasattr(client, "aio"):  # google-genai
            await client.aio.aclose()
        else:
            await client.close()
    except Exception:
        log.debug("closing a provider client failed", exc_info=True)

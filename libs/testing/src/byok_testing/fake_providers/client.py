"""Program a fake provider server over HTTP from another process (tests, bench)."""

from __future__ import annotations

from typing import Any

import aiohttp


class FakeProviderControl:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.url + path, **kwargs) as r,
        ):
            r.raise_for_status()
            return await r.json()

    async def add_rules(self, *rules: dict[str, Any], replace: bool = False) -> None:
        await self._request("POST", "/_control/rules", json={"rules": list(rules), "replace": replace})

    async def clear_rules(self) -> None:
        await self._request("DELETE", "/_control/rules")

    async def set_latency(self, ms: float) -> None:
        await self._request("POST", "/_control/latency", json={"ms": ms})

    async def calls(self, contains: str | None = None, api_key: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("contains", contains), ("api_key", api_key)) if v is not None}
        return (await self._request("GET", "/_calls", params=params))["calls"]

    async def clear_calls(self) -> None:
        await self._request("DELETE", "/_calls")

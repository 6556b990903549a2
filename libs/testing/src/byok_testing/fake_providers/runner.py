"""Start the fake provider server in-process (tests); standalone: python -m byok_testing.fake_providers."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from .server import FakeProviderServer


def base_urls(root: str) -> dict[str, str]:
    """The BYOK_*_BASE_URL values that point each provider's SDK at a fake served from `root`."""
    root = root.rstrip("/")
    return {
        "BYOK_ANTHROPIC_BASE_URL": root,
        "BYOK_OPENAI_BASE_URL": f"{root}/v1",
        "BYOK_GEMINI_BASE_URL": root,
        "BYOK_OPENROUTER_BASE_URL": f"{root}/api/v1",
    }


@dataclass
class RunningFakeProviders:
    server: FakeProviderServer
    runner: web.AppRunner
    url: str

    @property
    def env(self) -> dict[str, str]:
        return base_urls(self.url)

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_fake_providers(host: str = "127.0.0.1", port: int = 0) -> RunningFakeProviders:
    """Serve a fresh fake on host:port (0: any free port) inside the running event loop."""
    server = FakeProviderServer()
    runner = web.AppRunner(server.app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    bound = runner.addresses[0][1]
    return RunningFakeProviders(server, runner, f"http://{host}:{bound}")

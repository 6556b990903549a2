"""Helpers of the browser tests: Debian's Chromium, headless, driven by playwright, against the key-vault service.

The service runs in-process on a real port with the real Vault and Kafka of the local stack, as in the
key-vault integration tests (their helpers are reused). `infra/browser/install.sh` installs Chromium;
`make test` runs it first. Screenshots go to $BYOK_RUN_DIR/artifacts/browser/.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import ConsoleMessage, Page, Request

# the key-vault integration tests' helpers: the service in-process on a real port, and tokens
from support.keyvault import Running, running_service, settings_for, token

__all__ = ["Running", "running_service", "settings_for", "token"]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("BYOK_CHROMIUM", "/usr/bin/chromium")
# The flags this machine needs: no sandbox as root, no GPU, and no background calls to Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}
API = "/api/user-api-keys"


def artifacts_dir() -> Path:
    run_dir = Path(os.environ.get("BYOK_RUN_DIR", REPO / ".run"))
    path = run_dir / "artifacts" / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Exchange:
    method: str
    url: str
    request_headers: dict[str, str]
    post_data: str | None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Recorder:
    """Every request the page makes with its answer, and every console message."""

    exchanges: list[Exchange] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    _pending: set[asyncio.Task] = field(default_factory=set)

    def attach(self, page: Page) -> None:
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._finished)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _console(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")

    def _finished(self, request: Request) -> None:
        task = asyncio.get_running_loop().create_task(self._record(request))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _record(self, request: Request) -> None:
        exchange = Exchange(request.method, request.url, await request.all_headers(), request.post_data)
        self.exchanges.append(exchange)
        response = await request.response()
        if response is not None:
            exchange.status = response.status
            exchange.response_headers = await response.all_headers()
            with contextlib.suppress(Exception):  # redirects and aborted requests have no body
                exchange.body = await response.body()

    async def settle(self) -> list[Exchange]:
        while self._pending:
            await asyncio.gather(*list(self._pending))
        return self.exchanges

    def api_calls(self, method: str | None = None) -> list[Exchange]:
        return [e for e in self.exchanges if API in e.url and (method is None or e.method == method.upper())]


@dataclass
class KeysPage:
    page: Page
    recorder: Recorder
    url: str

    async def open(self) -> None:
        await self.page.goto(self.url + "/keys")
        await self.page.wait_for_selector("html[data-ready='true']")

    async def sign_in(self, bearer_token: str) -> None:
        await self.page.get_by_label("Access token").fill(bearer_token)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.page.locator("#workspace").wait_for(state="visible")

    def row(self, provider: str, scope: str = "user"):
        return self.page.locator(f"#{scope}-keys-table tbody tr[data-provider='{provider}']")

    async def save_key(self, provider: str, api_key: str, scope: str = "user") -> None:
        await self.page.get_by_label("Provider").select_option(provider)
        if scope == "org":
            await self.page.get_by_label("The whole organisation").check()
        elif await self.page.locator("#scope-field").is_visible():
            await self.page.get_by_label("Me only").check()
        await self.page.get_by_label("API key").fill(api_key)
        async with self.page.expect_response(lambda r: r.url.endswith(API) and r.request.method == "POST"):
            await self.page.locator("#save").click()


def bearer_token(sub: str, tenant: str, role: str = "member", ttl: int = 600) -> str:
    return token(sub, tenant, role, ttl=ttl)

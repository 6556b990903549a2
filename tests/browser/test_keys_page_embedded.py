"""The page embedded by a platform (BYOK_KEYVAULT_FRAME_ANCESTORS): framed only by the allowed origin, which
hands it the token by postMessage; any other origin cannot frame it."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
import uvicorn
from byok_testing.waiting import wait_until
from playwright.async_api import Browser, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from support.browser import Running, bearer_token, running_service, settings_for

pytestmark = pytest.mark.integration

PARENT = """<!doctype html><html><head><title>Platform</title></head><body>
<h1>Platform settings</h1>
<iframe id="keys" src="{kv}/keys" width="1000" height="640" title="Provider keys"></iframe>
<script>
window.seen = [];
window.addEventListener("message", (event) => {{
  if (event.origin !== "{kv}") return;
  window.seen.push(event.data.type);
  if (event.data.type === "byok-keys:ready") {{
    document.getElementById("keys").contentWindow.postMessage({{type: "byok-keys:token", token: {token}}}, "{kv}");
  }}
}});
</script></body></html>"""


class Platform:
    """The embedding platform: a page on its own port, reached as http://localhost:<port> (the allowed
    origin) or as http://127.0.0.1:<port> (another origin, same server)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        port = self.sock.getsockname()[1]
        self.origin, self.stranger = f"http://localhost:{port}", f"http://127.0.0.1:{port}"
        self.pages: dict[str, str] = {}
        app = Starlette(routes=[Route("/{name}", self.serve)])
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))

    async def serve(self, request: Request) -> HTMLResponse:
        return HTMLResponse(self.pages.get(request.path_params["name"], "no such page"))

    async def __aenter__(self) -> Platform:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        await wait_until(lambda: self.server.started, 10, "the platform's page server did not start")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, timeout=10)
        self.sock.close()


@pytest.fixture(scope="module")
async def platform() -> AsyncIterator[Platform]:
    async with Platform() as running:
        yield running


@pytest.fixture(scope="module")
async def kv(stack_env, tmp_path_factory, platform: Platform) -> AsyncIterator[Running]:
    group = f"byok-keyvault-embed-{uuid.uuid4().hex[:10]}"
    settings = settings_for(
        stack_env, str(tmp_path_factory.mktemp("kv-embed")), group, keyvault_frame_ancestors=platform.origin
    )
    async with running_service(settings) as running:
        yield running


async def platform_page(browser: Browser, kv: Running, platform: Platform, origin: str, token: str) -> Page:
    name = uuid.uuid4().hex
    platform.pages[name] = PARENT.format(kv=kv.url, token=json.dumps(token))
    context = await browser.new_context(viewport={"width": 1100, "height": 800})
    page = await context.new_page()
    await page.goto(f"{origin}/{name}")
    return page


async def test_the_platform_frames_the_page_and_hands_over_the_token(browser, kv, platform, unique_id):
    tenant = f"t-{unique_id}"
    page = await platform_page(browser, kv, platform, platform.origin, bearer_token("u7", tenant))
    try:
        frame = page.frame_locator("#keys")
        await expect(frame.locator("#workspace")).to_be_visible()
        await expect(frame.locator("#who-text")).to_have_text(f"Signed in as u7 · {tenant} · member")
        await expect(frame.get_by_text("You have no keys yet")).to_be_visible()
        assert await page.evaluate("() => window.seen") == ["byok-keys:ready"]
        # signing out tells the platform, which may hand over a fresh token
        await frame.get_by_role("button", name="Sign out").click()
        await expect(frame.locator("#sign-in")).to_be_visible()
        await page.wait_for_function("() => window.seen.includes('byok-keys:signed-out')")
    finally:
        await page.context.close()


async def test_another_origin_cannot_frame_the_page(browser, kv, platform, unique_id):
    page = await platform_page(browser, kv, platform, platform.stranger, bearer_token("u7", f"t-{unique_id}"))
    try:
        await page.wait_for_load_state("load")
        frame = next(f for f in page.frames if f.parent_frame is not None)
        assert frame.url == "chrome-error://chromewebdata/"  # refused by frame-ancestors
        assert await page.evaluate("() => window.seen") == []  # the page never ran there
    finally:
        await page.context.close()

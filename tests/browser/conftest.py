"""Fixtures of the browser tests: one Chromium per session, the real key-vault service per module."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright, expect
from support.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, KeysPage, Recorder, Running, running_service, settings_for

# The machine is shared and small: give the page time rather than fail on a busy moment.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run infra/browser/install.sh (make test does)")
    async with async_playwright() as pw:
        # launch() gives every browser a new, empty profile directory (--user-data-dir) of its own
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture(scope="module")
async def kv(stack_env, tmp_path_factory) -> AsyncIterator[Running]:
    group = f"byok-keyvault-page-{uuid.uuid4().hex[:10]}"
    # no leeway, so a token can expire during a test without a long wait
    settings = settings_for(stack_env, str(tmp_path_factory.mktemp("kv-page")), group, auth_jwt_leeway_seconds=0)
    async with running_service(settings) as running:
        yield running


@pytest.fixture
async def keys_page(browser: Browser, kv: Running) -> AsyncIterator[KeysPage]:
    context = await browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(30_000)
    page = await context.new_page()
    recorder = Recorder()
    recorder.attach(page)
    try:
        yield KeysPage(page, recorder, kv.url)
    finally:
        await recorder.settle()
        await context.close()


@pytest.fixture
async def api(kv: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=kv.url) as client:
        yield client

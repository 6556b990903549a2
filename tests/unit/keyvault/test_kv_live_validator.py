"""Live validation through the real SDKs against a local fake provider (base URLs from settings)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from byok_core.settings import ProviderEndpoints
from byok_events import Provider
from byok_keyvault.adapters.live_validator import SdkLiveValidator
from byok_keyvault.ports import KeyRejected, ValidationUnavailable
from kv_fakes import ANTHROPIC_KEY, GEMINI_KEY, OPENAI_KEY, OPENROUTER_KEY

GOOD = {ANTHROPIC_KEY, OPENAI_KEY, GEMINI_KEY, OPENROUTER_KEY}


@pytest.fixture
async def fake_provider():
    seen: list[str] = []
    mode = {"slow": False, "status": None}

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        if mode["slow"]:
            await asyncio.sleep(2)
        if mode["status"]:
            return web.json_response({"error": {"message": "boom"}}, status=mode["status"])
        auth = request.headers.get("authorization", "").removeprefix("Bearer ")
        key = request.headers.get("x-api-key") or request.headers.get("x-goog-api-key") or auth
        if key in GOOD:
            if "models" in request.path and "gemini" in request.path:
                return web.json_response({"models": []})
            return web.json_response({"data": [], "has_more": False, "first_id": None, "last_id": None})
        if request.path.startswith("/gemini"):
            return web.json_response(
                {
                    "error": {
                        "code": 400,
                        "message": "API key not valid.",
                        "status": "INVALID_ARGUMENT",
                        "details": [{"reason": "API_KEY_INVALID"}],
                    }
                },
                status=400,
            )
        return web.json_response(
            {"error": {"type": "authentication_error", "message": "invalid x-api-key"}}, status=401
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    endpoints = ProviderEndpoints(
        anthropic_base_url=base + "/anthropic",
        openai_base_url=base + "/openai/v1",
        gemini_base_url=base + "/gemini",
        openrouter_base_url=base + "/openrouter/v1",
    )
    yield SdkLiveValidator(endpoints, timeout_seconds=0.5), seen, mode
    await runner.cleanup()


KEYS = {
    Provider.ANTHROPIC: ANTHROPIC_KEY,
    Provider.OPENAI: OPENAI_KEY,
    Provider.GEMINI: GEMINI_KEY,
    Provider.OPENROUTER: OPENROUTER_KEY,
}


@pytest.mark.parametrize("provider", list(Provider))
async def test_accepts_and_rejects(fake_provider, provider):
    validator, seen, _ = fake_provider
    await validator.validate(provider, KEYS[provider])
    assert seen and seen[-1].startswith("/" + provider.value)
    wrong = KEYS[provider][:-3] + "zzz"
    with pytest.raises(KeyRejected) as caught:
        await validator.validate(provider, wrong)
    assert wrong not in str(caught.value)


async def test_timeouts_and_server_errors_are_unavailable_not_rejected(fake_provider):
    validator, _, mode = fake_provider
    mode["slow"] = True
    with pytest.raises(ValidationUnavailable):
        await validator.validate(Provider.OPENAI, OPENAI_KEY)
    mode["slow"], mode["status"] = False, 503
    for provider in Provider:
        with pytest.raises(ValidationUnavailable):
            await validator.validate(provider, KEYS[provider])

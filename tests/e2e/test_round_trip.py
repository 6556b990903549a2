"""A prompt travels producer -> inference -> provider -> response, and usage -> billing -> charge."""

from __future__ import annotations

import asyncio
import uuid
from decimal import ROUND_HALF_EVEN, Decimal

import aiohttp
import pytest
from byok_events import topics
from byok_testing.topics import TopicTail
from byok_testing.waiting import wait_until

from .conftest import tenant_token

pytestmark = pytest.mark.integration

TEN_DECIMALS = Decimal("1e-10")


async def test_user_key_round_trip_is_billed_with_the_byok_fee(services, tenant, client, fake) -> None:
    user_key = "sk-ant-api03-" + uuid.uuid4().hex + uuid.uuid4().hex
    stored = await tenant.store_key("anthropic", user_key)
    assert stored["keyType"] == "anthropic" and stored["version"] == 1
    async with TopicTail(services["BYOK_KAFKA_BOOTSTRAP"], topics.BILLING_CHARGES, key=tenant.tenant_id) as charges:
        response = await asyncio.wait_for(
            await client.submit(tenant.prompt("claude-sonnet-4-5"), user_token=tenant.token), 60
        )
        assert response.status == "completed", response.error
        assert (response.provider, response.route, response.key_source) == ("anthropic", "direct", "user")
        assert response.output_text
        assert [c["model"] for c in await fake.calls(api_key=user_key)] == ["claude-sonnet-4-5"]

        [charge] = await charges.wait_for(lambda c: c["tenant_id"] == tenant.tenant_id, timeout=60)
    assert charge["request_id"] == response.request_id
    assert charge["byok"] is True and charge["key_source"] == "user" and charge["priced"] is True
    provider_cost = Decimal(charge["provider_cost"])
    assert provider_cost > 0
    assert Decimal(charge["markup_rate"]) == Decimal("0.05")
    assert Decimal(charge["charge"]) == (provider_cost * Decimal("0.05")).quantize(TEN_DECIMALS, ROUND_HALF_EVEN)


async def test_a_stored_key_is_spent_only_with_its_users_token(services, tenant, client, fake) -> None:
    """BYOK_INFERENCE_USER_AUTH=required (the e2e services run with it): a prompt that would spend a stored key
    without that user's token (header byok-user-token), or with another user's, is refused `unauthorized`
    before any provider call and without moving to the platform's key; with the token it is spent."""
    user_key = "sk-proj-" + uuid.uuid4().hex + uuid.uuid4().hex
    await tenant.store_key("openai", user_key)
    other_users = tenant_token(services, tenant.tenant_id, "u_" + uuid.uuid4().hex[:6])  # same tenant
    usage = await TopicTail(services["BYOK_KAFKA_BOOTSTRAP"], topics.USAGE_EVENTS).start()
    try:
        refused = {
            "no token": await asyncio.wait_for(await client.submit(tenant.prompt("gpt-4.1")), 60),
            "another user's token": await asyncio.wait_for(
                await client.submit(tenant.prompt("gpt-4.1"), user_token=other_users), 60
            ),
            "a token of another secret": await asyncio.wait_for(
                await client.submit(
                    tenant.prompt("gpt-4.1"),
                    user_token=tenant_token(services, tenant.tenant_id, tenant.user_id, secret="x" * 40),
                ),
                60,
            ),
        }
        for why, response in refused.items():
            assert (response.status, response.error.code) == ("failed", "unauthorized"), why
            assert response.key_source is None, f"{why}: no silent move to another key"
        assert await fake.calls(api_key=user_key) == [], "no provider call without the user's authority"
        assert await usage.absent_for(3, lambda u: u["tenant_id"] == tenant.tenant_id) == []

        spent = await asyncio.wait_for(await client.submit(tenant.prompt("gpt-4.1"), user_token=tenant.token), 60)
        assert (spent.status, spent.key_source) == ("completed", "user"), spent.error
        assert [c["provider"] for c in await fake.calls(api_key=user_key)] == ["openai"]
    finally:
        await usage.stop()


async def test_system_key_round_trip_is_billed_with_the_markup(services, tenant, client, fake) -> None:
    async with TopicTail(services["BYOK_KAFKA_BOOTSTRAP"], topics.BILLING_CHARGES, key=tenant.tenant_id) as charges:
        response = await asyncio.wait_for(await client.submit(tenant.prompt("gpt-4.1")), 60)
        assert response.status == "completed", response.error
        assert (response.provider, response.key_source) == ("openai", "system")
        [charge] = await charges.wait_for(lambda c: c["tenant_id"] == tenant.tenant_id, timeout=60)
    provider_cost = Decimal(charge["provider_cost"])
    assert charge["byok"] is False and provider_cost > 0
    assert Decimal(charge["charge"]) == (provider_cost * Decimal("1.2")).quantize(TEN_DECIMALS, ROUND_HALF_EVEN)


async def test_require_mode_without_a_user_key_fails_without_usage(services, tenant, client) -> None:
    async with TopicTail(services["BYOK_KAFKA_BOOTSTRAP"], topics.USAGE_EVENTS) as usage:
        response = await asyncio.wait_for(
            await client.submit(tenant.prompt("gemini-2.5-flash", byok_mode="require")), 60
        )
        assert response.status == "failed" and response.error.code == "byok_key_required"
        assert await usage.absent_for(3, lambda u: u["tenant_id"] == tenant.tenant_id) == []


async def test_every_service_reports_health_and_metrics(services, tenant, client) -> None:
    async with TopicTail(services["BYOK_KAFKA_BOOTSTRAP"], topics.BILLING_CHARGES, key=tenant.tenant_id) as charges:
        response = await asyncio.wait_for(await client.submit(tenant.prompt("gpt-4.1")), 60)
        assert response.status == "completed"
        await charges.wait_for(timeout=60)  # billing charged it
    expected = {
        "BYOK_KEYVAULT_URL": ["byok_keyvault_http_requests_total"],
        "BYOK_INFERENCE_OPS_URL": ["byok_messages_total", "byok_consumer_lag", "byok_handle_seconds"],
        "BYOK_BILLING_OPS_URL": ["byok_messages_total", "byok_consumer_lag"],
    }
    async with aiohttp.ClientSession() as http:
        for variable, metric_names in expected.items():
            async with http.get(f"{services[variable]}/healthz") as answer:
                assert answer.status == 200, variable

            async def has_all(url: str = services[variable], names: list[str] = metric_names) -> bool:
                async with http.get(f"{url}/metrics") as answer:
                    text = await answer.text()
                return all(name in text for name in names)

            # the lag gauges are refreshed periodically
            await wait_until(has_all, 15, f"{variable}/metrics lacks one of {metric_names}", interval=0.3)


async def test_a_rejected_user_key_fails_without_fallback_and_lists_as_invalid(services, tenant, client, fake) -> None:
    rejected = "sk-or-v1-" + uuid.uuid4().hex + uuid.uuid4().hex
    await tenant.store_key("openrouter", rejected)
    await fake.add_rules({"action": "401", "api_key": rejected})
    async with TopicTail(services["BYOK_KAFKA_BOOTSTRAP"], topics.USAGE_EVENTS) as usage:
        # No anthropic key of the user's: prefer mode routes the model through the user's OpenRouter key.
        response = await asyncio.wait_for(
            await client.submit(tenant.prompt("claude-sonnet-4-5"), user_token=tenant.token), 60
        )
        assert response.status == "failed" and response.error.code == "invalid_user_key"
        assert rejected not in response.error.message
        assert [c["provider"] for c in await fake.calls(api_key=rejected)] == ["openrouter"]
        assert await usage.absent_for(3, lambda u: u["tenant_id"] == tenant.tenant_id) == []

    async def listed_invalid() -> dict:
        [key] = await tenant.list_keys()
        return key if key["status"] == "invalid" else {}

    key = await wait_until(listed_invalid, 15, "the rejected key is not listed as invalid", interval=0.3)
    assert key["keyType"] == "openrouter" and key["status"] == "invalid"

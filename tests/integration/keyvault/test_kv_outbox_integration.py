"""Kafka unreachable for a while: the API call succeeds, the event waits in the outbox, then arrives."""

from __future__ import annotations

import secrets
import uuid

import httpx
import pytest
from byok_events import topics
from byok_testing.topics import TopicTail
from support.keyvault import bearer, running_service, settings_for

pytestmark = pytest.mark.integration


class Outage:
    """Wraps the real Kafka publisher; while `down`, every delivery fails like a dead broker would."""

    def __init__(self) -> None:
        self.inner = None
        self.down = True
        self.failures = 0

    async def publish(self, event) -> None:
        if self.down:
            self.failures += 1
            raise ConnectionError("simulated outage")
        await self.inner.publish(event)


async def test_events_survive_a_kafka_outage(stack_env, tmp_path, unique_id):
    tenant = f"t-{unique_id}"
    outage = Outage()
    settings = settings_for(stack_env, str(tmp_path), f"byok-keyvault-test-{uuid.uuid4().hex[:10]}")

    def mine(event: dict) -> bool:
        return event.get("tenant_id") == tenant

    async with TopicTail(stack_env["BYOK_KAFKA_BOOTSTRAP"], topics.KEY_EVENTS) as tail:
        async with running_service(settings, publisher=outage) as kv:
            outage.inner = kv.service.publisher
            async with httpx.AsyncClient(base_url=kv.url) as c:
                h = bearer("u1", tenant)
                for _ in range(2):
                    key = "sk-ant-api03-" + secrets.token_urlsafe(72)
                    r = await c.post("/api/user-api-keys", json={"keyType": "anthropic", "apiKey": key}, headers=h)
                    assert r.status_code in (200, 201)
                assert (await c.delete("/api/user-api-keys/anthropic", headers=h)).status_code == 204
                assert await tail.absent_for(1.5, mine) == []  # none while Kafka is "down"
                health = (await c.get("/healthz")).json()
                assert health["outbox_ready"] == 3 and outage.failures >= 3
                outage.down = False  # Kafka is back
                events = await tail.wait_for(mine, count=3, timeout=15)
                assert [(e["type"], e["version"]) for e in events] == [
                    ("key.stored", 1),
                    ("key.rotated", 2),
                    ("key.deleted", 2),
                ]
                assert (await c.get("/healthz")).json()["outbox_ready"] == 0


async def test_outbox_left_over_at_shutdown_is_sent_at_next_start(stack_env, tmp_path, unique_id):
    tenant = f"t-{unique_id}"
    outage = Outage()
    group = f"byok-keyvault-test-{uuid.uuid4().hex[:10]}"
    settings = settings_for(stack_env, str(tmp_path), group, keyvault_publish_timeout_seconds=0.5)
    async with TopicTail(stack_env["BYOK_KAFKA_BOOTSTRAP"], topics.KEY_EVENTS) as tail:
        async with running_service(settings, publisher=outage) as kv:
            async with httpx.AsyncClient(base_url=kv.url) as c:
                key = "sk-ant-api03-" + secrets.token_urlsafe(72)
                r = await c.post(
                    "/api/user-api-keys",
                    json={"keyType": "anthropic", "apiKey": key},
                    headers=bearer("u1", tenant),
                )
                assert r.status_code == 201
        # the service stopped with the event undelivered; a new instance on the same outbox sends it
        async with running_service(settings):
            events = await tail.wait_for(lambda v: v.get("tenant_id") == tenant, count=1, timeout=15)
        assert [(e["type"], e["version"]) for e in events] == [("key.stored", 1)]

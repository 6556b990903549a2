"""De-duplication by (tenant_id, request_id): another tenant's reuse of a request id is still answered."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from byok_events import PromptRequest, topics
from byok_inference.adapters.answered import AnsweredLru
from byok_inference.adapters.budgets import BudgetBlocks
from byok_inference.entrypoints.state_topics import state_topics
from byok_inference.handlers import handle_prompt, usage_event_id
from fakes.inference import make_harness


def prompt(tenant: str, rid: str = "shared-id") -> PromptRequest:
    return PromptRequest(
        request_id=rid, tenant_id=tenant, user_id="u1", model="gpt-4.1", messages=[{"role": "user", "content": "hi"}]
    )


async def test_another_tenants_request_with_the_same_id_is_answered() -> None:
    h = make_harness()
    h.keys.put("system", "*", None, "openai", "system-openai-key")
    assert await handle_prompt(prompt("tenant-a"), h.deps)
    assert await handle_prompt(prompt("tenant-b"), h.deps), "tenant B is not suppressed by tenant A's id"
    assert not await handle_prompt(prompt("tenant-a"), h.deps), "the same tenant's duplicate is still dropped"
    assert [(a.tenant_id, a.status) for a in h.publisher.finals()] == [
        ("tenant-a", "completed"),
        ("tenant-b", "completed"),
    ]
    assert len(h.providers.calls) == 2
    ids = [u.event_id for u in h.publisher.usages]
    assert ids == [usage_event_id("tenant-a", "shared-id"), usage_event_id("tenant-b", "shared-id")]
    assert len(set(ids)) == 2, "billing charges both: their usage event ids differ"


def test_usage_event_ids_cannot_collide_through_separators() -> None:
    assert usage_event_id("a:b", "c") != usage_event_id("a", "b:c")


@dataclass
class Record:
    value: bytes
    key: bytes
    headers: list[tuple[str, bytes]]


def test_the_follower_records_the_tenant_from_the_header_or_the_body() -> None:
    answered = AnsweredLru()
    followed = state_topics(answered=answered, budgets=BudgetBlocks(), evict=lambda *_: None, dedupe_window=60)
    [on_response] = [f.apply for f in followed if f.topic == topics.PROMPT_RESPONSES]
    body = json.dumps({"request_id": "r1", "tenant_id": "body-tenant", "status": "completed"}).encode()
    on_response(Record(body, b"r1", [("byok-status", b"completed"), ("byok-tenant", b"hdr-tenant")]))
    on_response(Record(body, b"r2", []))
    on_response(Record(body, b"r3", [("byok-status", b"delta"), ("byok-tenant", b"hdr-tenant")]))
    assert ("hdr-tenant", "r1") in answered and ("body-tenant", "r2") in answered
    assert ("hdr-tenant", "r3") not in answered and ("other", "r1") not in answered
    assert answered.claim("other", "r1") and not answered.claim("hdr-tenant", "r1")


class _CapturingProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]] | None]] = []

    async def send(self, topic, value, key=None, headers=None, partition=None):  # type: ignore[no-untyped-def]
        self.sent.append((topic, key, value, headers))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_the_workers_key_invalid_is_what_the_key_vault_service_accepts() -> None:
    """The worker's key.invalid (handler + Kafka publisher) passes the key-vault service's shape check."""
    from byok_core.kafka import KafkaPublisher
    from byok_events import KeyEvent
    from byok_inference.adapters.kafka_publisher import WorkerPublisher
    from byok_inference.domain.calls import FailureKind
    from byok_keyvault.domain.key_invalid import refusal

    h = make_harness()
    h.keys.put("user", "tenant-a", "u1", "openai", "user-openai-key")
    h.providers.fail("user-openai-key", FailureKind.AUTH)
    await handle_prompt(prompt("tenant-a"), h.deps)
    [event] = h.publisher.key_events
    producer = _CapturingProducer()
    await WorkerPublisher(KafkaPublisher(producer)).key_event(event)  # type: ignore[arg-type]
    [(topic, _, value, headers)] = producer.sent
    assert topic == topics.KEY_EVENTS
    assert refusal(KeyEvent.model_validate_json(value), headers) is None
    assert refusal(KeyEvent.model_validate_json(value), []) is not None


def test_answered_ids_are_bounded_and_the_oldest_is_forgotten_first() -> None:
    answered = AnsweredLru(max_entries=1_000)
    for i in range(1_500):
        answered.add("t", f"r{i}")
    answered.add("t", "r1499")  # already known: not counted twice
    assert len(answered) == 1_000
    assert ("t", "r499") not in answered and ("t", "r500") in answered and ("t", "r1499") in answered
    assert answered.claim("t", "r10") and not answered.claim("t", "r1200")
    answered.add("a\0b", "c")
    assert ("a", "b\0c") not in answered  # a name cannot be forged by moving a separator
    assert ("t", 1) not in answered and "t" not in answered


def test_hostile_names_are_stored_and_found_like_any_other() -> None:
    """Names come from producers: lone surrogates, control characters, a megabyte, empty strings."""
    answered = AnsweredLru(max_entries=1_000)
    hostile = [("t\ud800", "r"), ("t", "\x00\x1f\u2028\x7f"), ("t", "r" * 1_000_000), ("", ""), ("t", "\udfff" * 3)]
    for tenant, request_id in hostile:
        assert answered.claim(tenant, request_id)
        answered.finish(tenant, request_id, answered=True)
    assert all(name in answered for name in hostile) and len(answered) == len(hostile)
    assert not any(answered.claim(tenant, request_id) for tenant, request_id in hostile)
    assert ("t", "r" * 999_999) not in answered and ("t\ud801", "r") not in answered

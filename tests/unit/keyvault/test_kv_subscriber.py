"""The key.invalid subscriber, in memory (FastStream TestKafkaBroker)."""

from __future__ import annotations

from byok_core.kafka import make_broker
from byok_core.settings import KafkaSettings
from byok_events import DeadLetter, KeyEvent, Provider, topics
from byok_keyvault.domain.models import KeyRef, KeyStatus, Principal, Role, Scope
from byok_keyvault.entrypoints.kafka import register_key_event_subscriber
from byok_keyvault.handlers import store_key
from faststream.kafka import TestKafkaBroker
from kv_fakes import ANTHROPIC_KEY

ALICE = Principal("alice", "acme", Role.MEMBER)


async def test_key_invalid_is_recorded_and_garbage_goes_to_the_dlq(deps, store):
    await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    broker = make_broker(KafkaSettings())
    register_key_event_subscriber(broker, store, group_id="byok-keyvault-unit")
    letters: list[DeadLetter] = []

    @broker.subscriber(topics.DLQ, group_id="dlq-reader")
    async def on_dlq(body: dict) -> None:
        letters.append(DeadLetter.model_validate(body))

    async with TestKafkaBroker(broker) as test_broker:
        stored = KeyEvent(
            event_id="s1",
            type="key.stored",
            tenant_id="acme",
            user_id="alice",
            scope="user",
            provider="anthropic",
            version=1,
        )
        await test_broker.publish(stored.to_bytes(), topics.KEY_EVENTS, key=b"acme")
        ref = KeyRef("acme", Scope.USER, Provider.ANTHROPIC, "alice")
        assert (await store.get(ref)).status is KeyStatus.ACTIVE
        invalid = stored.model_copy(update={"event_id": "i1", "type": "key.invalid"})
        await test_broker.publish(invalid.to_bytes(), topics.KEY_EVENTS, key=b"acme")
        assert (await store.get(ref)).status is KeyStatus.INVALID
        await test_broker.publish(
            b'{"type": "key.invalid", "apiKey": "' + ANTHROPIC_KEY.encode() + b'"}',
            topics.KEY_EVENTS,
            key=b"acme",
        )
    assert len(letters) == 1 and letters[0].reason.startswith("invalid_request")
    assert ANTHROPIC_KEY not in letters[0].payload
